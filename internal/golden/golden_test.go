package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps what the helpers report.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Errorf(f string, args ...any) { r.errs = append(r.errs, fmt.Sprintf(f, args...)) }
func (r *recorder) Fatalf(f string, args ...any) { r.Errorf(f, args...) }
func (r *recorder) Logf(string, ...any)          {}
func (r *recorder) Name() string                 { return "TestGenerated/sub" }
func withUpdate(t *testing.T, on bool) {
	t.Helper()
	old := *update
	*update = on
	t.Cleanup(func() { *update = old })
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.yaml")

	withUpdate(t, false)
	r := &recorder{TB: t}
	File(r, path, "kind: A\n")
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "a.yaml") || !strings.Contains(r.errs[0], "-run '^TestGenerated$' -update") {
		t.Errorf("missing file: %q", r.errs)
	}

	withUpdate(t, true)
	r = &recorder{TB: t}
	File(r, path, "kind: A\n")
	if len(r.errs) != 0 || read(t, path) != "kind: A\n" {
		t.Errorf("-update: errors %q, file %q", r.errs, read(t, path))
	}

	withUpdate(t, false)
	r = &recorder{TB: t}
	File(r, path, "kind: A\n")
	if len(r.errs) != 0 {
		t.Errorf("current file: %q", r.errs)
	}
	r = &recorder{TB: t}
	File(r, path, "kind: B\n")
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "is stale") || !strings.Contains(r.errs[0], "kind: B") || !strings.Contains(r.errs[0], "kind: A") {
		t.Errorf("stale file: %q", r.errs)
	}
	if read(t, path) != "kind: A\n" {
		t.Error("a compare wrote the file")
	}
}

func TestDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "manifests")
	want := map[string]string{"a.yaml": "a\n", "b.yaml": "b\n"}

	withUpdate(t, true)
	r := &recorder{TB: t}
	Dir(r, dir, want)
	if len(r.errs) != 0 || read(t, filepath.Join(dir, "a.yaml")) != "a\n" || read(t, filepath.Join(dir, "b.yaml")) != "b\n" {
		t.Fatalf("-update into a new directory: %q", r.errs)
	}

	if err := os.WriteFile(filepath.Join(dir, "stray.yaml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	withUpdate(t, false)
	r = &recorder{TB: t}
	Dir(r, dir, map[string]string{"a.yaml": "a\n", "b.yaml": "changed\n"})
	if len(r.errs) != 2 || !strings.Contains(strings.Join(r.errs, "\n"), "stray.yaml is not generated") || !strings.Contains(strings.Join(r.errs, "\n"), "b.yaml is stale") {
		t.Errorf("stray and stale files: %q", r.errs)
	}

	withUpdate(t, true)
	r = &recorder{TB: t}
	Dir(r, dir, want)
	if _, err := os.Stat(filepath.Join(dir, "stray.yaml")); !os.IsNotExist(err) || len(r.errs) != 0 {
		t.Errorf("-update kept a file that is not generated (%v) or failed: %q", err, r.errs)
	}
}

// The hint names this package as go test would be run from the module root.
func TestRewriteHint(t *testing.T) {
	if got, want := rewriteHint(&recorder{TB: t}), "go test ./internal/golden -run '^TestGenerated$' -update"; got != want {
		t.Errorf("rewriteHint = %q, want %q", got, want)
	}
}
