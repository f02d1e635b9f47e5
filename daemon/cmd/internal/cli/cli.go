// Package cli is the small command-line framework the edgeid and edgeidctl binaries share:
// a table of subcommands selected by their words ("face compare"), flags that may come
// before, between or after arguments, and exit statuses: 0 on success, 1 for a negative
// outcome that is not an error (ExitStatus), 2 for an error or a usage mistake.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Env is what every subcommand gets besides its arguments.
type Env struct {
	Stdout io.Writer
	Stderr io.Writer
}

// Command is one leaf of the command tree.
type Command struct {
	Path    string // words that select it, space separated
	Summary string
	Run     func(ctx context.Context, e Env, args []string) error
}

// ExitStatus is returned by a subcommand whose outcome is negative but not an error.
type ExitStatus struct {
	Code int
	Msg  string
}

func (e *ExitStatus) Error() string { return e.Msg }

// usageError marks a mistake in the command line; Run prints it with a pointer to -h.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// Usagef reports a command-line mistake.
func Usagef(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

// App is a binary's command table.
type App struct {
	Name     string
	Commands []Command
}

// Run selects the command args name, runs it and returns the process exit status.
func (a App) Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := Env{Stdout: stdout, Stderr: stderr}
	cmd, rest := a.Lookup(args)
	if cmd == nil {
		// "face --help" or "face": the words name a group of commands; list the group.
		if n := a.groupLen(args); n > 0 {
			group := strings.Join(args[:n], " ")
			if len(args) == n {
				fmt.Fprintf(stderr, "%s %s: missing subcommand\n\n", a.Name, group)
				a.printGroup(stderr, group)
				return 2
			}
			if isHelp(args[n]) && len(args) == n+1 {
				a.printGroup(stdout, group)
				return 0
			}
		}
		if len(args) > 0 && args[0] != "help" && !isHelp(args[0]) {
			fmt.Fprintf(stderr, "%s: unknown command %q\n\n", a.Name, strings.Join(args, " "))
			a.PrintUsage(stderr)
			return 2
		}
		a.PrintUsage(stdout)
		return 0
	}
	err := cmd.Run(ctx, e, rest)
	var st *ExitStatus
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &st):
		if st.Msg != "" {
			fmt.Fprintln(stderr, st.Msg)
		}
		return st.Code
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s %s: %s (see %s %s -h)\n", a.Name, cmd.Path, ue.msg, a.Name, cmd.Path)
		return 2
	default:
		fmt.Fprintf(stderr, "%s %s: %v\n", a.Name, cmd.Path, err)
		return 2
	}
}

// Lookup finds the command with the longest path that prefixes args.
func (a App) Lookup(args []string) (*Command, []string) {
	var best *Command
	bestLen := 0
	for i := range a.Commands {
		words := strings.Fields(a.Commands[i].Path)
		if len(words) > len(args) || len(words) <= bestLen {
			continue
		}
		if strings.Join(args[:len(words)], " ") == a.Commands[i].Path {
			best, bestLen = &a.Commands[i], len(words)
		}
	}
	if best == nil {
		return nil, nil
	}
	return best, args[bestLen:]
}

func isHelp(s string) bool { return s == "-h" || s == "-help" || s == "--help" || s == "help" }

// groupLen returns how many leading words of args name a group: a path prefix that is
// shared by commands but is not a command itself. 0 when there is none.
func (a App) groupLen(args []string) int {
	best := 0
	for i := range a.Commands {
		words := strings.Fields(a.Commands[i].Path)
		for n := len(words) - 1; n > best; n-- {
			if n <= len(args) && strings.Join(words[:n], " ") == strings.Join(args[:n], " ") {
				best = n
				break
			}
		}
	}
	return best
}

// PrintUsage lists the commands, sorted.
func (a App) PrintUsage(w io.Writer) { a.printGroup(w, "") }

// printGroup lists the commands whose path starts with group ("" for all), sorted.
func (a App) printGroup(w io.Writer, group string) {
	cmds := append([]Command(nil), a.Commands...)
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Path < cmds[j].Path })
	name := a.Name
	if group != "" {
		name += " " + group
	}
	fmt.Fprintf(w, "usage: %s <command> [flags] [args]\n\ncommands:\n", name)
	for _, c := range cmds {
		if group == "" || strings.HasPrefix(c.Path, group+" ") {
			fmt.Fprintf(w, "  %-16s %s\n", c.Path, c.Summary)
		}
	}
}

// NewFlags makes a FlagSet that reports errors instead of exiting, with usage on e.Stderr.
func NewFlags(e Env, name, path, argsUsage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name+" "+path, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.Stderr, "usage: %s %s [flags] %s\n", name, path, argsUsage)
		fs.PrintDefaults()
	}
	return fs
}

// ParseInterspersed parses flags that may come before, between or after positional
// arguments, so that "edgeid face compare a.jpg b.jpg --json" works. Everything after "--"
// is positional.
func ParseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var tail []string
	for i, a := range args {
		if a == "--" {
			args, tail = args[:i], args[i+1:]
			break
		}
	}
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return append(pos, tail...), nil
}

// Multi is a repeatable string flag.
type Multi []string

func (m *Multi) String() string     { return strings.Join(*m, ",") }
func (m *Multi) Set(s string) error { *m = append(*m, s); return nil }
