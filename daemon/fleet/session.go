package fleet

import (
	"fmt"
	"log/slog"
	"sync"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// sessionStore is paho's file store behind a guard. paho's FileStore panics on any file error,
// from paho's own goroutines, so a full state disk ("write .../o.5.tmp: no space left on
// device") would end the daemon. Here the first failure moves the session to memory for the
// rest of the run: paho's copy of an in-flight message is only a convenience, since the audit
// outbox in the store is what re-sends unacknowledged records after a restart.
type sessionStore struct {
	file mqtt.Store
	log  *slog.Logger

	mu     sync.Mutex
	mem    mqtt.Store // set once the file store failed
	failed string
}

var _ mqtt.Store = (*sessionStore)(nil)

func (s *sessionStore) fault() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

// use runs op on the file store, or on memory after a failure; a panic of the file store
// switches to memory and runs op there.
func (s *sessionStore) use(name string, op func(mqtt.Store)) {
	s.mu.Lock()
	st := s.mem
	s.mu.Unlock()
	if st != nil {
		op(st)
		return
	}
	if err := s.try(op); err != nil {
		s.mu.Lock()
		if s.mem == nil {
			s.failed = fmt.Sprintf("session store %s: %v", name, err)
			s.mem = mqtt.NewMemoryStore()
			s.mem.Open()
			s.log.Error("fleet: the MQTT session file store failed; keeping the session in memory (the audit outbox still re-sends)", "op", name, "err", err)
		}
		st = s.mem
		s.mu.Unlock()
		op(st)
	}
}

func (s *sessionStore) try(op func(mqtt.Store)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	op(s.file)
	return nil
}

func (s *sessionStore) Open() { s.use("open", func(st mqtt.Store) { st.Open() }) }

func (s *sessionStore) Put(key string, m packets.ControlPacket) {
	s.use("put", func(st mqtt.Store) { st.Put(key, m) })
}

func (s *sessionStore) Get(key string) (p packets.ControlPacket) {
	s.use("get", func(st mqtt.Store) { p = st.Get(key) })
	return p
}

func (s *sessionStore) All() (keys []string) {
	s.use("list", func(st mqtt.Store) { keys = st.All() })
	return keys
}

func (s *sessionStore) Del(key string) { s.use("delete", func(st mqtt.Store) { st.Del(key) }) }

func (s *sessionStore) Close() { s.use("close", func(st mqtt.Store) { st.Close() }) }

func (s *sessionStore) Reset() { s.use("reset", func(st mqtt.Store) { st.Reset() }) }
