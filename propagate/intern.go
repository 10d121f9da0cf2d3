package propagate

import (
	"maps"
	"slices"
	"strings"
	"sync"
)

// interner lets the cached objects share their equal label and
// annotation maps and their small repeated strings. Every copy of a rule
// carries the same labels and annotations as every other (the source's,
// plus the same copied-from, content hash and fingerprint), every service
// account of a rule has the same name, and most namespaces have the same
// few labels: without sharing, each namespace would hold its own copy of
// each.
//
// A shared map must never be changed: the informers' objects are read
// only (getCopy deep-copies what a reconcile changes), so none is.
// The interner holds at most internMax maps and strings; when full it
// starts again empty, so that a cluster of all-different labels costs no
// more than no interning at all.
type interner struct {
	mu   sync.Mutex
	maps map[string]map[string]string
	strs map[string]string
}

// internMax bounds each of the interner's tables.
const internMax = 1024

func newInterner() *interner {
	return &interner{maps: map[string]map[string]string{}, strs: map[string]string{}}
}

// stringMap returns a map equal to m that the interner shares (nil for
// an empty m).
func (in *interner) stringMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(m))
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(m[k])
		b.WriteByte(0)
	}
	id := b.String()
	in.mu.Lock()
	defer in.mu.Unlock()
	if shared, ok := in.maps[id]; ok {
		return shared
	}
	if len(in.maps) >= internMax {
		clear(in.maps)
	}
	shared := make(map[string]string, len(m))
	for k, v := range m {
		shared[in.stringLocked(k)] = in.stringLocked(v)
	}
	in.maps[id] = shared
	return shared
}

// string returns a string equal to s that the interner shares.
func (in *interner) string(s string) string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.stringLocked(s)
}

func (in *interner) stringLocked(s string) string {
	if shared, ok := in.strs[s]; ok {
		return shared
	}
	if len(in.strs) >= internMax {
		clear(in.strs)
	}
	in.strs[s] = s
	return s
}
