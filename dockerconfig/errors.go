package dockerconfig

import (
	"errors"
	"fmt"
	"strings"

	"github.com/registrykit/registrykit/internal/redact"
)

// Sentinel errors. Every error returned by this package wraps one of them,
// so callers can branch with errors.Is; the structured detail (which registry,
// which field) is available with errors.As on *ParseError.
var (
	// ErrNotJSON: the document is not valid JSON.
	ErrNotJSON = errors.New("not valid JSON")
	// ErrNotObject: the document, "auths", or an entry is not a JSON object.
	ErrNotObject = errors.New("not a JSON object")
	// ErrNotString: a modelled entry field (username, password, email, auth,
	// identitytoken, registrytoken) is neither a string nor null.
	ErrNotString = errors.New("not a JSON string")
	// ErrNoAuths: a .dockerconfigjson document has no "auths" object.
	ErrNoAuths = errors.New(`no "auths" object`)
	// ErrInvalidAuth: "auth" is not base64 of "user:password", or a username
	// contains ':' and so cannot be encoded into "auth".
	ErrInvalidAuth = errors.New("invalid auth (want base64 of user:password)")
	// ErrInvalidServer: a server key is empty, contains whitespace, has a
	// scheme other than http or https, or is not a URL with a host.
	ErrInvalidServer = errors.New("invalid server")
	// ErrTooLarge: a document is larger than MaxSize.
	ErrTooLarge = errors.New("document larger than 1 MiB")
	// ErrWrongFormat: ParseLegacy was given a .dockerconfigjson document.
	ErrWrongFormat = errors.New(`document has an "auths" key: it is .dockerconfigjson, not .dockercfg`)
	// ErrMissingKey: a secret lacks the data key its type requires, or it is empty.
	ErrMissingKey = errors.New("missing or empty secret data key")
	// ErrUnsupportedSecretType: ParseSecret was given a secret type that
	// does not hold registry credentials.
	ErrUnsupportedSecretType = errors.New("unsupported secret type")
	// ErrNotRepresentable: MarshalLegacy cannot write top-level keys other
	// than registries.
	ErrNotRepresentable = errors.New("cannot be represented in .dockercfg")
)

// ParseError describes one problem with a document or a Config. It names the
// registry (the server key as written) and the field, never a value: its
// Error text is safe to log.
type ParseError struct {
	// Registry is the server key as written in the document, with any
	// user information replaced by REDACTED ("https://REDACTED@host");
	// empty for problems with the document as a whole.
	Registry string
	// Field is the JSON key concerned ("auths", "auth", "username", ...);
	// empty when the problem is the registry or the document itself.
	Field string
	// Err is one of the package's sentinel errors, possibly wrapped with a
	// short reason.
	Err error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("dockerconfig: ")
	if e.Registry != "" || isEntryField(e.Field) {
		fmt.Fprintf(&b, "registry %q: ", redact.Userinfo(e.Registry))
	}
	if e.Field != "" {
		fmt.Fprintf(&b, "field %q: ", e.Field)
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("invalid")
	}
	return b.String()
}

// Unwrap returns the underlying sentinel error.
func (e *ParseError) Unwrap() error { return e.Err }

// SecretTypeError is returned by ParseSecret for a secret type that does not
// hold registry credentials. It matches ErrUnsupportedSecretType.
type SecretTypeError struct {
	Type string
}

func (e *SecretTypeError) Error() string {
	return fmt.Sprintf("dockerconfig: secret type %q: %v (want %q or %q)",
		e.Type, ErrUnsupportedSecretType, SecretTypeDockerConfigJSON, SecretTypeDockercfg)
}

// Unwrap returns ErrUnsupportedSecretType.
func (e *SecretTypeError) Unwrap() error { return ErrUnsupportedSecretType }

func isEntryField(f string) bool {
	for _, n := range fieldNames {
		if f == n {
			return true
		}
	}
	return false
}
