package dockerconfig

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLookup(t *testing.T) {
	c := mustParse(t, `{"auths":{
		"https://us.icr.io/v1/":{"auth":"dTpw"},
		"us.icr.io/team":{"auth":"dTpw"},
		"*.icr.io":{"auth":"dTpw"},
		"icr.io":{"auth":"dTpw"},
		"localhost:5000":{"auth":"dTpw"},
		"https://index.docker.io/v1/":{"auth":"dTpw"},
		"quay.io/org":{"auth":"dTpw"},
		"registry.example.com:8443/x":{"auth":"dTpw"}
	}}`)
	tests := []struct {
		image string
		want  []string
	}{
		{"us.icr.io/team/app:1.0", []string{"us.icr.io/team", "https://us.icr.io/v1/", "*.icr.io"}},
		{"us.icr.io/other/app@sha256:0123", []string{"https://us.icr.io/v1/", "*.icr.io"}},
		{"us.icr.io/other/app:v1@sha256:0123", []string{"https://us.icr.io/v1/", "*.icr.io"}},
		{"icr.io/ns/app", []string{"icr.io"}},
		{"de.icr.io/ns/app:tag", []string{"*.icr.io"}},
		{"a.us.icr.io/x", nil},
		{"localhost:5000/app:v1", []string{"localhost:5000"}},
		{"localhost/app", nil},
		{"nginx", []string{"https://index.docker.io/v1/"}},
		{"library/nginx:latest", []string{"https://index.docker.io/v1/"}},
		{"docker.io/bitnami/redis@sha256:0123", []string{"https://index.docker.io/v1/"}},
		{"index.docker.io/x/y", []string{"https://index.docker.io/v1/"}},
		{"quay.io/org/app", []string{"quay.io/org"}},
		{"quay.io/organisation/app", []string{"quay.io/org"}}, // string prefix, as in the kubelet
		{"quay.io/other/app", nil},
		{"registry.example.com:8443/x/y:tag", []string{"registry.example.com:8443/x"}},
		{"registry.example.com/x/y", nil},
		{"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			var got []string
			for _, m := range c.Lookup(tt.image) {
				got = append(got, m.Server)
				if !m.Entry.Equal(c.Auths[m.Server]) {
					t.Errorf("Match %q carries the wrong entry", m.Server)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Lookup(%q) servers (-want +got):\n%s", tt.image, diff)
			}
		})
	}
}

func TestLookupEquivalentKeysAndHubKeys(t *testing.T) {
	c := mustParse(t, `{"auths":{"us.icr.io":{"auth":"dTpw"},"https://us.icr.io/v1/":{"auth":"dTpwYQ"},
		"docker.io":{"auth":"dTpw"},"https://index.docker.io/v1/":{"auth":"dTpw"}}}`)
	tests := []struct {
		image string
		want  []string
	}{
		{"us.icr.io/a/b", []string{"https://us.icr.io/v1/", "us.icr.io"}},
		{"nginx", []string{"docker.io"}}, // a direct match wins; no fallback
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			var got []string
			for _, m := range c.Lookup(tt.image) {
				got = append(got, m.Server)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestNormalizeImage(t *testing.T) {
	tests := []struct {
		in, want string
		hub      bool
	}{
		{"nginx", "docker.io/library/nginx", true},
		{"nginx:1.25", "docker.io/library/nginx", true},
		{"bitnami/redis", "docker.io/bitnami/redis", true},
		{"docker.io/nginx", "docker.io/library/nginx", true},
		{"index.docker.io/nginx@sha256:00", "docker.io/library/nginx", true},
		{"localhost/app", "localhost/app", false},
		{"localhost:5000/app:tag", "localhost:5000/app", false},
		{"Host/app", "Host/app", false},
		{"us.icr.io/ns/app:1@sha256:00", "us.icr.io/ns/app", false},
	}
	for _, tt := range tests {
		got, hub, ok := normalizeImage(tt.in)
		if !ok || got != tt.want || hub != tt.hub {
			t.Errorf("normalizeImage(%q) = %q, %v, %v; want %q, %v", tt.in, got, hub, ok, tt.want, tt.hub)
		}
	}
}
