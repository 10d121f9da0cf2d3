package dockerconfig

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/registrykit/registrykit/internal/redact"
)

// Redacted is what String, GoString and Format print in place of a secret.
const Redacted = "REDACTED"

// String shows the username and which secret fields are set, never their
// values: {Username:"iamapikey" Password:REDACTED Auth:REDACTED}.
func (e Entry) String() string { return e.describe(false) }

// GoString is String in Go syntax, with the same redaction.
func (e Entry) GoString() string { return e.describe(true) }

// Format implements fmt.Formatter so that every verb and flag (%v, %+v,
// %#v, %s, %q, %x, ...) prints the redacted form.
func (e Entry) Format(f fmt.State, verb rune) { format(f, verb, e.String(), e.GoString(), "Entry") }

// LogValue implements slog.LogValuer with the redacted form, so JSON log
// handlers never marshal the secret fields.
func (e Entry) LogValue() slog.Value { return slog.StringValue(e.String()) }

// MarshalJSON writes the redacted form, String, as a JSON string, so an
// Entry inside anything encoding/json writes (a log record, an API answer)
// shows no secret. An Entry does not round-trip through encoding/json;
// Config.Marshal writes the credential document.
func (e Entry) MarshalJSON() ([]byte, error) { return json.Marshal(e.String()) }

func (e Entry) describe(goSyntax bool) string {
	var b strings.Builder
	sep := " "
	if goSyntax {
		b.WriteString("dockerconfig.Entry")
		sep = ", "
	}
	b.WriteByte('{')
	n := 0
	put := func(name, v string) {
		if n > 0 {
			b.WriteString(sep)
		}
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(v)
		n++
	}
	if e.Username != "" {
		put("Username", strconv.Quote(e.Username))
	}
	red := Redacted
	if goSyntax {
		red = strconv.Quote(Redacted)
	}
	for _, s := range []struct{ name, v string }{
		{"Password", e.Password}, {"Auth", e.Auth}, {"IdentityToken", e.IdentityToken}, {"RegistryToken", e.RegistryToken},
	} {
		if s.v != "" {
			put(s.name, red)
		}
	}
	b.WriteByte('}')
	return b.String()
}

// String shows the server keys (any user information in them replaced by
// REDACTED) with their usernames and the names of the unknown top-level
// keys; never a secret, never an unknown key's value.
func (c Config) String() string { return c.describe(false) }

// GoString is String in Go syntax, with the same redaction.
func (c Config) GoString() string { return c.describe(true) }

// Format implements fmt.Formatter with the redacted form for every verb.
func (c Config) Format(f fmt.State, verb rune) { format(f, verb, c.String(), c.GoString(), "Config") }

// LogValue implements slog.LogValuer with the redacted form.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalJSON writes the redacted form, String, as a JSON string: json.Marshal
// of a Config (or of anything holding one) is never the credential
// document. Marshal writes the document.
func (c Config) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

func (c Config) describe(goSyntax bool) string {
	var b strings.Builder
	if goSyntax {
		b.WriteString("dockerconfig.Config{Auths: map[string]dockerconfig.Entry{")
	} else {
		b.WriteString("{Auths:map[")
	}
	for i, k := range c.Servers() {
		e := c.Auths[k]
		if goSyntax {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Quote(redact.Userinfo(k)))
			b.WriteString(": ")
			b.WriteString(e.GoString())
		} else {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(redact.Userinfo(k))
			b.WriteByte(':')
			b.WriteString(e.String())
		}
	}
	if goSyntax {
		b.WriteByte('}')
		if keys := c.UnknownKeys(); len(keys) > 0 {
			fmt.Fprintf(&b, " /* unknown keys: %s */", strings.Join(keys, ", "))
		}
	} else {
		b.WriteByte(']')
		if keys := c.UnknownKeys(); len(keys) > 0 {
			fmt.Fprintf(&b, " Unknown:[%s]", strings.Join(keys, " "))
		}
	}
	b.WriteByte('}')
	return b.String()
}

func format(f fmt.State, verb rune, s, gs, typ string) {
	switch verb {
	case 'v':
		if f.Flag('#') {
			_, _ = f.Write([]byte(gs))
			return
		}
		_, _ = f.Write([]byte(s))
	case 's':
		_, _ = f.Write([]byte(s))
	case 'q':
		_, _ = f.Write([]byte(strconv.Quote(s)))
	default:
		fmt.Fprintf(f, "%%!%c(dockerconfig.%s=%s)", verb, typ, s)
	}
}
