package dockerconfig

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// kubectl's types, as in k8s.io/kubectl/pkg/cmd/create/create_secret_docker.go,
// and its handleDockerCfgJSONContent.
type kubectlDockerConfigJSON struct {
	Auths       map[string]kubectlDockerConfigEntry `json:"auths"`
	HttpHeaders map[string]string                   `json:"HttpHeaders,omitempty"`
}

type kubectlDockerConfigEntry struct {
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Email    string `json:"email,omitempty"`
	Auth     string `json:"auth,omitempty"`
}

func kubectlCreateSecretDockerRegistry(t *testing.T, username, password, email, server string) []byte {
	t.Helper()
	b, err := json.Marshal(kubectlDockerConfigJSON{Auths: map[string]kubectlDockerConfigEntry{server: {
		Username: username, Password: password, Email: email,
		Auth: base64.StdEncoding.EncodeToString([]byte(username + ":" + password)),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMarshalMatchesKubectl(t *testing.T) {
	// The literal is what kubectl create secret docker-registry
	// --docker-server=us.icr.io --docker-username=iamapikey
	// --docker-password='s3cr<t&"x' --docker-email=a@b.c stores.
	const want = `{"auths":{"us.icr.io":{"username":"iamapikey","password":"s3cr\u003ct\u0026\"x","email":"a@b.c","auth":"aWFtYXBpa2V5OnMzY3I8dCYieA=="}}}`
	var c Config
	c.Set("us.icr.io", Entry{Username: "iamapikey", Password: `s3cr<t&"x`, Email: "a@b.c"})
	if got := mustMarshal(t, &c); got != want {
		t.Errorf("Marshal:\n got %s\nwant %s", got, want)
	}

	tests := []struct{ name, user, pass, email, server string }{
		{"default server, no email", "u", "p", "", "https://index.docker.io/v1/"},
		{"html and quotes", "<admin>", `"&'\`, "a&b@c", "r.io:5000/team"},
		{"unicode and control", "üser", "pä\u2028ss\n\x01", "", "localhost:5000"},
		{"long token", "cp", string(make([]byte, 300)), "x@y.z", "cp.icr.io"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Config
			c.Set(tt.server, Entry{Username: tt.user, Password: tt.pass, Email: tt.email})
			want := string(kubectlCreateSecretDockerRegistry(t, tt.user, tt.pass, tt.email, tt.server))
			if got := mustMarshal(t, &c); got != want {
				t.Errorf("Marshal:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestMarshal(t *testing.T) {
	tests := []struct {
		name string
		in   string
		edit func(*Config)
		want string
	}{
		{
			name: "zero config",
			want: `{"auths":{}}`,
		},
		{
			name: "unchanged entries are written as read, compacted and sorted by server",
			in: `{ "auths": { "quay.io": { "auth": "dTpw", "email": "x" },
			                 "b.io": {"email":"e", "auth":"dTpwYQ", "serveraddress": "b.io" } } }`,
			want: `{"auths":{"b.io":{"email":"e","auth":"dTpwYQ","serveraddress":"b.io"},"quay.io":{"auth":"dTpw","email":"x"}}}`,
		},
		{
			name: "unknown top-level keys sorted around auths and kept verbatim",
			in:   `{"credsStore":"desktop","auths":{},"HttpHeaders":{"X-B":"1","X-A":"2"},"n":[1, 2.50, null]}`,
			want: `{"HttpHeaders":{"X-B":"1","X-A":"2"},"auths":{},"credsStore":"desktop","n":[1,2.50,null]}`,
		},
		{
			name: "html escaping in kept values",
			in:   `{"auths":{"r.io":{"auth":"dTpw","note":"<a&b>\u2028"}},"x":"<"}`,
			want: `{"auths":{"r.io":{"auth":"dTpw","note":"\u003ca\u0026b\u003e\u2028"}},"x":"\u003c"}`,
		},
		{
			name: "changed entry is re-encoded with fresh auth; unknown keys kept, sorted",
			in:   `{"auths":{"r.io":{"z":1,"auth":"dTpw","email":"e","a":2}}}`,
			edit: func(c *Config) {
				e := c.Auths["r.io"]
				e.Password = "new"
				c.Auths["r.io"] = e
			},
			want: `{"auths":{"r.io":{"username":"u","password":"new","email":"e","auth":"dTpuZXc=","a":2,"z":1}}}`,
		},
		{
			name: "username and password without auth gain auth",
			in:   `{"auths":{"r.io":{"username":"u","password":"p"}}}`,
			want: `{"auths":{"r.io":{"username":"u","password":"p","auth":"dTpw"}}}`,
		},
		{
			name: "stale Auth is replaced",
			edit: func(c *Config) { c.Set("r.io", Entry{Username: "u", Password: "p", Auth: "c3RhbGU6b2xk"}) },
			want: `{"auths":{"r.io":{"username":"u","password":"p","auth":"dTpw"}}}`,
		},
		{
			name: "auth-only entry is re-padded",
			edit: func(c *Config) { c.Set("r.io", Entry{Auth: "dTpwYQ"}) },
			want: `{"auths":{"r.io":{"auth":"dTpwYQ=="}}}`,
		},
		{
			name: "tokens",
			edit: func(c *Config) { c.Set("r.io", Entry{IdentityToken: "it", RegistryToken: "rt"}) },
			want: `{"auths":{"r.io":{"identitytoken":"it","registrytoken":"rt"}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Config{}
			if tt.in != "" {
				c = mustParse(t, tt.in)
			}
			if tt.edit != nil {
				tt.edit(c)
			}
			got := mustMarshal(t, c)
			if got != tt.want {
				t.Errorf("Marshal:\n got %s\nwant %s", got, tt.want)
			}
			if again := mustMarshal(t, mustParse(t, got)); again != got {
				t.Errorf("Marshal(Parse(out)) = %s, want %s (stable)", again, got)
			}
		})
	}
}

func TestMarshalDeterministic(t *testing.T) {
	var c Config
	for _, s := range []string{"c.io", "a.io", "b.io", "https://d.io/v1/", "e.io:5000/x"} {
		c.Set(s, Entry{Username: "user-" + s[:1], Password: "p"})
	}
	first := mustMarshal(t, &c)
	for i := 0; i < 20; i++ {
		if got := mustMarshal(t, c.Clone()); got != first {
			t.Fatalf("Marshal differs between runs:\n%s\n%s", first, got)
		}
	}
}

func TestMarshalLegacy(t *testing.T) {
	c := mustParse(t, `{"auths":{"r.io":{"auth":"dTpw"}}}`)
	b, err := c.MarshalLegacy()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"r.io":{"auth":"dTpw"}}`; got != want {
		t.Errorf("MarshalLegacy = %s, want %s", got, want)
	}
	back, err := ParseLegacy(b)
	if err != nil || !Equal(c, back) {
		t.Errorf("ParseLegacy(MarshalLegacy(c)) = %v, %v; want c", back, err)
	}
	withExtra := mustParse(t, `{"auths":{},"credsStore":"x"}`)
	if _, err := withExtra.MarshalLegacy(); !hasParseError(err, "", "credsStore", ErrNotRepresentable) {
		t.Errorf("MarshalLegacy with unknown keys = %v, want ErrNotRepresentable naming credsStore", err)
	}
}

func TestValidate(t *testing.T) {
	var c Config
	c.Set("ok.io", Entry{Username: "u", Password: secret})
	c.Set("", Entry{Password: secret})
	c.Set("ftp://x.io", Entry{Password: secret})
	c.Set("bad auth.io", Entry{Auth: secret})
	c.Set("colon.io", Entry{Username: "a:b", Password: secret})
	c.Set("noc.io", Entry{Auth: base64.StdEncoding.EncodeToString([]byte(secret))})
	err := c.Validate()
	want := []struct {
		registry, field string
		err             error
	}{
		{"", "", ErrInvalidServer},
		{"ftp://x.io", "", ErrInvalidServer},
		{"bad auth.io", "", ErrInvalidServer},
		{"bad auth.io", "auth", ErrInvalidAuth},
		{"colon.io", "username", ErrInvalidAuth},
		{"noc.io", "auth", ErrInvalidAuth},
	}
	for _, w := range want {
		if !hasParseError(err, w.registry, w.field, w.err) {
			t.Errorf("Validate() = %v; missing %q/%q %v", err, w.registry, w.field, w.err)
		}
	}
	if got := len(err.(interface{ Unwrap() []error }).Unwrap()); got != len(want) {
		t.Errorf("Validate reported %d problems, want %d: %v", got, len(want), err)
	}
	if _, merr := c.Marshal(); merr == nil || merr.Error() != err.Error() {
		t.Errorf("Marshal error = %v, want the Validate error", merr)
	}
	if (&Config{}).Validate() != nil || (*Config)(nil).Validate() != nil {
		t.Error("zero and nil Config should be valid")
	}
	if errors.Is(err, ErrNoAuths) {
		t.Error("unexpected ErrNoAuths")
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `"\`, "<>&", "\u2028\u2029", "\x00\x1f\b\f\n\r\t", "\xff\xfe", "é日本", string([]byte{0xe2, 0x80})} {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); string(got) != string(want) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestAppendCompact(t *testing.T) {
	tests := []struct{ in, want string }{
		{` { "a" : [ 1 , 2 ] , "b" : "x y" } `, `{"a":[1,2],"b":"x y"}`},
		{`"\"<\\"`, `"\"\u003c\\"`},
		{"\"\xff\"", `"\ufffd"`},
		{"\"\u2029\"", `"\u2029"`},
	}
	for _, tt := range tests {
		if got := string(appendCompact(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("appendCompact(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if diff := cmp.Diff(`{"a":1}`, string(appendCompact(nil, []byte("{\n\t\"a\":\r1}")))); diff != "" {
		t.Error(diff)
	}
}
