package dockerconfig

import (
	"strings"
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
		{"localhost/app", []string{"https://index.docker.io/v1/"}}, // the kubelet's isDefaultRegistryMatch: no '.' or ':' in the host
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

// TestLookupAgreesWithKubeletOnDockerHub follows the kubelet of
// k8s.io/kubernetes v1.37.2 on Docker Hub names. Every row was checked by
// running the kubelet's own functions (parsers.ParseImageName, then
// credentialprovider.BasicDockerKeyring Add and Lookup) on the same keys and
// image. The path the kubelet takes:
//
//   - pkg/kubelet/images/image_manager.go:293,319: the image is first
//     turned into repoToPull by parsers.ParseImageName, and only that is
//     looked up;
//   - pkg/util/parsers/parsers.go:33-38: repoToPull is
//     reference.ParseNormalizedNamed(image).Name(); in
//     github.com/distribution/reference v0.6.0 normalize.go:126-170
//     (splitDockerDomain) "ubuntu" becomes "docker.io/library/ubuntu"
//     (l.136), "index.docker.io" becomes "docker.io" (l.143-145), a first
//     component is a host only with '.' or ':', as "localhost" or with
//     uppercase letters (l.140-155), and a Docker Hub name without '/' gets
//     "library/" (l.162-167); normalize.go:67-69 refuses a repository path
//     with uppercase letters, and the kubelet then looks up nothing;
//   - pkg/credentialprovider/keyring.go:143-167 (Add): keys lose the
//     http(s) scheme and a leading /v1/ or /v2/, so
//     "https://index.docker.io/v1/" is indexed as "index.docker.io";
//     l.174-181: keys are de-duplicated and sorted in reverse;
//   - keyring.go:294-307 (Lookup): every key that matches repoToPull, in
//     that order, with keyring.go:261-289 (URLsMatch): as many host labels,
//     each a glob, equal ports, path prefix; so "index.docker.io" never
//     matches "docker.io/..." (three labels against two) and
//     "registry-1.docker.io" is a registry of its own;
//   - keyring.go:309-314 with 192-214 (isDefaultRegistryMatch): only when
//     no key matched, the entries under "index.docker.io" are used, for
//     every repoToPull whose host has no '.' or ':' (Docker Hub, but also
//     "localhost/..." and uppercase hosts).
func TestLookupAgreesWithKubeletOnDockerHub(t *testing.T) {
	images := []string{
		"ubuntu", "library/ubuntu", "docker.io/ubuntu", "docker.io/library/ubuntu",
		"index.docker.io/library/ubuntu", "index.docker.io/ubuntu", "registry-1.docker.io/library/ubuntu",
		"bitnami/redis", "localhost/app", "localhost:5000/app", "Foo/app", "foo/app",
		"ubuntu:22.04", "docker.io/library/ubuntu@sha256:" + strings.Repeat("a", 64), "Ubuntu", "docker.io/Library/ubuntu",
	}
	tests := []struct {
		keys []string
		want map[string][]string // image → servers; absent means none
	}{
		{
			// The case of issue 13 item 4: index.docker.io/library/ubuntu is
			// docker.io/library/ubuntu by the time it is looked up, and the
			// "docker.io" key matches it directly.
			keys: []string{"docker.io", "index.docker.io"},
			want: map[string][]string{
				"ubuntu": {"docker.io"}, "library/ubuntu": {"docker.io"}, "docker.io/ubuntu": {"docker.io"},
				"docker.io/library/ubuntu": {"docker.io"}, "index.docker.io/library/ubuntu": {"docker.io"},
				"index.docker.io/ubuntu": {"docker.io"}, "bitnami/redis": {"docker.io"},
				"localhost/app": {"index.docker.io"}, "Foo/app": {"index.docker.io"}, "foo/app": {"docker.io"},
				"ubuntu:22.04": {"docker.io"}, "docker.io/library/ubuntu@sha256:" + strings.Repeat("a", 64): {"docker.io"},
			},
		},
		{
			keys: []string{"docker.io", "https://index.docker.io/v1/"},
			want: map[string][]string{
				"ubuntu": {"docker.io"}, "library/ubuntu": {"docker.io"}, "docker.io/ubuntu": {"docker.io"},
				"docker.io/library/ubuntu": {"docker.io"}, "index.docker.io/library/ubuntu": {"docker.io"},
				"index.docker.io/ubuntu": {"docker.io"}, "bitnami/redis": {"docker.io"},
				"localhost/app": {"https://index.docker.io/v1/"}, "Foo/app": {"https://index.docker.io/v1/"}, "foo/app": {"docker.io"},
				"ubuntu:22.04": {"docker.io"}, "docker.io/library/ubuntu@sha256:" + strings.Repeat("a", 64): {"docker.io"},
			},
		},
		{
			keys: []string{"https://index.docker.io/v1/"},
			want: map[string][]string{
				"ubuntu": {"https://index.docker.io/v1/"}, "library/ubuntu": {"https://index.docker.io/v1/"},
				"docker.io/ubuntu": {"https://index.docker.io/v1/"}, "docker.io/library/ubuntu": {"https://index.docker.io/v1/"},
				"index.docker.io/library/ubuntu": {"https://index.docker.io/v1/"}, "index.docker.io/ubuntu": {"https://index.docker.io/v1/"},
				"bitnami/redis": {"https://index.docker.io/v1/"}, "localhost/app": {"https://index.docker.io/v1/"},
				"Foo/app": {"https://index.docker.io/v1/"}, "foo/app": {"https://index.docker.io/v1/"},
				"ubuntu:22.04": {"https://index.docker.io/v1/"}, "docker.io/library/ubuntu@sha256:" + strings.Repeat("a", 64): {"https://index.docker.io/v1/"},
			},
		},
		{
			keys: []string{"docker.io"},
			want: map[string][]string{
				"ubuntu": {"docker.io"}, "library/ubuntu": {"docker.io"}, "docker.io/ubuntu": {"docker.io"},
				"docker.io/library/ubuntu": {"docker.io"}, "index.docker.io/library/ubuntu": {"docker.io"},
				"index.docker.io/ubuntu": {"docker.io"}, "bitnami/redis": {"docker.io"}, "foo/app": {"docker.io"},
				"ubuntu:22.04": {"docker.io"}, "docker.io/library/ubuntu@sha256:" + strings.Repeat("a", 64): {"docker.io"},
			},
		},
		{
			keys: []string{"registry-1.docker.io"},
			want: map[string][]string{"registry-1.docker.io/library/ubuntu": {"registry-1.docker.io"}},
		},
		{
			keys: []string{"*.docker.io"},
			want: map[string][]string{"registry-1.docker.io/library/ubuntu": {"*.docker.io"}},
		},
		{
			keys: []string{"docker.io/library", "docker.io"},
			want: map[string][]string{
				"ubuntu": {"docker.io/library", "docker.io"}, "library/ubuntu": {"docker.io/library", "docker.io"},
				"docker.io/ubuntu": {"docker.io/library", "docker.io"}, "docker.io/library/ubuntu": {"docker.io/library", "docker.io"},
				"index.docker.io/library/ubuntu": {"docker.io/library", "docker.io"}, "index.docker.io/ubuntu": {"docker.io/library", "docker.io"},
				"bitnami/redis": {"docker.io"}, "foo/app": {"docker.io"},
				"ubuntu:22.04": {"docker.io/library", "docker.io"}, "docker.io/library/ubuntu@sha256:" + strings.Repeat("a", 64): {"docker.io/library", "docker.io"},
			},
		},
		{
			keys: []string{"index.docker.io/library"}, // never matches: three labels against docker.io's two
			want: map[string][]string{},
		},
	}
	for _, tt := range tests {
		var c Config
		for _, k := range tt.keys {
			c.Set(k, Entry{Username: "u", Password: "p"})
		}
		for _, image := range images {
			t.Run(strings.Join(tt.keys, ",")+" "+image, func(t *testing.T) {
				var got []string
				for _, m := range c.Lookup(image) {
					got = append(got, m.Server)
				}
				if diff := cmp.Diff(tt.want[image], got); diff != "" {
					t.Errorf("Lookup(%q) with keys %q (-kubelet +got):\n%s", image, tt.keys, diff)
				}
			})
		}
	}
}
