package dockerconfig

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/registrykit/registrykit/internal/redact"
)

// Entry is the credential for one registry, as found under a server key of
// "auths".
//
// Auth is derived: when Username or Password is set, Marshal writes
// "auth" as base64(Username + ":" + Password) whatever Auth holds, because
// containers/image and CRI-O read only "auth". Auth alone (no Username or
// Password) is written as given (re-padded).
//
// Entry also carries, unexported, the JSON keys it does not model (kept
// verbatim) and the bytes it was parsed from: an entry that is not changed
// after Parse is written back as it was read (compacted), so an "auth"-only
// entry stays "auth"-only. Change any field and the entry is re-encoded.
//
// Entry never prints secrets: String, GoString and Format show the username
// and which secret fields are set, never their values.
type Entry struct {
	Username      string
	Password      string
	Email         string
	Auth          string
	IdentityToken string
	RegistryToken string

	extra map[string]json.RawMessage // unknown keys; never mutated once set
	src   *entrySource               // the parsed bytes, for unchanged entries
}

// entrySource remembers the bytes an entry was parsed from and the field
// values decoded from them. It is immutable and may be shared.
type entrySource struct {
	raw  []byte
	snap [numFields]string
}

const (
	fUsername = iota
	fPassword
	fEmail
	fAuth
	fIdentityToken
	fRegistryToken
	numFields
)

// fieldNames are the JSON keys of the modelled fields, in the order Marshal
// writes them (kubectl's order for the first four).
var fieldNames = [numFields]string{"username", "password", "email", "auth", "identitytoken", "registrytoken"}

func fieldIndex(key []byte) int {
	for i, n := range fieldNames {
		if string(key) == n {
			return i
		}
	}
	return -1
}

func (e *Entry) fields() [numFields]string {
	return [numFields]string{e.Username, e.Password, e.Email, e.Auth, e.IdentityToken, e.RegistryToken}
}

// unchanged reports whether e can be written back from the bytes it was
// parsed from.
func (e *Entry) unchanged() bool {
	return e.src != nil && e.fields() == e.src.snap
}

// hasUserPass reports whether "auth" is computed from Username and Password.
func (e *Entry) hasUserPass() bool { return e.Username != "" || e.Password != "" }

// decodeAuth decodes base64 of "user:password", padded or not, into dst's
// storage and returns the user and password parts (aliasing dst).
func decodeAuth(dst, auth []byte) (user, pass, buf []byte, err error) {
	need := base64.RawStdEncoding.DecodedLen(len(auth)) + 3
	if cap(dst) < need {
		dst = make([]byte, need)
	}
	dst = dst[:cap(dst)]
	n, derr := base64.StdEncoding.Decode(dst, auth)
	if derr != nil {
		n, derr = base64.RawStdEncoding.Decode(dst, auth)
	}
	if derr != nil {
		return nil, nil, dst, fmt.Errorf("%w: not valid base64", ErrInvalidAuth)
	}
	dec := dst[:n]
	i := bytes.IndexByte(dec, ':')
	if i < 0 {
		return nil, nil, dst, fmt.Errorf("%w: no ':' between user and password", ErrInvalidAuth)
	}
	return dec[:i], dec[i+1:], dst, nil
}

var errUserColon = fmt.Errorf("%w: username contains ':'", ErrInvalidAuth)

// checkEntry validates an entry that Marshal would re-encode.
func (e *Entry) check(server string) []error {
	if e.unchanged() {
		return nil
	}
	var errs []error
	if e.hasUserPass() {
		if strings.IndexByte(e.Username, ':') >= 0 {
			errs = append(errs, &ParseError{Registry: redact.Userinfo(server), Field: "username", Err: errUserColon})
		}
	} else if e.Auth != "" {
		if _, _, _, err := decodeAuth(nil, []byte(e.Auth)); err != nil {
			errs = append(errs, &ParseError{Registry: redact.Userinfo(server), Field: "auth", Err: err})
		}
	}
	return errs
}

// effective returns the credential an entry stands for and the "auth" a
// re-encoded entry carries: from Username and Password when either is set,
// otherwise decoded from Auth.
func (e *Entry) effective() (user, pass, auth string) {
	if e.hasUserPass() {
		return e.Username, e.Password, authFor(e.Username, e.Password)
	}
	if e.Auth == "" {
		return "", "", ""
	}
	u, p, _, err := decodeAuth(nil, []byte(e.Auth))
	if err != nil {
		return "", "", e.Auth
	}
	return string(u), string(p), authFor(string(u), string(p))
}

func (e *Entry) effectiveAuth() string {
	_, _, a := e.effective()
	return a
}

// Equal reports whether e and o mean the same credential: the same
// effective username, password and "auth" (an Auth-only entry stands for
// the user and password it encodes; padding is normalised), equal Email,
// IdentityToken and RegistryToken, and semantically equal unknown keys. It
// ignores how the entry was spelled in its document.
func (e Entry) Equal(o Entry) bool {
	eu, ep, ea := e.effective()
	ou, op, oa := o.effective()
	return eu == ou && ep == op && ea == oa &&
		e.Email == o.Email &&
		e.IdentityToken == o.IdentityToken &&
		e.RegistryToken == o.RegistryToken &&
		rawMapsEqual(e.extra, o.extra)
}

// rawMapsEqual compares maps of JSON values by meaning, not spelling.
func rawMapsEqual(a, b map[string]json.RawMessage) bool {
	if len(a) != len(b) {
		return false
	}
	for k, av := range a {
		bv, ok := b[k]
		if !ok || !jsonEqual(av, bv) {
			return false
		}
	}
	return true
}

func jsonEqual(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	va, erra := decodeAny(a)
	vb, errb := decodeAny(b)
	if erra != nil || errb != nil {
		return false
	}
	return anyEqual(va, vb)
}

func decodeAny(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

func anyEqual(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, av := range a {
			bv, ok := b[k]
			if !ok || !anyEqual(av, bv) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !anyEqual(a[i], b[i]) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}
