package dockerconfig

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestNothingPrintsSecrets(t *testing.T) {
	e := Entry{Username: "iamapikey", Password: secret, Email: "a@b.c", Auth: base64.StdEncoding.EncodeToString([]byte("iamapikey:" + secret)), IdentityToken: secret + "-it", RegistryToken: secret + "-rt"}
	var c Config
	c.Set("us.icr.io", e)
	parsed := mustParse(t, mustMarshal(t, &c))
	withExtra := mustParse(t, `{"auths":{"r.io":{"auth":"`+e.Auth+`","serveraddress":"`+secret+`"}},"HttpHeaders":{"X-Token":"`+secret+`"}}`)
	forbidden := []string{secret, e.Auth, base64.StdEncoding.EncodeToString([]byte(secret))}

	values := map[string]any{
		"Entry": e, "*Entry": &e, "Config": c, "*Config": &c, "parsed": parsed, "unknown keys": withExtra,
		"map": c.Auths, "Match": c.Lookup("us.icr.io/ns/app"), "slice": []Entry{e},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v", "%10v", "%-v"}
	for name, v := range values {
		for _, verb := range verbs {
			out := fmt.Sprintf(verb, v)
			for _, f := range forbidden {
				if strings.Contains(out, f) {
					t.Errorf("Sprintf(%q, %s) = %q leaks a secret", verb, name, out)
				}
			}
		}
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("x", "entry", e, "config", c, "ptr", &c)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "entry", e, "config", withExtra)
	for _, f := range forbidden {
		if strings.Contains(buf.String(), f) {
			t.Errorf("slog output leaks a secret: %s", buf.String())
		}
	}
	if !strings.Contains(buf.String(), "iamapikey") {
		t.Errorf("slog output lacks the username: %s", buf.String())
	}
}

func TestStringForms(t *testing.T) {
	e := Entry{Username: "iamapikey", Password: "x", Auth: "y"}
	var c Config
	c.Set("us.icr.io", e)
	c.Set("quay.io", Entry{IdentityToken: "t"})
	withExtra := mustParse(t, `{"auths":{},"credsStore":"x"}`)
	tests := []struct {
		format string
		v      any
		want   string
	}{
		{"%v", e, `{Username:"iamapikey" Password:REDACTED Auth:REDACTED}`},
		{"%+v", e, `{Username:"iamapikey" Password:REDACTED Auth:REDACTED}`},
		{"%#v", e, `dockerconfig.Entry{Username:"iamapikey", Password:"REDACTED", Auth:"REDACTED"}`},
		{"%s", &e, `{Username:"iamapikey" Password:REDACTED Auth:REDACTED}`},
		{"%d", e, `%!d(dockerconfig.Entry={Username:"iamapikey" Password:REDACTED Auth:REDACTED})`},
		{"%v", c, `{Auths:map[quay.io:{IdentityToken:REDACTED} us.icr.io:{Username:"iamapikey" Password:REDACTED Auth:REDACTED}]}`},
		{"%#v", &c, `dockerconfig.Config{Auths: map[string]dockerconfig.Entry{"quay.io": dockerconfig.Entry{IdentityToken:"REDACTED"}, "us.icr.io": dockerconfig.Entry{Username:"iamapikey", Password:"REDACTED", Auth:"REDACTED"}}}`},
		{"%v", withExtra, `{Auths:map[] Unknown:[credsStore]}`},
	}
	for _, tt := range tests {
		if got := fmt.Sprintf(tt.format, tt.v); got != tt.want {
			t.Errorf("Sprintf(%q) =\n %s\nwant\n %s", tt.format, got, tt.want)
		}
	}
}
