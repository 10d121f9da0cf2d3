package dockerconfig

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Merge returns a new Config: base with overlay applied registry by
// registry. Every overlay entry replaces, whole, every base entry whose key
// denotes the same registry (equal keys, or keys equal after
// NormalizeServer, so "https://us.icr.io/v1/" and "us.icr.io" collide);
// every other base entry is kept. Unknown top-level keys are merged as jq's
// `*` does: overlay wins per key, and two objects are merged recursively.
// Neither input is modified; nil inputs count as empty.
//
// For registries that do not collide the result equals
// `jq -s '.[0] * .[1]'`; see the package documentation for the one
// deliberate difference.
func Merge(base, overlay *Config) *Config {
	out := base.Clone()
	if out == nil {
		out = &Config{}
	}
	if out.Auths == nil {
		out.Auths = make(map[string]Entry)
	}
	var ov map[string]Entry
	var ox map[string]json.RawMessage
	if overlay != nil {
		ov, ox = overlay.Auths, overlay.extra
	}
	norms := make(map[string]bool, len(ov))
	for k := range ov {
		if n, err := NormalizeServer(k); err == nil {
			norms[n] = true
		}
	}
	for k := range out.Auths {
		if _, ok := ov[k]; ok {
			delete(out.Auths, k)
			continue
		}
		if n, err := NormalizeServer(k); err == nil && norms[n] {
			delete(out.Auths, k)
		}
	}
	for k, e := range ov {
		out.Auths[k] = e
	}
	for k, v := range ox {
		if out.extra == nil {
			out.extra = make(map[string]json.RawMessage, len(ox))
		}
		out.extra[k] = mergeJSON(out.extra[k], v)
	}
	return out
}

// MergeBytes merges two .dockerconfigjson documents: the result is
// byte-for-byte Marshal(Merge(Parse(base), Parse(overlay))), computed
// without building Entry values for entries it does not change. Errors name
// the document ("base" or "overlay") and wrap the *ParseError values Parse
// would return. Merging the same overlay again gives the same bytes.
func MergeBytes(base, overlay []byte) ([]byte, error) {
	var bd, od docScan
	var scratch []byte
	berr := bd.load(base, false, &scratch)
	oerr := od.load(overlay, false, &scratch)
	if berr != nil || oerr != nil {
		var errs []error
		if berr != nil {
			errs = append(errs, fmt.Errorf("base document: %w", berr))
		}
		if oerr != nil {
			errs = append(errs, fmt.Errorf("overlay document: %w", oerr))
		}
		return nil, errors.Join(errs...)
	}

	// Drop base entries an overlay entry replaces.
	collides := func(norm []byte) bool {
		for i := range od.auths {
			if bytes.Equal(od.auths[i].norm, norm) {
				return true
			}
		}
		return false
	}
	if len(od.auths) > 16 {
		set := make(map[string]bool, len(od.auths))
		for i := range od.auths {
			set[string(od.auths[i].norm)] = true
		}
		collides = func(norm []byte) bool { return set[string(norm)] }
	}
	items := bd.auths[:0]
	for _, m := range bd.auths {
		if !collides(m.norm) {
			items = append(items, m)
		}
	}
	for _, m := range od.auths {
		m.ord += len(base) + 1 // after every base entry
		items = append(items, m)
	}
	// Sort by key; among equal keys (repeated in one document) the last wins.
	slices.SortFunc(items, func(a, b authMember) int {
		if c := bytes.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.ord, b.ord)
	})

	// Unknown top-level keys, merged as Merge merges them. A repeated key
	// counts once, with its last value.
	vals := make(map[string][]byte, len(bd.top)+len(od.top))
	for _, m := range bd.top {
		vals[string(m.key)] = m.val
	}
	last := make(map[string][]byte, len(od.top))
	for _, m := range od.top {
		last[string(m.key)] = m.val
	}
	for k, v := range last {
		vals[k] = mergeJSON(vals[k], v)
	}
	keys := sortedKeys(vals)

	writeAuths := func(dst []byte) []byte {
		dst = append(dst, '{')
		n := 0
		for i := range items {
			m := &items[i]
			if i+1 < len(items) && bytes.Equal(m.key, items[i+1].key) {
				continue // a later duplicate wins
			}
			if n > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, m.key)
			dst = append(dst, ':')
			if m.preserve {
				dst = appendCompact(dst, m.val)
			} else {
				e := materializeEntry(m.val, false, &scratch)
				dst = e.appendJSON(dst)
			}
			n++
		}
		return append(dst, '}')
	}
	out := appendTop(make([]byte, 0, len(base)+len(overlay)+64), keys,
		func(k string) []byte { return vals[k] }, writeAuths)
	if len(out) > MaxSize {
		return nil, &ParseError{Err: ErrTooLarge}
	}
	return out, nil
}

// mergeJSON is jq's `a * b` on two JSON values: when b is an object, the
// result is a (or {} if a is absent or not an object) with each member of b
// merged in recursively; otherwise it is b. Keys keep their order: a's
// first, then those new in b. A repeated key counts once, with its last
// value, at its first place, as jq and encoding/json read it; so every
// object merged here is written without repeats, and merging the same b
// again gives the same bytes.
func mergeJSON(a, b json.RawMessage) json.RawMessage {
	bo, ok := decodeObject(b)
	if !ok {
		return b
	}
	ao, ok := decodeObject(a)
	if !ok {
		ao = object{vals: map[string]json.RawMessage{}}
	}
	for _, k := range bo.keys {
		av, found := ao.vals[k]
		if !found {
			ao.keys = append(ao.keys, k)
		}
		ao.vals[k] = mergeJSON(av, bo.vals[k])
	}
	return ao.encode()
}

// object is a decoded JSON object: its keys in order of first appearance
// and, for each, the value it last appeared with.
type object struct {
	keys []string
	vals map[string]json.RawMessage
}

// decodeObject decodes raw if it is a JSON object.
func decodeObject(raw json.RawMessage) (object, bool) {
	if len(raw) == 0 {
		return object{}, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return object{}, false
	}
	o := object{vals: map[string]json.RawMessage{}}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return object{}, false
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return object{}, false
		}
		if _, seen := o.vals[k]; !seen {
			o.keys = append(o.keys, k)
		}
		o.vals[k] = v
	}
	return o, true
}

// encode writes o as a JSON object, keys in order. Values are as read;
// Marshal compacts the whole document.
func (o object) encode() json.RawMessage {
	out := []byte{'{'}
	for i, k := range o.keys {
		if i > 0 {
			out = append(out, ',')
		}
		key, _ := json.Marshal(k) // a string always encodes
		out = append(out, key...)
		out = append(out, ':')
		out = append(out, o.vals[k]...)
	}
	return append(out, '}')
}
