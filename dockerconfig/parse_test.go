package dockerconfig

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name      string
		doc       string
		want      map[string]view
		wantExtra map[string]string
	}{
		{
			name: "kubectl output",
			doc:  `{"auths":{"us.icr.io":{"username":"iamapikey","password":"k","email":"a@b.c","auth":"aWFtYXBpa2V5Oms="}}}`,
			want: map[string]view{"us.icr.io": {Username: "iamapikey", Password: "k", Email: "a@b.c", Auth: "aWFtYXBpa2V5Oms="}},
		},
		{
			name: "auth only fills username and password",
			doc:  `{"auths":{"quay.io":{"auth":"dTpw","email":"x@y"}}}`,
			want: map[string]view{"quay.io": {Username: "u", Password: "p", Email: "x@y", Auth: "dTpw"}},
		},
		{
			name: "unpadded auth",
			doc:  `{"auths":{"quay.io":{"auth":"dTpwYQ"}}}`,
			want: map[string]view{"quay.io": {Username: "u", Password: "pa", Auth: "dTpwYQ"}},
		},
		{
			name: "padded auth",
			doc:  `{"auths":{"quay.io":{"auth":"dTpwYQ=="}}}`,
			want: map[string]view{"quay.io": {Username: "u", Password: "pa", Auth: "dTpwYQ=="}},
		},
		{
			name: "auth wins over disagreeing username and password",
			doc:  `{"auths":{"quay.io":{"username":"other","password":"old","auth":"dTpw"}}}`,
			want: map[string]view{"quay.io": {Username: "u", Password: "p", Auth: "dTpw"}},
		},
		{
			name: "password with colon in auth",
			doc:  `{"auths":{"quay.io":{"auth":"Y3A6YTpi"}}}`, // cp:a:b
			want: map[string]view{"quay.io": {Username: "cp", Password: "a:b", Auth: "Y3A6YTpi"}},
		},
		{
			name: "username and password without auth",
			doc:  `{"auths":{"quay.io":{"username":"u","password":"p"}}}`,
			want: map[string]view{"quay.io": {Username: "u", Password: "p"}},
		},
		{
			name: "tokens, null fields, escapes",
			doc:  `{"auths":{"r.io":{"identitytoken":"it","registrytoken":"rt","email":null,"user\u006eame":"a\u003cb"}}}`,
			want: map[string]view{"r.io": {Username: "a<b", IdentityToken: "it", RegistryToken: "rt"}},
		},
		{
			name: "unknown keys kept at both levels",
			doc: `{"credsStore":"desktop","HttpHeaders":{"User-Agent":"x"},
			       "auths":{"r.io":{"auth":"dTpw","serveraddress":"r.io","Username":"kept"}}}`,
			want: map[string]view{"r.io": {Username: "u", Password: "p", Auth: "dTpw",
				Extra: map[string]string{"serveraddress": `"r.io"`, "Username": `"kept"`}}},
			wantExtra: map[string]string{"credsStore": `"desktop"`, "HttpHeaders": `{"User-Agent":"x"}`},
		},
		{
			name: "empty auths",
			doc:  ` {"auths":{}} `,
			want: map[string]view{},
		},
		{
			name: "repeated keys: last wins",
			doc:  `{"auths":{"a.io":{"auth":"dTpw"}},"auths":{"b.io":{"auth":"dTpw"},"b.io":{"auth":"dTpwYQ"}}}`,
			want: map[string]view{"b.io": {Username: "u", Password: "pa", Auth: "dTpwYQ"}},
		},
		{
			name: "equivalent keys are both kept",
			doc:  `{"auths":{"https://us.icr.io/v1/":{"auth":"dTpw"},"us.icr.io":{"auth":"dTpwYQ"}}}`,
			want: map[string]view{
				"https://us.icr.io/v1/": {Username: "u", Password: "p", Auth: "dTpw"},
				"us.icr.io":             {Username: "u", Password: "pa", Auth: "dTpwYQ"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.doc)
			if diff := cmp.Diff(tt.want, viewsOf(c)); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
			if tt.wantExtra == nil {
				tt.wantExtra = map[string]string{}
			}
			if diff := cmp.Diff(tt.wantExtra, extraOf(c)); diff != "" {
				t.Errorf("unknown keys (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseLegacy(t *testing.T) {
	c, err := ParseLegacy([]byte(`{"172.30.1.1:5000":{"auth":"dTpw","email":"x"},"https://r.io/v1/":{"username":"u","password":"p"}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]view{
		"172.30.1.1:5000":  {Username: "u", Password: "p", Email: "x", Auth: "dTpw"},
		"https://r.io/v1/": {Username: "u", Password: "p"},
	}
	if diff := cmp.Diff(want, viewsOf(c)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := ParseLegacy([]byte(`{"auths":{"r.io":{}}}`)); !errors.Is(err, ErrWrongFormat) {
		t.Errorf("ParseLegacy(.dockerconfigjson) = %v, want ErrWrongFormat", err)
	}
	if _, err := Parse([]byte(`{"r.io":{"auth":"dTpw"}}`)); !errors.Is(err, ErrNoAuths) {
		t.Errorf("Parse(.dockercfg) = %v, want ErrNoAuths", err)
	}
}

func TestParseSecret(t *testing.T) {
	json := []byte(`{"auths":{"r.io":{"auth":"dTpw"}}}`)
	legacy := []byte(`{"r.io":{"auth":"dTpw"}}`)
	tests := []struct {
		name    string
		typ     string
		data    map[string][]byte
		wantErr error
	}{
		{"dockerconfigjson", "kubernetes.io/dockerconfigjson", map[string][]byte{".dockerconfigjson": json}, nil},
		{"dockercfg", "kubernetes.io/dockercfg", map[string][]byte{".dockercfg": legacy}, nil},
		{"type decides, not the keys present", "kubernetes.io/dockerconfigjson", map[string][]byte{".dockercfg": legacy}, ErrMissingKey},
		{"empty key", "kubernetes.io/dockercfg", map[string][]byte{".dockercfg": nil}, ErrMissingKey},
		{"wrong format under the right key", "kubernetes.io/dockerconfigjson", map[string][]byte{".dockerconfigjson": legacy}, ErrNoAuths},
		{"opaque", "Opaque", map[string][]byte{".dockerconfigjson": json}, ErrUnsupportedSecretType},
		{"no type", "", map[string][]byte{".dockerconfigjson": json}, ErrUnsupportedSecretType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseSecret(tt.typ, tt.data)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff([]string{"r.io"}, c.Servers()); diff != "" {
				t.Errorf("servers (-want +got):\n%s", diff)
			}
		})
	}
	var ste *SecretTypeError
	if _, err := ParseSecret("Opaque", nil); !errors.As(err, &ste) || ste.Type != "Opaque" {
		t.Errorf("want *SecretTypeError{Opaque}, got %v", err)
	}
}

// secret is put in every bad document; no error may contain it.
const secret = "SENTINEL-SECRET-42"

func TestParseBadInput(t *testing.T) {
	b64Secret := "U0VOVElORUwtU0VDUkVULTQy" // base64(secret), no ':'
	tests := []struct {
		name      string
		doc       string
		want      error
		registry  string
		field     string
		forbidden []string
	}{
		{name: "not JSON", doc: `{"auths":{"r.io":{"password":"` + secret, want: ErrNotJSON},
		{name: "not JSON at all", doc: secret, want: ErrNotJSON},
		{name: "JSON but not an object", doc: `["` + secret + `"]`, want: ErrNotObject},
		{name: "JSON string", doc: `"` + secret + `"`, want: ErrNotObject},
		{name: "no auths", doc: `{"credsStore":"` + secret + `"}`, want: ErrNoAuths, field: "auths"},
		{name: "auths not an object", doc: `{"auths":["` + secret + `"]}`, want: ErrNotObject, field: "auths"},
		{name: "entry not an object", doc: `{"auths":{"r.io":"` + secret + `"}}`, want: ErrNotObject, registry: "r.io"},
		{name: "auth not base64", doc: `{"auths":{"r.io":{"auth":"` + secret + `!"}}}`, want: ErrInvalidAuth, registry: "r.io", field: "auth"},
		{name: "auth without colon", doc: `{"auths":{"r.io":{"auth":"` + b64Secret + `"}}}`, want: ErrInvalidAuth, registry: "r.io", field: "auth", forbidden: []string{b64Secret}},
		{name: "password not a string", doc: `{"auths":{"r.io":{"password":{"v":"` + secret + `"}}}}`, want: ErrNotString, registry: "r.io", field: "password"},
		{name: "username with colon and no auth", doc: `{"auths":{"r.io":{"username":"a:b","password":"` + secret + `"}}}`, want: ErrInvalidAuth, registry: "r.io", field: "username"},
		{name: "empty server key", doc: `{"auths":{"":{"password":"` + secret + `"}}}`, want: ErrInvalidServer},
		{name: "server with space", doc: `{"auths":{"us.icr.io ":{"password":"` + secret + `"}}}`, want: ErrInvalidServer, registry: "us.icr.io "},
		{name: "server with tab", doc: `{"auths":{"us.\ticr.io":{"password":"` + secret + `"}}}`, want: ErrInvalidServer, registry: "us.\ticr.io"},
		{name: "server with ftp scheme", doc: `{"auths":{"ftp://us.icr.io":{"password":"` + secret + `"}}}`, want: ErrInvalidServer, registry: "ftp://us.icr.io"},
		{name: "server with uppercase scheme", doc: `{"auths":{"HTTPS://us.icr.io":{}}}`, want: ErrInvalidServer, registry: "HTTPS://us.icr.io"},
		{name: "server with user info", doc: `{"auths":{"https://u:` + secret + `@us.icr.io":{}}}`, want: ErrInvalidServer},
		{name: "too large", doc: `{"auths":{},"x":"` + strings.Repeat(secret, MaxSize/len(secret)) + `"}`, want: ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, parse := range []func([]byte) (*Config, error){Parse, func(b []byte) (*Config, error) {
				_, err := MergeBytes(b, []byte(`{"auths":{}}`))
				return nil, err
			}} {
				c, err := parse([]byte(tt.doc))
				if err == nil {
					t.Fatalf("no error; got %v", c)
				}
				if !errors.Is(err, tt.want) {
					t.Errorf("err = %v, want %v", err, tt.want)
				}
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("err %v is not a *ParseError", err)
				}
				if tt.registry != "" || tt.field != "" {
					if !hasParseError(err, tt.registry, tt.field, tt.want) {
						t.Errorf("err = %v, want a *ParseError{Registry: %q, Field: %q} wrapping %v", err, tt.registry, tt.field, tt.want)
					}
				}
				msg := err.Error()
				for _, s := range append(tt.forbidden, secret, "SENTINEL") {
					if strings.Contains(msg, s) {
						t.Errorf("error %q contains a value (%q)", msg, s)
					}
				}
			}
		})
	}
}

// hasParseError reports whether err (possibly joined) holds a *ParseError
// with the registry and field wrapping want.
func hasParseError(err error, registry, field string, want error) bool {
	var pe *ParseError
	if errors.As(err, &pe) && pe.Registry == registry && pe.Field == field && errors.Is(pe, want) {
		return true
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if hasParseError(e, registry, field, want) {
				return true
			}
		}
	}
	if u := errors.Unwrap(err); u != nil {
		return hasParseError(u, registry, field, want)
	}
	return false
}

func TestParseReportsEveryProblem(t *testing.T) {
	_, err := Parse([]byte(`{"auths":{"a.io":{"auth":"!!"},"b.io":"x","ftp://c.io":{},"d.io":{"email":1,"password":[]}}}`))
	want := []struct{ registry, field string }{{"a.io", "auth"}, {"b.io", ""}, {"ftp://c.io", ""}, {"d.io", "email"}, {"d.io", "password"}}
	for _, w := range want {
		var target error = ErrInvalidAuth
		switch w.registry {
		case "b.io":
			target = ErrNotObject
		case "ftp://c.io":
			target = ErrInvalidServer
		case "d.io":
			target = ErrNotString
		}
		if !hasParseError(err, w.registry, w.field, target) {
			t.Errorf("missing problem %s/%s in %v", w.registry, w.field, err)
		}
	}
}

func TestParseCopiesInput(t *testing.T) {
	doc := []byte(`{"auths":{"r.io":{"auth":"dTpw","x":"keep"}},"y":"keep"}`)
	c, err := Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range doc {
		doc[i] = ' '
	}
	if got, want := mustMarshal(t, c), `{"auths":{"r.io":{"auth":"dTpw","x":"keep"}},"y":"keep"}`; got != want {
		t.Errorf("after reusing the input, Marshal = %s, want %s", got, want)
	}
}
