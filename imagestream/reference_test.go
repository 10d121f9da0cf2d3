package imagestream

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/registrykit/registrykit"
)

const digest = "sha256:6b646fa6bf5e5e4c7fa41056c27910e679c03ebe7f93e361e6515a9da7e258cc"

func TestParseReference(t *testing.T) {
	tests := []struct {
		in   string
		want Reference
	}{
		{"us.icr.io/ns/app:1", Reference{Registry: "us.icr.io", Repository: "ns/app", Tag: "1"}},
		{"icr.io/ns/app", Reference{Registry: "icr.io", Repository: "ns/app", Tag: "latest"}},
		{"registry.example.com:5000/a/b/c:v1.2_3-rc", Reference{Registry: "registry.example.com:5000", Repository: "a/b/c", Tag: "v1.2_3-rc"}},
		{"localhost/app:dev", Reference{Registry: "localhost", Repository: "app", Tag: "dev"}},
		{"localhost:5000/app", Reference{Registry: "localhost:5000", Repository: "app", Tag: "latest"}},
		{"[::1]:5000/app:1", Reference{Registry: "[::1]:5000", Repository: "app", Tag: "1"}},
		{"de.icr.io/ns/my_app__x.y-z@" + digest, Reference{Registry: "de.icr.io", Repository: "ns/my_app__x.y-z", Digest: digest}},
		{"cp.icr.io/cp/app:1@" + digest, Reference{Registry: "cp.icr.io", Repository: "cp/app", Tag: "1", Digest: digest}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseReference(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if again, _ := ParseReference(got.String()); again != got {
				t.Errorf("String() %q does not round-trip: %+v", got.String(), again)
			}
		})
	}
}

func TestParseReferenceErrors(t *testing.T) {
	tests := []struct {
		in         string
		noRegistry bool
	}{
		{"ns/app:1", true},
		{"app:1", true},
		{"app", true},
		{"ns/app@" + digest, true},
		{"", false},
		{"https://us.icr.io/ns/app:1", false},
		{"us.icr.io/", false},
		{"us.icr.io/NS/app:1", false},
		{"us.icr.io/ns//app:1", false},
		{"us.icr.io/ns/app:", false},
		{"us.icr.io/ns/app:-bad", false},
		{"us.icr.io/ns/app:" + strings.Repeat("t", 129), false},
		{"us.icr.io/ns/app@sha256:abc", false},
		{"us.icr.io/ns/app@sha256:" + strings.Repeat("a", 63), false},
		{"us.icr.io/ns/app@md5", false},
		{"us.icr.io:/ns/app", false},
		{"us.icr.io:99999/ns/app", false},
		{"-us.icr.io/ns/app", false},
		{"us..icr.io/ns/app", false},
		{"[nope]:5000/app", false},
		{"us.icr.io/" + strings.Repeat("a", 256), false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseReference(tt.in)
			if !errors.Is(err, registrykit.ErrInvalid) {
				t.Fatalf("err = %v, want registrykit.ErrInvalid", err)
			}
			var re *ReferenceError
			if !errors.As(err, &re) || re.Reference != tt.in {
				t.Fatalf("err = %#v, want *ReferenceError for the input", err)
			}
			if got := errors.Is(err, ErrNoRegistryHost); got != tt.noRegistry {
				t.Errorf("errors.Is(ErrNoRegistryHost) = %v, want %v (%v)", got, tt.noRegistry, err)
			}
		})
	}
}

// The detail names the part that is wrong, and never echoes credentials.
func TestParseReferenceErrorDetail(t *testing.T) {
	for in, want := range map[string]string{
		"u:s3cret@us.icr.io/ns/app":   "must not contain credentials",
		"us.icr.io/ns/app@sha256:abc": "sha256 needs 64 hex digits",
		"us.icr.io/NS/app:1":          "must be lower case",
		"us.icr.io:99999/ns/app":      "1-65535",
		"ns/app:1":                    "a registry host is required",
	} {
		_, err := ParseReference(in)
		var re *ReferenceError
		if !errors.As(err, &re) || !strings.Contains(re.Detail, want) {
			t.Errorf("ParseReference(%q) = %v, want a detail mentioning %q", in, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ParseReference(%q) error echoes the password: %v", in, err)
		}
	}
}
