package imageref

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	const sha = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	ok := []struct {
		in   string
		want Reference
	}{
		{"us.icr.io/team/app:1", Reference{Registry: "us.icr.io", Repository: "team/app", Tag: "1"}},
		{"registry.example.com:5000/app@" + sha, Reference{Registry: "registry.example.com:5000", Repository: "app", Digest: sha}},
		{"localhost/app", Reference{Registry: "localhost", Repository: "app"}},
		{"Registry/app", Reference{Registry: "Registry", Repository: "app"}},
		{"[::1]:5000/app:v2", Reference{Registry: "[::1]:5000", Repository: "app", Tag: "v2"}},
		{"team/app:1", Reference{Repository: "team/app", Tag: "1"}},
		{"nginx", Reference{Repository: "nginx"}},
		{"us.icr.io/a/b:t@" + sha, Reference{Registry: "us.icr.io", Repository: "a/b", Tag: "t", Digest: sha}},
	}
	for _, tt := range ok {
		got, problem := Parse(tt.in)
		if problem != "" {
			t.Errorf("Parse(%q): %s", tt.in, problem)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
	bad := map[string]string{
		"":                       "empty",
		"https://us.icr.io/a:1":  "scheme",
		"us.icr.io/a b:1":        "whitespace",
		"us.icr.io/App:1":        "repository component",
		"us.icr.io/a:-bad":       "tag",
		"us.icr.io/a@sha256:abc": "digest",
		"us.icr.io/a@sha256:" + strings.Repeat("a", 40): "needs 64",
		"us.icr.io:0/a":                         "port",
		"us.icr.io:/a":                          "empty port",
		"[zz]:5000/a":                           "bracketed",
		"-bad.example.com/a":                    "host name",
		"us.icr.io/":                            "repository is empty",
		"us.icr.io/" + strings.Repeat("a", 260): "longer than",
	}
	for in, want := range bad {
		if _, problem := Parse(in); !strings.Contains(problem, want) {
			t.Errorf("Parse(%q) problem = %q, want it to mention %q", in, problem, want)
		}
	}
}
