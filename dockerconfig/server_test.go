package dockerconfig

import (
	"errors"
	"testing"
)

func TestNormalizeServer(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "us.icr.io", want: "us.icr.io"},
		{in: "https://us.icr.io", want: "us.icr.io"},
		{in: "https://us.icr.io/", want: "us.icr.io"},
		{in: "https://us.icr.io/v1/", want: "us.icr.io"},
		{in: "http://us.icr.io/v2/", want: "us.icr.io"},
		{in: "https://index.docker.io/v1/", want: "index.docker.io"},
		{in: "us.icr.io/v1", want: "us.icr.io/v1"}, // no trailing slash: a path, as in the kubelet
		{in: "us.icr.io/v2/team", want: "us.icr.io/team"},
		{in: "quay.io/org/repo/", want: "quay.io/org/repo/"},
		{in: "localhost:5000", want: "localhost:5000"},
		{in: "https://172.30.1.1:5000/v2/", want: "172.30.1.1:5000"},
		{in: "[::1]:5000", want: "[::1]:5000"},
		{in: "*.icr.io", want: "*.icr.io"},
		{in: "US.ICR.IO", want: "US.ICR.IO"},
		{in: "", wantErr: true},
		{in: " us.icr.io", wantErr: true},
		{in: "us.icr.io\n", wantErr: true},
		{in: "us icr.io", wantErr: true},
		{in: "ftp://us.icr.io", wantErr: true},
		{in: "HTTPS://us.icr.io", wantErr: true},
		{in: "docker://us.icr.io", wantErr: true},
		{in: "https://", wantErr: true},
		{in: "/path", wantErr: true},
		{in: "u:p@us.icr.io", wantErr: true},
		{in: "us.icr.io:port", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := NormalizeServer(tt.in)
			if tt.wantErr {
				var pe *ParseError
				if !errors.Is(err, ErrInvalidServer) || !errors.As(err, &pe) {
					t.Fatalf("NormalizeServer(%q) = %q, %v; want ErrInvalidServer", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("NormalizeServer(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestErrorsHideUserInfo(t *testing.T) {
	for in, want := range map[string]string{
		"https://u:" + secret + "@r.io/v1/": "https://REDACTED@r.io/v1/",
		"u:" + secret + "@r.io":             "REDACTED@r.io",
	} {
		_, err := NormalizeServer(in)
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Registry != want {
			t.Errorf("NormalizeServer(%q) error names registry %q, want %q", in, pe.Registry, want)
		}
	}
	// An '@' in the path is no user information: the key is echoed as is.
	_, err := Parse([]byte(`{"auths":{"r.io/a@b":{"auth":"!"}}}`))
	if !hasParseError(err, "r.io/a@b", "auth", ErrInvalidAuth) {
		t.Errorf("Parse error %v does not name r.io/a@b", err)
	}
}

// FuzzNormalizeServer checks that the allocation-free fast path agrees
// with the URL-parsing slow path.
func FuzzNormalizeServer(f *testing.F) {
	for _, s := range []string{"us.icr.io", "https://us.icr.io/v1/", "http://a:1/v2/", "a:/", "a:1x", "-", "a..b/", "https://x/v3/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fast, ok := normalizeFast(s)
		if !ok {
			return
		}
		slow, err := normalizeSlow(s)
		if err != nil || slow != fast {
			t.Fatalf("fast %q, slow %q, %v", fast, slow, err)
		}
	})
}
