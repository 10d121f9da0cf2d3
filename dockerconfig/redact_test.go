package dockerconfig

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
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

// printed returns every form a user or a library can print v in: the fmt
// verbs, encoding/json, and log/slog's text and JSON handlers with v as an
// attribute, inside a group and as a logger attribute.
func printed(v any) map[string]string {
	out := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10v", "%-v"} {
		out["Sprintf "+verb] = fmt.Sprintf(verb, v)
	}
	if b, err := json.Marshal(v); err != nil {
		out["json.Marshal"] = "error: " + err.Error()
	} else {
		out["json.Marshal"] = string(b)
	}
	for name, h := range map[string]func(*bytes.Buffer) slog.Handler{
		"slog text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"slog JSON": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var b bytes.Buffer
		log := slog.New(h(&b))
		log.Info("m", "v", v, slog.Group("g", "v", v))
		log.With("v", v).Info("m")
		out[name] = b.String()
	}
	return out
}

// leaked returns the names of the forms that show one of the forbidden
// texts (never the text itself, so a failure prints no secret).
func leaked(forms map[string]string, forbidden []string) []string {
	var names []string
	for name, s := range forms {
		for _, f := range forbidden {
			if strings.Contains(s, f) {
				names = append(names, name)
				break
			}
		}
	}
	sort.Strings(names)
	return names
}

// forbiddenForms are the texts that give secret away: raw, base64 at each
// byte offset inside an auth, and each of those in hex (%x, %X).
func forbiddenForms(secret string) []string {
	out := []string{secret}
	for j := range 3 {
		sub := secret[j:]
		out = append(out, base64.StdEncoding.EncodeToString([]byte(sub[:len(sub)/3*3])))
	}
	for _, s := range slices.Clone(out) {
		out = append(out, hex.EncodeToString([]byte(s)), strings.ToUpper(hex.EncodeToString([]byte(s))))
	}
	return out
}

// TestSecretsSafeAtAnyDepth: Entry, Config and Match values, however deep
// they sit in slices, maps, struct fields, pointers and interfaces, print,
// marshal and log without a secret.
func TestSecretsSafeAtAnyDepth(t *testing.T) {
	e := Entry{Username: "iamapikey", Password: secret, Email: "a@b.c", IdentityToken: secret, RegistryToken: secret}
	var c Config
	c.Set("us.icr.io", e)
	c.Set("quay.io", Entry{Auth: base64.StdEncoding.EncodeToString([]byte("u:" + secret))})
	parsed := mustParse(t, `{"auths":{"r.io":{"auth":"`+base64.StdEncoding.EncodeToString([]byte("u:"+secret))+`","serveraddress":"`+secret+`"}},"HttpHeaders":{"X-Token":"`+secret+`"}}`)
	matches := c.Lookup("us.icr.io/team/app")
	if len(matches) == 0 {
		t.Fatal("Lookup found nothing to print")
	}
	type inner struct {
		Matches []Match
		Config  *Config
	}
	type outer struct {
		Inner inner
		Any   []any
	}
	values := map[string]any{
		"Entry":                                 e,
		"Config":                                c,
		"parsed Config":                         parsed,
		"Match":                                 matches[0],
		"cfg.Auths":                             c.Auths,
		"[]Match":                               matches,
		"struct{struct{[]Match}}":               outer{Inner: inner{Matches: matches, Config: parsed}},
		"[]any{Entry, *Entry, Config, *Config}": outer{Any: []any{e, &e, c, parsed}},
		"map[string][]Entry":                    map[string][]Entry{"a": {e, parsed.Auths["r.io"]}},
		"map[string]map[string]Entry":           map[string]map[string]Entry{"a": c.Auths, "b": parsed.Auths},
		"[]*Config":                             []*Config{&c, parsed},
		"[][]Match":                             [][]Match{matches},
		"map[string]any{Config}":                map[string]any{"x": map[string]any{"y": []Config{c, *parsed}}},
		"*struct{*Entry}":                       &struct{ E *Entry }{&e},
	}
	for name, v := range values {
		if forms := leaked(printed(v), forbiddenForms(secret)); len(forms) > 0 {
			t.Errorf("%s leaks a secret through %s", name, strings.Join(forms, ", "))
		}
	}
}

// TestSecretCheckCatchesLeaks is the negative control of
// TestSecretsSafeAtAnyDepth: a secret in a plain struct field, nested the
// same ways, is found in every form.
func TestSecretCheckCatchesLeaks(t *testing.T) {
	type plain struct{ Password string }
	p := plain{secret}
	for name, v := range map[string]any{
		"struct":                 p,
		"[]struct":               []plain{p},
		"map of slices":          map[string][]plain{"a": {p}},
		"struct in struct":       struct{ Inner struct{ List []plain } }{struct{ List []plain }{[]plain{p}}},
		"interface in a map":     map[string]any{"x": []any{p}},
		"auth in a plain struct": struct{ Auth string }{base64.StdEncoding.EncodeToString([]byte("iamapikey:" + secret))},
	} {
		forms := printed(v)
		found := leaked(forms, forbiddenForms(secret))
		for f := range forms {
			if !slices.Contains(found, f) {
				t.Errorf("%s: the secret printed through %s was not found", name, f)
			}
		}
	}
}

// TestUserinfoRedacted: a server key holding user information
// ("user:password@host") shows up redacted wherever this package echoes
// it: Config's String forms, JSON and logs, Validate, Marshal and Parse
// errors, NormalizeServer errors and ParseError.Registry.
func TestUserinfoRedacted(t *testing.T) {
	for _, server := range []string{"https://u:" + secret + "@r.io/v1/", "u:" + secret + "@r.io", "iamapikey:" + secret + "@us.icr.io/v2/"} {
		t.Run(server[:5], func(t *testing.T) {
			var c Config
			c.Set(server, Entry{Username: "u", Password: "p"})
			forms := printed(c)
			forms["*Config"] = fmt.Sprintf("%v %+v %#v %s %q", &c, &c, &c, &c, &c)
			_, nerr := NormalizeServer(server)
			_, perr := Parse([]byte(`{"auths":{` + strconv.Quote(server) + `:{"auth":"dTpw"}}}`))
			_, lerr := ParseLegacy([]byte(`{` + strconv.Quote(server) + `:{"auth":"!"}}`))
			_, merr := c.Marshal()
			_, berr := MergeBytes([]byte(`{"auths":{`+strconv.Quote(server)+`:{}}}`), []byte(`{"auths":{}}`))
			for name, err := range map[string]error{"NormalizeServer": nerr, "Parse": perr, "ParseLegacy": lerr, "Marshal": merr, "Validate": c.Validate(), "MergeBytes": berr} {
				if err == nil {
					t.Fatalf("%s accepted a server key with user information", name)
				}
				for form, s := range printed(err) {
					forms[name+" error "+form] = s
				}
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("%s: %T is no *ParseError", name, err)
				}
				forms[name+" ParseError.Registry"] = pe.Registry
			}
			if found := leaked(forms, forbiddenForms(secret)); len(found) > 0 {
				t.Errorf("user information shown by %s", strings.Join(found, ", "))
			}
			if !strings.Contains(fmt.Sprint(c), "REDACTED@") {
				t.Errorf("Config.String does not name the redacted key: %v", c)
			}
		})
	}
}
