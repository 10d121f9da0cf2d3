package imageref

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const sha = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParse(t *testing.T) {
	ok := []struct {
		in   string
		want Reference
	}{
		{"us.icr.io/team/app:1", Reference{Registry: "us.icr.io", Repository: "team/app", Tag: "1"}},
		{"registry.example.com:5000/app@" + sha, Reference{Registry: "registry.example.com:5000", Repository: "app", Digest: sha}},
		{"localhost/app", Reference{Registry: "localhost", Repository: "app"}},
		{"Registry/app", Reference{Registry: "Registry", Repository: "app"}},
		{"[::1]:5000/app:v2", Reference{Registry: "[::1]:5000", Repository: "app", Tag: "v2"}},
		{"[::1]/app", Reference{Registry: "[::1]", Repository: "app"}},
		{"team/app:1", Reference{Repository: "team/app", Tag: "1"}},
		{"nginx", Reference{Repository: "nginx"}},
		{"nginx@" + sha, Reference{Repository: "nginx", Digest: sha}},
		{"index.docker.io/nginx", Reference{Registry: "index.docker.io", Repository: "nginx"}},
		{"us.icr.io/a/b:t@" + sha, Reference{Registry: "us.icr.io", Repository: "a/b", Tag: "t", Digest: sha}},
		{"us.icr.io/a__b.c-d/e---f", Reference{Registry: "us.icr.io", Repository: "a__b.c-d/e---f"}},
		// The grammar limits the repository path, not the host (v0.6.0).
		{"us.icr.io/" + strings.Repeat("a", 255), Reference{Registry: "us.icr.io", Repository: strings.Repeat("a", 255)}},
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
}

// Each refusal says which part is wrong.
func TestParseProblems(t *testing.T) {
	bad := map[string]string{
		"":                             "empty",
		"https://us.icr.io/a:1":        "scheme",
		"us.icr.io/a b:1":              "whitespace",
		"us.icr.io/a\x00":              "control",
		"u:pw@us.icr.io/team/app":      "credentials",
		"u:pw@us.icr.io:5000/team/app": "credentials",
		"iamapikey@us.icr.io":          "credentials",
		"us.icr.io/App:1":              `repository "App" must be lower case`,
		"Nginx":                        `repository "Nginx" must be lower case`,
		"us.icr.io/a:-bad":             `tag "-bad"`,
		"us.icr.io/a:":                 `tag ""`,
		"us.icr.io/a:" + strings.Repeat("t", 129):       "1-128",
		"us.icr.io/a@sha256:abc":                        "wrong length: sha256 needs 64",
		"us.icr.io/a@sha256:" + strings.Repeat("a", 40): "wrong length",
		"us.icr.io/a@md5:" + strings.Repeat("a", 32):    `digest algorithm "md5" is not supported`,
		"us.icr.io/a@nohex":                             "must be algorithm:hex",
		"us.icr.io/a@":                                  "must be algorithm:hex",
		"us.icr.io:0/a":                                 `registry port "0"`,
		"us.icr.io:99999/a":                             `registry port "99999"`,
		"us.icr.io:/a":                                  `registry host "us.icr.io:"`,
		"[zz]:5000/a":                                   `registry host "[zz]:5000"`,
		"-bad.example.com/a":                            `registry host "-bad.example.com"`,
		"us..icr.io/a":                                  `registry host "us..icr.io"`,
		"us.icr.io/":                                    "repository is empty",
		"us.icr.io/a//b":                                "empty path component",
		"us.icr.io/a/-b":                                `repository component "-b"`,
		"us.icr.io/" + strings.Repeat("a", 256):         "longer than 255",
		strings.Repeat("a", 64):                         "image ID",
	}
	for in, want := range bad {
		if _, problem := Parse(in); !strings.Contains(problem, want) {
			t.Errorf("Parse(%q) problem = %q, want it to mention %q", in, problem, want)
		}
	}
}

// A problem never quotes what looks like credentials.
func TestParseProblemsNeverEchoUserinfo(t *testing.T) {
	for _, in := range []string{
		"u:s3cret@us.icr.io/a",
		"u:s3cret@us.icr.io",
		"https://u:s3cret@us.icr.io/a",
		"u:s3cret@us.icr.io:5000/a:1@" + sha,
	} {
		_, problem := Parse(in)
		if problem == "" || strings.Contains(problem, "s3cret") {
			t.Errorf("Parse(%q) problem = %q, want a refusal without the password", in, problem)
		}
	}
}

func TestValidPathComponentAndTag(t *testing.T) {
	for s, want := range map[string]bool{"app": true, "my_app__x.y-z": true, "a/b": false, "App": false, "": false, "-a": false} {
		if got := ValidPathComponent(s); got != want {
			t.Errorf("ValidPathComponent(%q) = %v, want %v", s, got, want)
		}
	}
	for s, want := range map[string]bool{"1": true, "v1.2_3-rc": true, "-1": false, ".a": false, "": false, strings.Repeat("t", 129): false} {
		if got := ValidTag(s); got != want {
			t.Errorf("ValidTag(%q) = %v, want %v", s, got, want)
		}
	}
}
