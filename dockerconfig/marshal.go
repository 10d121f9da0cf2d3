package dockerconfig

import (
	"encoding/base64"
	"errors"
	"sort"
	"unicode/utf8"
)

// Marshal returns the .dockerconfigjson document: compact, top-level keys
// and server keys sorted, strings escaped as encoding/json does (including
// its HTML escaping). For a Config built with Set(server, Entry{Username,
// Password, Email}) the bytes are identical to what `kubectl create secret
// docker-registry` stores. Entries unchanged since Parse are written as
// they were read (compacted). Marshal calls Validate first and fails with
// ErrTooLarge if the result would exceed MaxSize.
func (c *Config) Marshal() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	out := c.appendDoc(make([]byte, 0, c.sizeHint()), false)
	if len(out) > MaxSize {
		return nil, &ParseError{Err: ErrTooLarge}
	}
	return out, nil
}

// MarshalLegacy returns the .dockercfg document: the bare server → entry
// object. It fails with ErrNotRepresentable if the Config holds unknown
// top-level keys, which that format cannot carry.
func (c *Config) MarshalLegacy() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c != nil && len(c.extra) > 0 {
		errs := make([]error, 0, len(c.extra))
		for _, k := range sortedKeys(c.extra) {
			errs = append(errs, &ParseError{Field: k, Err: ErrNotRepresentable})
		}
		return nil, errors.Join(errs...)
	}
	out := c.appendDoc(make([]byte, 0, c.sizeHint()), true)
	if len(out) > MaxSize {
		return nil, &ParseError{Err: ErrTooLarge}
	}
	return out, nil
}

// Validate reports every problem that would make Marshal fail, joined with
// errors.Join, each a *ParseError naming the server key and field: invalid
// server keys, a username containing ':', an "auth" (without username and
// password) that is not base64 of "user:password". A nil or zero Config is
// valid.
func (c *Config) Validate() error {
	if c == nil {
		return nil
	}
	var errs []error
	for _, k := range c.Servers() {
		if _, err := NormalizeServer(k); err != nil {
			errs = append(errs, err)
		}
		e := c.Auths[k]
		errs = append(errs, e.check(k)...)
	}
	return errors.Join(errs...)
}

func (c *Config) sizeHint() int {
	if c == nil {
		return 16
	}
	n := 16
	for k, e := range c.Auths {
		n += len(k) + 8
		if e.src != nil {
			n += len(e.src.raw)
		} else {
			n += 2*(len(e.Username)+len(e.Password)) + len(e.Email) + len(e.Auth) + len(e.IdentityToken) + len(e.RegistryToken) + 64
		}
	}
	for k, v := range c.extra {
		n += len(k) + len(v) + 4
	}
	return n
}

func (c *Config) appendDoc(dst []byte, legacy bool) []byte {
	var auths map[string]Entry
	var extra map[string][]byte
	if c != nil {
		auths = c.Auths
		if len(c.extra) > 0 {
			extra = make(map[string][]byte, len(c.extra))
			for k, v := range c.extra {
				extra[k] = v
			}
		}
	}
	servers := sortedKeys(auths)
	writeAuths := func(dst []byte) []byte {
		dst = append(dst, '{')
		for i, k := range servers {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k)
			dst = append(dst, ':')
			e := auths[k]
			dst = e.appendJSON(dst)
		}
		return append(dst, '}')
	}
	if legacy {
		return writeAuths(dst)
	}
	return appendTop(dst, sortedKeys(extra), func(k string) []byte { return extra[k] }, writeAuths)
}

// appendTop writes the top-level object: the unknown keys and "auths",
// sorted.
func appendTop(dst []byte, keys []string, val func(string) []byte, writeAuths func([]byte) []byte) []byte {
	dst = append(dst, '{')
	done := false
	n := 0
	for _, k := range keys {
		if !done && k > "auths" {
			if n > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `"auths":`...)
			dst = writeAuths(dst)
			done, n = true, n+1
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, k)
		dst = append(dst, ':')
		dst = appendCompact(dst, val(k))
		n++
	}
	if !done {
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `"auths":`...)
		dst = writeAuths(dst)
	}
	return append(dst, '}')
}

// appendJSON writes the entry: its parsed bytes if unchanged, otherwise the
// modelled fields in kubectl's order (username, password, email, auth, then
// identitytoken, registrytoken; empty ones omitted) followed by the unknown
// keys, sorted.
func (e *Entry) appendJSON(dst []byte) []byte {
	if e.unchanged() {
		return appendCompact(dst, e.src.raw)
	}
	dst = append(dst, '{')
	n := 0
	field := func(name, v string) {
		if v == "" {
			return
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, name...)
		dst = append(dst, '"', ':')
		dst = appendString(dst, v)
		n++
	}
	field("username", e.Username)
	field("password", e.Password)
	field("email", e.Email)
	if auth := e.effectiveAuth(); auth != "" {
		field("auth", auth)
	}
	field("identitytoken", e.IdentityToken)
	field("registrytoken", e.RegistryToken)
	for _, k := range sortedKeys(e.extra) {
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, k)
		dst = append(dst, ':')
		dst = appendCompact(dst, e.extra[k])
		n++
	}
	return append(dst, '}')
}

// authFor is the base64 "auth" value for user and password.
func authFor(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

const hexDigits = "0123456789abcdef"

// htmlSafe[c] is true for ASCII bytes encoding/json writes unescaped with
// HTML escaping on.
var htmlSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		switch c {
		case '"', '\\', '<', '>', '&':
		default:
			t[c] = true
		}
	}
	return t
}()

// appendString writes s as a JSON string exactly as encoding/json.Marshal
// does (HTML escaping on, invalid UTF-8 as \ufffd, U+2028/U+2029 escaped).
func appendString[S ~string | ~[]byte](dst []byte, s S) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if htmlSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		n := min(len(s)-i, utf8.UTFMax)
		r, size := utf8.DecodeRuneInString(string(s[i : i+n]))
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// strSafe[c] is true for bytes copied as is inside a string by appendCompact.
var strSafe = func() (t [256]bool) {
	for c := 0; c < utf8.RuneSelf; c++ {
		switch c {
		case '"', '\\', '<', '>', '&':
		default:
			t[c] = true
		}
	}
	return t
}()

// appendCompact writes valid JSON src without insignificant whitespace and
// with the same escaping as appendString applied inside strings (<, >, &,
// U+2028, U+2029, invalid UTF-8); existing escapes are kept as written.
func appendCompact(dst, src []byte) []byte {
	start := 0
	i := 0
	for i < len(src) {
		c := src[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			dst = append(dst, src[start:i]...)
			i++
			start = i
			continue
		case '"':
		default:
			i++
			continue
		}
		// Inside a string.
		i++
		for i < len(src) {
			c = src[i]
			if strSafe[c] {
				i++
				continue
			}
			if c == '"' {
				i++
				break
			}
			if c == '\\' {
				i += 2
				continue
			}
			if c < utf8.RuneSelf { // < > &
				dst = append(dst, src[start:i]...)
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
				i++
				start = i
				continue
			}
			r, size := utf8.DecodeRune(src[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				dst = append(dst, src[start:i]...)
				dst = append(dst, `\ufffd`...)
				start = i + 1
			case r == '\u2028' || r == '\u2029':
				dst = append(dst, src[start:i]...)
				dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
				start = i + size
			}
			i += size
		}
	}
	return append(dst, src[start:]...)
}
