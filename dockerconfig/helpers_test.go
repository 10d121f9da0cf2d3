package dockerconfig

import (
	"bytes"
	"encoding/json"
	"testing"
)

// view is the exported content of an Entry plus its unknown keys
// (compacted), for cmp.Diff.
type view struct {
	Username, Password, Email, Auth, IdentityToken, RegistryToken string
	Extra                                                         map[string]string
}

func viewOf(e Entry) view {
	v := view{e.Username, e.Password, e.Email, e.Auth, e.IdentityToken, e.RegistryToken, nil}
	for k, raw := range e.extra {
		if v.Extra == nil {
			v.Extra = map[string]string{}
		}
		var b bytes.Buffer
		_ = json.Compact(&b, raw)
		v.Extra[k] = b.String()
	}
	return v
}

func viewsOf(c *Config) map[string]view {
	m := map[string]view{}
	for k, e := range c.Auths {
		m[k] = viewOf(e)
	}
	return m
}

func extraOf(c *Config) map[string]string {
	m := map[string]string{}
	for k, raw := range c.extra {
		var b bytes.Buffer
		_ = json.Compact(&b, raw)
		m[k] = b.String()
	}
	return m
}

func mustParse(t testing.TB, doc string) *Config {
	t.Helper()
	c, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	return c
}

func mustMarshal(t testing.TB, c *Config) string {
	t.Helper()
	b, err := c.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	return string(b)
}

// decodeJSON decodes a document for semantic comparison.
func decodeJSON(t testing.TB, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// jqMerge is jq's `.[0] * .[1]` on decoded JSON: objects merge
// recursively, anything else is replaced by the right-hand side.
func jqMerge(a, b any) any {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if !aok || !bok {
		return b
	}
	out := make(map[string]any, len(am)+len(bm))
	for k, v := range am {
		out[k] = v
	}
	for k, v := range bm {
		if av, ok := out[k]; ok {
			out[k] = jqMerge(av, v)
		} else {
			out[k] = v
		}
	}
	return out
}
