package testenv

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestKillChildKills: the child counts without end; KillChild hands its lines over and kills
// it when told (the watchdog is out of reach: a child left alive hangs the test).
func TestKillChildKills(t *testing.T) {
	if os.Getenv("TESTENV_KILL_CHILD") != "" {
		for i := 1; ; i++ {
			fmt.Println(i)
			time.Sleep(time.Millisecond)
		}
	}
	last := 0
	KillChild(t, Child{Env: []string{"TESTENV_KILL_CHILD=1"}, Stderr: os.Stderr, Limit: time.Hour}, func(line string) bool {
		n, err := strconv.Atoi(line)
		if err != nil {
			t.Errorf("child printed %q", line)
			return true
		}
		last = n
		return n >= 5
	})
	if last != 5 {
		t.Fatalf("last line seen %d, want 5", last)
	}
}
