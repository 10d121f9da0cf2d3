package dockerconfig

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/registrykit/registrykit/internal/redact"
)

// MaxSize is the largest document Parse accepts and Marshal produces: the
// Kubernetes limit for a Secret's data.
const MaxSize = 1 << 20

// Kubernetes secret types and data keys understood by ParseSecret (the
// values of corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey,
// corev1.SecretTypeDockercfg and corev1.DockerConfigKey).
const (
	SecretTypeDockerConfigJSON = "kubernetes.io/dockerconfigjson"
	DockerConfigJSONKey        = ".dockerconfigjson"
	SecretTypeDockercfg        = "kubernetes.io/dockercfg"
	DockercfgKey               = ".dockercfg"
)

// Parse reads a .dockerconfigjson document: an object with an "auths"
// object mapping server keys to entries. Every other top-level key is kept
// verbatim. All problems are reported at once (errors.Join of *ParseError).
// Parse copies data; the caller may reuse it.
func Parse(data []byte) (*Config, error) {
	return parse(data, false)
}

// ParseLegacy reads a .dockercfg document: a bare object mapping server keys
// to entries. A document with an "auths" key is refused with ErrWrongFormat
// (it is almost certainly a .dockerconfigjson handed to the wrong parser).
func ParseLegacy(data []byte) (*Config, error) {
	return parse(data, true)
}

// ParseSecret parses the data of a Kubernetes Secret the way the kubelet
// picks it: type "kubernetes.io/dockerconfigjson" reads key
// ".dockerconfigjson" with Parse; type "kubernetes.io/dockercfg" reads key
// ".dockercfg" with ParseLegacy. A missing or empty key is a *ParseError
// wrapping ErrMissingKey; any other type is a *SecretTypeError.
func ParseSecret(secretType string, data map[string][]byte) (*Config, error) {
	var key string
	var legacy bool
	switch secretType {
	case SecretTypeDockerConfigJSON:
		key = DockerConfigJSONKey
	case SecretTypeDockercfg:
		key, legacy = DockercfgKey, true
	default:
		return nil, &SecretTypeError{Type: secretType}
	}
	b := data[key]
	if len(b) == 0 {
		return nil, &ParseError{Field: key, Err: ErrMissingKey}
	}
	return parse(b, legacy)
}

func parse(data []byte, legacy bool) (*Config, error) {
	data = bytes.Clone(data)
	var d docScan
	var scratch []byte
	if err := d.load(data, legacy, &scratch); err != nil {
		return nil, err
	}
	c := &Config{Auths: make(map[string]Entry, len(d.auths))}
	for _, m := range d.auths {
		c.Auths[string(m.key)] = materializeEntry(m.val, m.preserve, &scratch)
	}
	for _, m := range d.top {
		if c.extra == nil {
			c.extra = make(map[string]json.RawMessage, len(d.top))
		}
		c.extra[string(m.key)] = json.RawMessage(m.val)
	}
	return c, nil
}

// member is an object member: decoded key and raw value span.
type member struct {
	key []byte
	val []byte
}

// authMember is one entry of "auths" as found by docScan.
type authMember struct {
	key      []byte // decoded server key
	norm     []byte // NormalizeServer(key)
	val      []byte // the entry object's bytes
	ord      int    // position, for last-wins de-duplication
	preserve bool   // may be written back as is
}

// docScan is the result of one pass over a document.
type docScan struct {
	top      []member     // unknown top-level members, document order
	auths    []authMember // entries of the last "auths", document order
	hasAuths bool
	errs     []error // document-level problems
	authErrs []error // problems inside the last "auths"
}

// load checks and scans data. The returned error joins every problem.
func (d *docScan) load(data []byte, legacy bool, scratch *[]byte) error {
	if len(data) > MaxSize {
		return &ParseError{Err: ErrTooLarge}
	}
	if !json.Valid(data) {
		return &ParseError{Err: ErrNotJSON}
	}
	d.scan(data, legacy, scratch)
	if len(d.errs) == 0 && len(d.authErrs) == 0 {
		return nil
	}
	return errors.Join(append(d.errs, d.authErrs...)...)
}

func (d *docScan) scan(b []byte, legacy bool, scratch *[]byte) {
	i := skipSpace(b, 0)
	if b[i] != '{' {
		d.errs = append(d.errs, &ParseError{Err: ErrNotObject})
		return
	}
	if legacy {
		d.hasAuths = true
		d.scanAuths(b, i, true, scratch)
		return
	}
	it := newObjIter(b, i)
	for {
		rawKey, ok := it.next()
		if !ok {
			break
		}
		key := decodeStr(rawKey)
		if string(key) != "auths" {
			d.top = append(d.top, member{key: key, val: it.skip()})
			continue
		}
		// A repeated "auths" replaces the earlier one, as with encoding/json.
		d.auths, d.authErrs, d.hasAuths = d.auths[:0], nil, false
		switch b[it.i] {
		case '{':
			d.hasAuths = true
			it.i = d.scanAuths(b, it.i, false, scratch)
		case 'n': // null: as if absent
			it.skip()
		default:
			it.skip()
			d.hasAuths = true
			d.authErrs = append(d.authErrs, &ParseError{Field: "auths", Err: ErrNotObject})
		}
	}
	if !d.hasAuths {
		d.errs = append(d.errs, &ParseError{Field: "auths", Err: ErrNoAuths})
	}
}

// scanAuths scans the server → entry object at b[i] and returns its end.
func (d *docScan) scanAuths(b []byte, i int, legacy bool, scratch *[]byte) int {
	if d.auths == nil {
		d.auths = make([]authMember, 0, len(b)/128+4)
	}
	it := newObjIter(b, i)
	for {
		rawKey, ok := it.next()
		if !ok {
			return it.i
		}
		key := decodeStr(rawKey)
		m := authMember{key: key, ord: len(d.auths)}
		if legacy && string(key) == "auths" {
			d.authErrs = append(d.authErrs, &ParseError{Registry: "auths", Err: ErrWrongFormat})
		}
		norm, err := normalizeBytes(key)
		if err != nil {
			d.authErrs = append(d.authErrs, err)
		}
		m.norm = norm
		if b[it.i] != '{' {
			it.skip()
			d.authErrs = append(d.authErrs, &ParseError{Registry: redact.Userinfo(string(key)), Err: ErrNotObject})
			continue
		}
		start := it.i
		end, preserve, probs := scanEntry(b, start, scratch)
		it.i = end
		for _, p := range probs {
			if p.err != nil {
				d.authErrs = append(d.authErrs, &ParseError{Registry: redact.Userinfo(string(key)), Field: fieldNames[p.field], Err: p.err})
			}
		}
		m.val, m.preserve = b[start:end], preserve
		d.auths = append(d.auths, m)
	}
}

type fieldProblem struct {
	field int
	err   error
}

// scanEntry validates the entry object at b[i] == '{' without allocating
// (unless it contains escapes or errors) and returns its end, whether it
// can be written back as read, and its problems.
//
// An entry is written back as read when it has a non-empty "auth" (which
// consumers read, and which Parse decodes into Username and Password), or
// when it has neither username nor password. One with a username or
// password but no "auth" is re-encoded so that "auth" gets written.
func scanEntry(b []byte, i int, scratch *[]byte) (end int, preserve bool, probs []fieldProblem) {
	var vals [numFields][]byte // raw string contents; nil if absent or null
	it := newObjIter(b, i)
	for {
		rawKey, ok := it.next()
		if !ok {
			break
		}
		f := fieldIndex(rawKey)
		if f < 0 && bytes.IndexByte(rawKey, '\\') >= 0 {
			f = fieldIndex(decodeStr(rawKey))
		}
		v := it.skip()
		if f < 0 {
			continue
		}
		switch v[0] {
		case '"':
			vals[f] = v[1 : len(v)-1]
		case 'n': // null leaves the field as it was, as with encoding/json
		default:
			probs = append(probs, fieldProblem{f, ErrNotString})
		}
	}
	end = it.i
	if a := vals[fAuth]; len(a) > 0 {
		_, _, buf, err := decodeAuth(*scratch, decodeStr(a))
		*scratch = buf
		if err != nil {
			probs = append(probs, fieldProblem{fAuth, err})
		}
		return end, true, probs
	}
	if len(vals[fUsername]) == 0 && len(vals[fPassword]) == 0 {
		return end, true, probs
	}
	if bytes.IndexByte(decodeStr(vals[fUsername]), ':') >= 0 {
		probs = append(probs, fieldProblem{fUsername, errUserColon})
	}
	return end, false, probs
}

// materializeEntry builds the Entry for a scanned, valid entry object.
func materializeEntry(val []byte, preserve bool, scratch *[]byte) Entry {
	var e Entry
	var f [numFields]string
	it := newObjIter(val, 0)
	for {
		rawKey, ok := it.next()
		if !ok {
			break
		}
		key := decodeStr(rawKey)
		v := it.skip()
		idx := fieldIndex(key)
		if idx < 0 {
			if e.extra == nil {
				e.extra = make(map[string]json.RawMessage)
			}
			e.extra[string(key)] = json.RawMessage(v)
			continue
		}
		if v[0] == '"' {
			f[idx] = string(decodeStr(v[1 : len(v)-1]))
		}
	}
	if f[fAuth] != "" {
		// "auth" is what the kubelet, CRI-O and the Docker CLI read, so it
		// wins over username/password fields that disagree with it.
		u, p, buf, err := decodeAuth(*scratch, []byte(f[fAuth]))
		*scratch = buf
		if err == nil {
			f[fUsername], f[fPassword] = string(u), string(p)
		}
	}
	e.Username, e.Password, e.Email, e.Auth, e.IdentityToken, e.RegistryToken = f[0], f[1], f[2], f[3], f[4], f[5]
	if preserve {
		e.src = &entrySource{raw: val, snap: f}
	}
	return e
}
