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
		if bv, ok := out.extra[k]; ok {
			out.extra[k] = mergeRaw(bv, v)
		} else {
			out.extra[k] = v
		}
	}
	return out
}

// MergeBytes merges two .dockerconfigjson documents: the result is
// byte-for-byte Marshal(Merge(Parse(base), Parse(overlay))), computed
// without building Entry values for entries it does not change. Errors name
// the document ("base" or "overlay") and wrap the *ParseError values Parse
// would return.
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

	top := mergeMembers(dedupe(bd.top), dedupe(od.top))
	keys := make([]string, len(top))
	vals := make(map[string][]byte, len(top))
	for i, m := range top {
		keys[i] = string(m.key)
		vals[keys[i]] = m.val
	}
	slices.Sort(keys)

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

// dedupe resolves repeated keys: the last value wins, at the first key's
// position (jq's and encoding/json's reading of duplicate keys).
func dedupe(ms []member) []member {
	if len(ms) < 2 {
		return ms
	}
	out := make([]member, 0, len(ms))
	pos := make(map[string]int, len(ms))
	for _, m := range ms {
		if i, ok := pos[string(m.key)]; ok {
			out[i].val = m.val
			continue
		}
		pos[string(m.key)] = len(out)
		out = append(out, m)
	}
	return out
}

// mergeMembers applies jq's `*` to two de-duplicated member lists: base
// order first, then keys new in overlay; a key in both gets mergeRaw.
func mergeMembers(base, overlay []member) []member {
	if len(overlay) == 0 {
		return base
	}
	out := make([]member, 0, len(base)+len(overlay))
	out = append(out, base...)
	for _, o := range overlay {
		found := false
		for i := range out[:len(base)] {
			if bytes.Equal(out[i].key, o.key) {
				out[i].val = mergeRaw(out[i].val, o.val)
				found = true
				break
			}
		}
		if !found {
			out = append(out, o)
		}
	}
	return out
}

// mergeRaw is jq's `a * b` on two JSON values: two objects merge
// recursively, otherwise b wins.
func mergeRaw(a, b []byte) []byte {
	ai, bi := skipSpace(a, 0), skipSpace(b, 0)
	if ai >= len(a) || bi >= len(b) || a[ai] != '{' || b[bi] != '{' {
		return b
	}
	ms := mergeMembers(dedupe(objMembers(a, ai)), dedupe(objMembers(b, bi)))
	out := []byte{'{'}
	for i, m := range ms {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendString(out, m.key)
		out = append(out, ':')
		out = append(out, m.val...)
	}
	return append(out, '}')
}

func objMembers(b []byte, i int) []member {
	var ms []member
	it := newObjIter(b, i)
	for {
		rawKey, ok := it.next()
		if !ok {
			return ms
		}
		ms = append(ms, member{key: decodeStr(rawKey), val: it.skip()})
	}
}
