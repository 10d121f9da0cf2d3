package dockerconfig

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestZeroConfig(t *testing.T) {
	var c Config
	if _, ok := c.Get("r.io"); ok {
		t.Error("Get on zero Config found something")
	}
	if c.Remove("r.io") {
		t.Error("Remove on zero Config removed something")
	}
	if diff := cmp.Diff([]string{}, c.Servers()); diff != "" {
		t.Error(diff)
	}
	if m := c.Lookup("r.io/app"); m != nil {
		t.Errorf("Lookup = %v", m)
	}
	c.Set("r.io", Entry{Username: "u", Password: "p"})
	if got, want := mustMarshal(t, &c), `{"auths":{"r.io":{"username":"u","password":"p","auth":"dTpw"}}}`; got != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
	var nilc *Config
	if nilc.Servers() == nil || nilc.Clone() != nil || nilc.Lookup("x") != nil || !Equal(nilc, &Config{}) {
		t.Error("nil *Config read methods misbehave")
	}
	if _, ok := nilc.Get("x"); ok {
		t.Error("nil Get found something")
	}
}

func TestSet(t *testing.T) {
	base := `{"auths":{"https://us.icr.io/v1/":{"auth":"dTpw"},"us.icr.io/v2/":{"auth":"dTpw"},"us.icr.io/team":{"auth":"dTpw"},"uk.icr.io":{"auth":"dTpw"}}}`
	tests := []struct {
		name   string
		server string
		want   []string
	}{
		{"replaces every equivalent key", "us.icr.io", []string{"uk.icr.io", "us.icr.io", "us.icr.io/team"}},
		{"keeps the key as given", "http://us.icr.io/", []string{"http://us.icr.io/", "uk.icr.io", "us.icr.io/team"}},
		{"path-scoped key is its own registry", "us.icr.io/team/", []string{"https://us.icr.io/v1/", "uk.icr.io", "us.icr.io/team", "us.icr.io/team/", "us.icr.io/v2/"}},
		{"new registry", "de.icr.io", []string{"de.icr.io", "https://us.icr.io/v1/", "uk.icr.io", "us.icr.io/team", "us.icr.io/v2/"}},
		{"port is part of the registry", "us.icr.io:443", []string{"https://us.icr.io/v1/", "uk.icr.io", "us.icr.io/team", "us.icr.io/v2/", "us.icr.io:443"}},
		{"invalid server is stored, not matched", "us.icr.io ", []string{"https://us.icr.io/v1/", "uk.icr.io", "us.icr.io ", "us.icr.io/team", "us.icr.io/v2/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, base)
			c.Set(tt.server, Entry{Username: "new", Password: "p"})
			if diff := cmp.Diff(tt.want, c.Servers()); diff != "" {
				t.Errorf("servers (-want +got):\n%s", diff)
			}
			if got := c.Auths[tt.server].Username; got != "new" {
				t.Errorf("entry under %q has username %q", tt.server, got)
			}
		})
	}
}

func TestGetRemove(t *testing.T) {
	c := mustParse(t, `{"auths":{"https://us.icr.io/v1/":{"auth":"dTpw"},"us.icr.io/team":{"auth":"dTpwYQ"}}}`)
	tests := []struct {
		server   string
		wantOK   bool
		wantPass string
	}{
		{"us.icr.io", true, "p"},
		{"https://us.icr.io/v1/", true, "p"},
		{"http://us.icr.io/v2/", true, "p"},
		{"us.icr.io/team", true, "pa"},
		{"uk.icr.io", false, ""},
		{"", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.server, func(t *testing.T) {
			e, ok := c.Get(tt.server)
			if ok != tt.wantOK || e.Password != tt.wantPass {
				t.Errorf("Get(%q) = %v (password ok: %v), %v; want %v", tt.server, e, e.Password == tt.wantPass, ok, tt.wantOK)
			}
		})
	}
	if !c.Remove("us.icr.io/v2/") {
		t.Error("Remove(equivalent key) = false")
	}
	if c.Remove("us.icr.io") {
		t.Error("second Remove = true")
	}
	if diff := cmp.Diff([]string{"us.icr.io/team"}, c.Servers()); diff != "" {
		t.Errorf("servers (-want +got):\n%s", diff)
	}
}

func TestCloneIsIndependent(t *testing.T) {
	c := mustParse(t, `{"auths":{"r.io":{"auth":"dTpw","x":1}},"credsStore":"d"}`)
	d := c.Clone()
	d.Set("s.io", Entry{Username: "a", Password: "b"})
	e := d.Auths["r.io"]
	e.Password = "changed"
	d.Auths["r.io"] = e
	if got, want := mustMarshal(t, c), `{"auths":{"r.io":{"auth":"dTpw","x":1}},"credsStore":"d"}`; got != want {
		t.Errorf("original changed: %s", got)
	}
	if !Equal(c, c.Clone()) {
		t.Error("Clone not Equal")
	}
}

func TestEqual(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{"same", `{"auths":{"r.io":{"auth":"dTpw"}}}`, `{"auths":{"r.io":{"auth":"dTpw"}}}`, true},
		{"spelling differs", `{"auths":{"r.io":{"auth":"dTpwYQ"}}}`, `{"auths":{"r.io":{"username":"u","password":"pa","auth":"dTpwYQ=="}}}`, true},
		{"unknown key order and spacing", `{"x":{"a":1,"b":[1, 2]},"auths":{}}`, `{"auths":{},"x":{"b":[1,2],"a":1}}`, true},
		{"password differs", `{"auths":{"r.io":{"auth":"dTpw"}}}`, `{"auths":{"r.io":{"auth":"dTpwYQ"}}}`, false},
		{"email differs", `{"auths":{"r.io":{"auth":"dTpw","email":"a"}}}`, `{"auths":{"r.io":{"auth":"dTpw"}}}`, false},
		{"equivalent but different keys", `{"auths":{"r.io":{"auth":"dTpw"}}}`, `{"auths":{"https://r.io/v1/":{"auth":"dTpw"}}}`, false},
		{"unknown entry key differs", `{"auths":{"r.io":{"auth":"dTpw","x":1}}}`, `{"auths":{"r.io":{"auth":"dTpw","x":2}}}`, false},
		{"unknown top-level key missing", `{"auths":{},"credsStore":"a"}`, `{"auths":{}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := mustParse(t, tt.a), mustParse(t, tt.b)
			if got := Equal(a, b); got != tt.want {
				t.Errorf("Equal = %v, want %v", got, tt.want)
			}
			if got := Equal(b, a); got != tt.want {
				t.Errorf("Equal (swapped) = %v, want %v", got, tt.want)
			}
			if got := cmp.Equal(a, b); got != tt.want {
				t.Errorf("cmp.Equal = %v, want %v", got, tt.want)
			}
		})
	}
}
