package exampleenv

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// RunFunc is an example program's body: its arguments, environment lookup
// and output streams are parameters, so tests run it in process.
type RunFunc func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error

// Main runs run with the process's arguments, environment and streams, in a
// context cancelled by Ctrl-C (SIGINT) or SIGTERM, and exits 1 with
// "<name>: <error>" on failure. -h and --help (flag.ErrHelp: the flag set
// has printed the usage) exit 0, as other command-line programs do. It is
// the whole main function of every example.
func Main(name string, run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if code := exitCode(name, err, os.Stderr); code != 0 {
		os.Exit(code)
	}
}

// exitCode returns the exit status for run's error, printing the error to
// stderr when it is a failure.
func exitCode(name string, err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	default:
		fmt.Fprintln(stderr, name+":", err)
		return 1
	}
}

// NewFlagSet returns the flag set of the example name, reporting to stderr
// and continuing on error (run returns the error), with the common flags
// registered.
func NewFlagSet(name string, stderr io.Writer) (*flag.FlagSet, *Flags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs, Register(fs)
}

// Parse parses args with fs and refuses positional arguments: every example
// takes flags only, and a stray word is more likely a mistyped flag than
// something to ignore.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return nil
}
