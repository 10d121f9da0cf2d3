package redact

import "testing"

func TestUserinfo(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"us.icr.io", "us.icr.io"},
		{"u:pw@us.icr.io", "REDACTED@us.icr.io"},
		{"https://u:pw@us.icr.io/v2/", "https://REDACTED@us.icr.io/v2/"},
		{"u@p@host:5000/ns/img", "REDACTED@host:5000/ns/img"},
		{"us.icr.io/ns/img@sha256:abc", "us.icr.io/ns/img@sha256:abc"},
		{"img@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "img@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		{"img@sha256:abc", "REDACTED@sha256:abc"},
		{"", ""},
	} {
		if got := Userinfo(tc.in); got != tc.want {
			t.Errorf("Userinfo(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
