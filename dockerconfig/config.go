package dockerconfig

import "encoding/json"

// Config is a registry credentials document (.dockerconfigjson, or
// .dockercfg via ParseLegacy/MarshalLegacy).
//
// Auths maps server keys, exactly as written in the document, to entries.
// Config also keeps, unexported, every top-level key it does not model
// ("credsStore", "HttpHeaders", ...) so that Parse → change → Marshal loses
// nothing. The zero Config is an empty document ready to use; methods that
// only read accept a nil *Config.
//
// A Config is not safe for concurrent mutation; Clone gives an independent
// copy.
type Config struct {
	Auths map[string]Entry

	extra map[string]json.RawMessage // unknown top-level keys; values never mutated
}

// Match is one credential Lookup found for an image.
type Match struct {
	// Server is the key exactly as written in the document.
	Server string
	Entry  Entry
}

// Set stores e under server, replacing any entry whose key denotes the same
// registry (see NormalizeServer): Set("us.icr.io", e) removes
// "https://us.icr.io/v1/". The key is stored as given. An invalid server is
// stored too and reported by Validate and Marshal.
func (c *Config) Set(server string, e Entry) {
	if c.Auths == nil {
		c.Auths = make(map[string]Entry)
	}
	if norm, err := NormalizeServer(server); err == nil {
		for k := range c.Auths {
			if k != server {
				if n, err := NormalizeServer(k); err == nil && n == norm {
					delete(c.Auths, k)
				}
			}
		}
	}
	c.Auths[server] = e
}

// Get returns the entry stored under server or, failing that, under the
// first (sorted) key denoting the same registry.
func (c *Config) Get(server string) (Entry, bool) {
	if c == nil {
		return Entry{}, false
	}
	if e, ok := c.Auths[server]; ok {
		return e, true
	}
	for _, k := range c.Servers() {
		if sameRegistry(k, server) {
			return c.Auths[k], true
		}
	}
	return Entry{}, false
}

// Remove deletes the entries stored under server and under every key
// denoting the same registry, and reports whether any was removed.
func (c *Config) Remove(server string) bool {
	if c == nil {
		return false
	}
	removed := false
	for k := range c.Auths {
		if sameRegistry(k, server) {
			delete(c.Auths, k)
			removed = true
		}
	}
	return removed
}

// Servers returns the server keys, sorted.
func (c *Config) Servers() []string {
	if c == nil {
		return []string{}
	}
	return sortedKeys(c.Auths)
}

// Clone returns a deep copy of c (nil for nil).
func (c *Config) Clone() *Config {
	if c == nil {
		return nil
	}
	out := &Config{}
	if c.Auths != nil {
		out.Auths = make(map[string]Entry, len(c.Auths))
		for k, e := range c.Auths {
			out.Auths[k] = e // unexported parts are immutable and shared
		}
	}
	if c.extra != nil {
		out.extra = make(map[string]json.RawMessage, len(c.extra))
		for k, v := range c.extra {
			out.extra[k] = v
		}
	}
	return out
}

// UnknownKeys returns the top-level keys Config keeps but does not model
// (such as "credsStore" or "HttpHeaders"), sorted. Their values are kept
// verbatim and are not exposed.
func (c *Config) UnknownKeys() []string {
	if c == nil {
		return []string{}
	}
	return sortedKeys(c.extra)
}

// Equal reports whether a and b have the same server keys with equal
// entries (see Entry.Equal) and semantically equal unknown top-level keys. A
// nil Config equals an empty one.
func Equal(a, b *Config) bool {
	var aa, ba map[string]Entry
	var ax, bx map[string]json.RawMessage
	if a != nil {
		aa, ax = a.Auths, a.extra
	}
	if b != nil {
		ba, bx = b.Auths, b.extra
	}
	if len(aa) != len(ba) {
		return false
	}
	for k, e := range aa {
		o, ok := ba[k]
		if !ok || !e.Equal(o) {
			return false
		}
	}
	return rawMapsEqual(ax, bx)
}

// Equal is Equal(c, o), so go-cmp compares Configs by meaning.
func (c *Config) Equal(o *Config) bool { return Equal(c, o) }
