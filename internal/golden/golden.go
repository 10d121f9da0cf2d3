// Package golden keeps generated files that are checked in (RBAC
// manifests, the RBAC table in docs/rbac.md) equal to what the code
// generates: a test builds the content and calls File or Dir, which compare
// it with the files and report a stale one with a diff and the command that
// rewrites it. Run with -update, they write the content instead.
//
// It registers the -update flag, so only tests import it, and a test
// package that imports it must not define a flag of that name itself.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the checked-in generated files instead of comparing them")

// Update reports whether the test binary runs with -update.
func Update() bool { return *update }

// File fails t unless the file at path holds exactly want. With -update it
// writes want there instead (mode 0644) when it differs.
func File(t testing.TB, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	switch {
	case err == nil && string(got) == want:
	case *update:
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatalf("%s: %v", path, err)
			return
		}
		t.Logf("%s rewritten", path)
	case err != nil:
		t.Errorf("%s: %v; write it with %s", path, err, rewriteHint(t))
	default:
		t.Errorf("%s is stale; rewrite it with %s (-want +got):\n%s", path, rewriteHint(t), cmp.Diff(want, string(got)))
	}
}

// Dir fails t unless the directory dir holds exactly the files of want (by
// name) with their content, and no other file. With -update it creates dir,
// writes the files that differ and removes the others.
func Dir(t testing.TB, dir string, want map[string]string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatalf("%s: %v", dir, err)
			return
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if _, ok := want[e.Name()]; ok {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if !*update {
			t.Errorf("%s is not generated; remove it with %s", path, rewriteHint(t))
			continue
		}
		if err := os.Remove(path); err != nil {
			t.Fatalf("%s: %v", path, err)
			return
		}
		t.Logf("%s removed", path)
	}
	for name, content := range want {
		File(t, filepath.Join(dir, name), content)
	}
}

// rewriteHint is the command, run from the module root, that rewrites the
// files of t's top-level test.
func rewriteHint(t testing.TB) string {
	test, _, _ := strings.Cut(t.Name(), "/")
	pkg := "."
	if wd, err := os.Getwd(); err == nil {
		for root := wd; ; root = filepath.Dir(root) {
			if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
				if rel, err := filepath.Rel(root, wd); err == nil && rel != "." {
					pkg = "./" + filepath.ToSlash(rel)
				}
				break
			}
			if filepath.Dir(root) == root {
				break
			}
		}
	}
	return "go test " + pkg + " -run '^" + test + "$' -update"
}
