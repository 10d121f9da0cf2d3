package exampleenv

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMainExitCodes runs Main in a child process (it exits) the way every
// example does: -h and --help print the usage and exit 0, like other
// command-line programs; a bad flag or a failure exits 1.
func TestMainExitCodes(t *testing.T) {
	if args := os.Getenv("EXAMPLEENV_MAIN_ARGS"); args != "" {
		os.Args = append([]string{"demo"}, strings.Fields(args)...)
		Main("demo", func(ctx context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) error {
			fs, _ := NewFlagSet("demo", stderr)
			fs.Bool("x", false, "a flag of the example")
			if err := Parse(fs, args); err != nil {
				return err
			}
			if fs.Lookup("x").Value.String() == "true" {
				return errors.New("it failed")
			}
			return nil
		})
		return
	}
	for _, tc := range []struct {
		args     string
		code     int
		stderr   string // what stderr must hold
		notInErr string // what it must not
	}{
		{"-h", 0, "Usage of demo", "help requested"},
		{"--help", 0, "-x", "help requested"},
		{"-help", 0, "Usage of demo", "help requested"},
		{"-v", 0, "", "demo:"},
		{"--nope", 1, "flag provided but not defined", ""},
		{"-x", 1, "demo: it failed", ""},
	} {
		t.Run(tc.args, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestMainExitCodes$")
			cmd.Env = append(os.Environ(), "EXAMPLEENV_MAIN_ARGS="+tc.args)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr.String())
			}
			if tc.notInErr != "" && strings.Contains(stderr.String(), tc.notInErr) {
				t.Errorf("stderr holds %q:\n%s", tc.notInErr, stderr.String())
			}
		})
	}
}
