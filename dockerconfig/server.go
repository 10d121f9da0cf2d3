package dockerconfig

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"

	"github.com/registrykit/registrykit/internal/redact"
)

// NormalizeServer returns the registry a server key denotes, computed the
// way the kubelet indexes credentials (pkg/credentialprovider): the
// "http://" or "https://" scheme is dropped, a leading "/v1/" or "/v2/" path
// segment is dropped, and a remaining path of "" or "/" leaves only the host
// (with its port, if any). So "https://us.icr.io/v1/", "us.icr.io/v2/" and
// "us.icr.io" all normalise to "us.icr.io", while "us.icr.io/team" stays a
// path-scoped key. Hosts are not lowercased and default ports are not
// dropped, because the kubelet does neither.
//
// The error is a *ParseError wrapping ErrInvalidServer when s is empty,
// contains whitespace, has a scheme other than http or https, contains user
// information, or does not parse as a URL with a host.
func NormalizeServer(s string) (string, error) {
	if n, ok := normalizeFast(s); ok {
		return n, nil
	}
	return normalizeSlow(s)
}

// normalizeBytes is NormalizeServer for a decoded key, without allocation on
// the fast path.
func normalizeBytes(b []byte) ([]byte, error) {
	if n, ok := normalizeFast(b); ok {
		return n, nil
	}
	n, err := normalizeSlow(string(b))
	if err != nil {
		return nil, err
	}
	return []byte(n), nil
}

func isHostByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-'
}

func hasPrefix[S ~string | ~[]byte](s S, p string) bool {
	return len(s) >= len(p) && string(s[:len(p)]) == p
}

// normalizeFast handles the common shapes ("host", "host:port", with an
// optional http(s) scheme and an optional "/", "/v1/" or "/v2/" path) by
// slicing, without allocation. Anything else is left to normalizeSlow, which
// gives the same answer for these shapes (tested).
func normalizeFast[S ~string | ~[]byte](s S) (S, bool) {
	rest := s
	switch {
	case hasPrefix(rest, "https://"):
		rest = rest[len("https://"):]
	case hasPrefix(rest, "http://"):
		rest = rest[len("http://"):]
	}
	i := 0
	for i < len(rest) && isHostByte(rest[i]) {
		i++
	}
	if i == 0 {
		return s, false
	}
	if i < len(rest) && rest[i] == ':' {
		j := i + 1
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if j == i+1 {
			return s, false
		}
		i = j
	}
	switch string(rest[i:]) {
	case "", "/", "/v1/", "/v2/":
		return rest[:i], true
	}
	return s, false
}

func invalidServer(s, reason string) error {
	return &ParseError{Registry: redact.Userinfo(s), Err: fmt.Errorf("%w: %s", ErrInvalidServer, reason)}
}

func normalizeSlow(s string) (string, error) {
	if s == "" {
		return "", invalidServer(s, "empty server key")
	}
	if strings.IndexFunc(s, unicode.IsSpace) >= 0 {
		return "", invalidServer(s, "contains whitespace")
	}
	rest := s
	if i := strings.Index(s, "://"); i >= 0 {
		if scheme := s[:i]; scheme != "https" && scheme != "http" {
			return "", invalidServer(s, "scheme must be http or https")
		}
		rest = s[i+3:]
	}
	u, err := url.Parse("https://" + rest)
	if err != nil {
		return "", invalidServer(s, "not a URL")
	}
	if u.User != nil {
		return "", invalidServer(s, "contains user information")
	}
	if u.Host == "" {
		return "", invalidServer(s, "no host")
	}
	p := u.Path
	if strings.HasPrefix(p, "/v2/") || strings.HasPrefix(p, "/v1/") {
		p = p[3:]
	}
	if p == "" || p == "/" {
		return u.Host, nil
	}
	return u.Host + p, nil
}

// sameRegistry reports whether two server keys denote the same registry:
// equal keys, or keys whose normalised forms are equal.
func sameRegistry(a, b string) bool {
	if a == b {
		return true
	}
	na, err := NormalizeServer(a)
	if err != nil {
		return false
	}
	nb, err := NormalizeServer(b)
	return err == nil && na == nb
}
