package iam

import (
	"fmt"
	"log/slog"
)

// redacted is what every printing path of a Secret produces.
const redacted = "[REDACTED]"

// Secret holds a credential: an API key value. It cannot be printed by
// accident: String, GoString, Format (every fmt verb, including %#v and
// %x), MarshalJSON, MarshalText and slog's LogValue all produce
// "[REDACTED]". Reveal is the one way to read the value.
//
// The zero Secret is empty. Secrets are comparable with ==.
type Secret struct {
	value string
}

// NewSecret wraps a credential value.
func NewSecret(value string) Secret { return Secret{value: value} }

// Reveal returns the credential. Call it only where the value must leave
// the program (an HTTP header, a Kubernetes secret), never to print it.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.value == "" }

// String returns "[REDACTED]" (or "" for the zero Secret).
func (s Secret) String() string {
	if s.value == "" {
		return ""
	}
	return redacted
}

// GoString returns a redacted Go-syntax form.
func (s Secret) GoString() string { return `iam.Secret("` + s.String() + `")` }

// Format implements fmt.Formatter so that every verb prints the redacted form.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(s.GoString()))
		return
	}
	_, _ = f.Write([]byte(s.String()))
}

// MarshalJSON writes the redacted form; a Secret never round-trips
// through JSON.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalText writes the redacted form.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }
