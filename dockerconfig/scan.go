package dockerconfig

import (
	"bytes"
	"encoding/json"
)

// This file holds a small, allocation-free tokenizer for JSON that has
// already been checked with json.Valid. It finds the byte spans of object
// members so that Parse and MergeBytes can keep the original bytes of every
// value they do not need to change.

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipString returns the index just after the string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return len(b)
		}
		j += k
		n := 0
		for p := j - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		j++
		if n%2 == 0 {
			return j
		}
	}
}

// skipValue returns the index just after the value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default:
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
			i++
		}
		return i
	}
}

// objIter walks the members of a valid JSON object.
type objIter struct {
	b     []byte
	i     int
	first bool
}

// newObjIter starts at b[i] == '{'.
func newObjIter(b []byte, i int) objIter { return objIter{b: b, i: i + 1, first: true} }

// next moves to the next member and returns its raw key (the bytes between
// the quotes, escapes not decoded). The value starts at it.i. ok is false
// after the closing brace, and it.i is then just past it.
func (it *objIter) next() (rawKey []byte, ok bool) {
	b := it.b
	i := skipSpace(b, it.i)
	if b[i] == '}' {
		it.i = i + 1
		return nil, false
	}
	if !it.first {
		i = skipSpace(b, i+1) // past ','
	}
	it.first = false
	end := skipString(b, i)
	rawKey = b[i+1 : end-1]
	i = skipSpace(b, end)    // at ':'
	it.i = skipSpace(b, i+1) // at the value
	return rawKey, true
}

// skip returns the current value's span and moves past it.
func (it *objIter) skip() []byte {
	start := it.i
	it.i = skipValue(it.b, start)
	return it.b[start:it.i]
}

// decodeStr returns the decoded contents of a JSON string given without its
// quotes. Plain ASCII without escapes is returned as is (no allocation);
// anything else is decoded the way encoding/json does (invalid UTF-8 becomes
// U+FFFD).
func decodeStr(raw []byte) []byte {
	for _, c := range raw {
		if c == '\\' || c >= 0x80 {
			return decodeSlow(raw)
		}
	}
	return raw
}

func decodeSlow(raw []byte) []byte {
	q := make([]byte, 0, len(raw)+2)
	q = append(q, '"')
	q = append(q, raw...)
	q = append(q, '"')
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		// Unreachable for spans of a valid document.
		return raw
	}
	return []byte(s)
}
