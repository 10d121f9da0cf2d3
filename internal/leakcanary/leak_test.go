package leakcanary_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// ---- what is looked for ----

// needle is one credential, or a recognisable start of credentials (a
// prefix), to look for. Its value never appears in a failure message.
type needle struct {
	name  string // what it is, e.g. "caller API key"
	value string
}

// form is one way a needle can appear in text.
type form struct {
	needle string // needle.name
	how    string // "raw", "base64 offset 1", ...
	text   string
}

// jwtPattern matches a JSON Web Token, such as an IAM access token: two
// base64url segments that both start with `{"`.
var jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{6,}\.eyJ[A-Za-z0-9_-]{6,}`)

// minForm is the shortest text a form may have; shorter ones would match by
// chance.
const minForm = 8

// forms returns the ways v can appear in output:
//
//   - raw (a value of letters, digits and '-' is unchanged by %q, JSON
//     and Go string escaping);
//   - base64, standard and URL alphabets, at each of the three byte
//     offsets v can start at inside a longer encoded text such as
//     base64("iamapikey:" + key): base64 maps each aligned group of three
//     bytes to the same four characters wherever it is, so the encoding of
//     v[j:] cut to whole groups is in the output whatever precedes v, for
//     the j that aligns v[j] with a group;
//   - hex (%x of a []byte) and decimal bytes (%v of a []byte).
func forms(n needle) []form {
	v := n.value
	out := []form{{n.name, "raw", v}}
	for j := range 3 {
		if j >= len(v) {
			break
		}
		sub := v[j:]
		sub = sub[:len(sub)/3*3]
		for _, enc := range []struct {
			name string
			enc  *base64.Encoding
		}{{"base64", base64.StdEncoding}, {"base64url", base64.URLEncoding}} {
			text := enc.enc.EncodeToString([]byte(sub))
			if len(text) >= minForm && !slices.ContainsFunc(out, func(f form) bool { return f.text == text }) {
				out = append(out, form{n.name, fmt.Sprintf("%s at byte offset %d", enc.name, (3-j)%3), text})
			}
		}
	}
	out = append(out,
		form{n.name, "hex", hex.EncodeToString([]byte(v))},
		form{n.name, "decimal bytes", strings.Trim(fmt.Sprint([]byte(v)), "[]")})
	return out
}

// hit is one needle found in one text.
type hit struct {
	where, needle, how, context string
}

func (h hit) String() string {
	return fmt.Sprintf("%s: %s (%s) in …%s…", h.where, h.needle, h.how, h.context)
}

// scanner looks for needles (and JWTs) in texts.
type scanner struct {
	forms []form
	// answers: the texts are answers that carry an access token by
	// design (a credential provider's response); JWTs are not looked for.
	answers bool
}

func newScanner(needles ...needle) *scanner {
	sc := &scanner{}
	for _, n := range needles {
		if len(n.value) < minForm {
			panic(fmt.Sprintf("needle %s is too short to look for", n.name))
		}
		sc.forms = append(sc.forms, forms(n)...)
	}
	return sc
}

// scan returns every needle form found in text. The context of a hit has
// the match itself replaced, so that a failure message does not print the
// credential either.
func (sc *scanner) scan(where, text string) []hit {
	var hits []hit
	for _, f := range sc.forms {
		if i := strings.Index(text, f.text); i >= 0 {
			hits = append(hits, hit{where, f.needle, f.how, around(text, i, len(f.text))})
		}
	}
	if loc := jwtPattern.FindStringIndex(text); loc != nil && !sc.answers {
		hits = append(hits, hit{where, "JWT (access token)", "raw", around(text, loc[0], loc[1]-loc[0])})
	}
	return hits
}

// around returns up to 40 characters either side of text[i:i+n], with the
// match, and the credential characters that follow it (the rest of a key
// found by its prefix), replaced by <MATCH>.
func around(text string, i, n int) string {
	end := i + n
	for end < len(text) && strings.IndexByte(credentialChars, text[end]) >= 0 {
		end++
	}
	from, to := max(0, i-40), min(len(text), end+40)
	return strings.ReplaceAll(text[from:i]+"<MATCH>"+text[end:to], "\n", `\n`)
}

// credentialChars are the characters of API keys, tokens and base64.
const credentialChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/="

// ---- what is scanned ----

// corpus collects every text a user could see: error strings, log records,
// formatted values.
type corpus struct {
	mu      sync.Mutex
	texts   []text
	records int // log records received
}

type text struct{ where, s string }

func (c *corpus) add(where, s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.texts = append(c.texts, text{where, s})
}

// check fails t for every hit of sc in the corpus, and unless the corpus
// holds at least minTexts texts (so that an empty corpus cannot pass).
func (c *corpus) check(t *testing.T, sc *scanner, minTexts int) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.texts) < minTexts {
		t.Errorf("only %d texts scanned, want at least %d: the scenarios did not run", len(c.texts), minTexts)
	}
	hits := c.hitsLocked(sc)
	for i, h := range hits {
		if i == 30 {
			t.Errorf("… and %d more leaks", len(hits)-30)
			break
		}
		t.Errorf("LEAK %s", h)
	}
}

func (c *corpus) hitsLocked(sc *scanner) []hit {
	var hits []hit
	for _, x := range c.texts {
		hits = append(hits, sc.scan(x.where, x.s)...)
	}
	return hits
}

// note records every way a user could print vs: %v, %+v, %#v, %s, %q,
// JSON; for an error also each error of its wrapped tree; and the same for
// every value reachable through exported fields, elements and pointers
// (which fmt prints as addresses only). Credential documents are no
// exception: json.Marshal of a dockerconfig.Config or Entry is redacted
// too (Config.Marshal is the explicit way to the document).
func (c *corpus) note(where string, vs ...any) {
	for i, v := range vs {
		w := &walker{c: c, where: fmt.Sprintf("%s [%d]", where, i), seen: map[uintptr]bool{}}
		w.walk(reflect.ValueOf(v), 0, "")
		if v != nil {
			if b, err := json.Marshal(v); err == nil {
				c.add(w.where+" json", string(b))
			}
		}
	}
}

type walker struct {
	c     *corpus
	where string
	seen  map[uintptr]bool
}

var (
	errorType     = reflect.TypeFor[error]()
	stringerType  = reflect.TypeFor[fmt.Stringer]()
	formatterType = reflect.TypeFor[fmt.Formatter]()
	loggerType    = reflect.TypeFor[*slog.Logger]()
	contextType   = reflect.TypeFor[context.Context]()
)

// format records the fmt forms of v, found at path (a Go expression
// suffix such as ".Steps[0].Err").
func (w *walker) format(v any, path string) {
	w.c.add(w.where+path, fmt.Sprintf("%v\n%+v\n%#v\n%s\n%q", v, v, v, v, v))
}

// walk formats v and what it reaches. A value with its own formatting
// method (error, Stringer, Formatter) is printed through it and not looked
// into: its fields are what it chose not to print, as fmt does.
func (w *walker) walk(v reflect.Value, depth int, path string) {
	if !v.IsValid() || depth > 8 {
		return
	}
	if v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	t := v.Type()
	if t == loggerType || t.Implements(contextType) {
		return
	}
	switch t.Kind() {
	case reflect.Func, reflect.Chan, reflect.UnsafePointer, reflect.Uintptr:
		return
	case reflect.Pointer, reflect.Map, reflect.Slice:
		if v.IsNil() {
			return
		}
		if t.Kind() == reflect.Pointer {
			if w.seen[v.Pointer()] {
				return
			}
			w.seen[v.Pointer()] = true
		}
	}
	if !v.CanInterface() {
		return
	}
	if t.Implements(errorType) {
		w.errorTree(v.Interface().(error), 0, path)
		return
	}
	if t.Implements(stringerType) || t.Implements(formatterType) {
		w.format(v.Interface(), path)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		w.walk(v.Elem(), depth+1, path)
	case reflect.Struct:
		w.format(v.Interface(), path)
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				w.walk(v.Field(i), depth+1, path+"."+f.Name)
			}
		}
	case reflect.Slice, reflect.Array:
		w.format(v.Interface(), path)
		if t.Elem().Kind() == reflect.Uint8 {
			return
		}
		for i := range min(v.Len(), 1000) {
			w.walk(v.Index(i), depth+1, fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		w.format(v.Interface(), path)
		for _, k := range v.MapKeys() {
			w.walk(k, depth+1, path+"[key]")
			w.walk(v.MapIndex(k), depth+1, fmt.Sprintf("%s[%v]", path, k))
		}
	default:
		w.format(v.Interface(), path)
	}
}

// errorTree records err and every error it wraps (Unwrap() error and
// Unwrap() []error), each printed with every verb, and walks the exported
// fields of error structs (a typed error's fields are what errors.As
// callers print).
func (w *walker) errorTree(err error, depth int, path string) {
	if err == nil || depth > 20 {
		return
	}
	path += fmt.Sprintf("(%T)", err)
	w.c.add(w.where+path+" error", fmt.Sprintf("%s\n%v\n%+v\n%#v\n%q", err.Error(), err, err, err, err))
	v := reflect.ValueOf(err)
	for v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() == reflect.Struct {
		for i := range v.NumField() {
			f := v.Field(i)
			if !v.Type().Field(i).IsExported() || !f.CanInterface() {
				continue
			}
			if f.Type().Implements(errorType) || (f.Kind() == reflect.Interface && !f.IsNil() && f.Elem().Type().Implements(errorType)) {
				continue // reached through Unwrap below, or printed with err
			}
			w.walk(f, 1, path+"."+v.Type().Field(i).Name)
		}
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		w.errorTree(u.Unwrap(), depth+1, path+".Unwrap()")
	case interface{ Unwrap() []error }:
		for i, e := range u.Unwrap() {
			w.errorTree(e, depth+1, fmt.Sprintf("%s.Unwrap()[%d]", path, i))
		}
	}
}

// ---- the capturing slog.Handler ----

// captureHandler records every log record at every level into a corpus,
// each attribute (the handler's and the record's, with group prefixes)
// resolved the way slog resolves LogValuers and, for values of kind Any,
// printed with every verb and as JSON.
type captureHandler struct {
	c      *corpus
	where  string
	prefix string
	attrs  []string
}

func newCaptureLogger(c *corpus, where string) *slog.Logger {
	return slog.New(&captureHandler{c: c, where: where})
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	for _, a := range h.attrs {
		b.WriteString(" " + a)
	}
	r.Attrs(func(a slog.Attr) bool {
		for _, s := range renderAttr(h.prefix, a) {
			b.WriteString(" " + s)
		}
		return true
	})
	h.c.mu.Lock()
	h.c.records++
	h.c.mu.Unlock()
	h.c.add(h.where+" log", b.String())
	return nil
}

func (h *captureHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.attrs = slices.Clone(h.attrs)
	for _, a := range as {
		n.attrs = append(n.attrs, renderAttr(h.prefix, a)...)
	}
	return &n
}

func (h *captureHandler) WithGroup(name string) slog.Handler {
	n := *h
	n.prefix = h.prefix + name + "."
	return &n
}

// renderAttr renders a resolved attribute; a group becomes one entry per
// member.
func renderAttr(prefix string, a slog.Attr) []string {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		var out []string
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, m := range v.Group() {
			out = append(out, renderAttr(p, m)...)
		}
		return out
	}
	s := v.String()
	if v.Kind() == slog.KindAny {
		x := v.Any()
		s = fmt.Sprintf("%v|%+v|%#v", x, x, x)
		if err, ok := x.(error); ok && err != nil {
			s += "|" + err.Error()
		}
		if b, err := json.Marshal(x); err == nil {
			s += "|" + string(b)
		}
	}
	return []string{prefix + a.Key + "=" + s}
}

// logged records what log/slog's own text and JSON handlers write for
// args (key-value pairs as for Logger.Info): as record attributes, inside
// a group and as logger attributes. The text handler prints values with
// %+v (or MarshalText), the JSON handler with json.Marshal, each resolving
// only a top-level LogValuer, so nested values go through their fmt and
// JSON methods.
func (c *corpus) logged(where string, args ...any) {
	for name, h := range map[string]func(*bytes.Buffer) slog.Handler{
		"slog text": func(b *bytes.Buffer) slog.Handler {
			return slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})
		},
		"slog JSON": func(b *bytes.Buffer) slog.Handler {
			return slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})
		},
	} {
		var b bytes.Buffer
		log := slog.New(h(&b))
		log.Info("record", args...)
		log.Info("group", slog.Group("g", args...))
		log.With(args...).Info("with")
		c.add(where+" "+name, b.String())
	}
}

// ---- the canary can fail ----

// TestScannerFindsEveryForm is the negative control of the scanner: a
// sentinel printed in each way the canary claims to find is found, and
// text without it is clean.
func TestScannerFindsEveryForm(t *testing.T) {
	const secret = "LEAKCANARY-control-0123456789"
	sc := newScanner(needle{"control", secret})
	for _, prefix := range []string{"", "u:", "iamapikey:", "x", "xy", "xyz"} {
		auth := base64.StdEncoding.EncodeToString([]byte(prefix + secret))
		if len(sc.scan("auth", `{"auth":"`+auth+`"}`)) == 0 {
			t.Errorf("base64(%q + secret) not found", prefix)
		}
		url := base64.RawURLEncoding.EncodeToString([]byte(prefix + secret + "?"))
		if len(sc.scan("auth", url)) == 0 {
			t.Errorf("base64url(%q + secret) not found", prefix)
		}
	}
	for name, s := range map[string]string{
		"raw":           "password=" + secret + ".",
		"%q":            fmt.Sprintf("%q", secret),
		"%x":            fmt.Sprintf("%x", []byte("k="+secret)),
		"%v of []byte":  fmt.Sprintf("%v", map[string][]byte{"d": []byte("{" + secret + "}")}),
		"JSON string":   mustJSON(t, map[string]string{"password": secret}),
		"JWT":           "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJpYW1faWQiOiJ4In0.c2ln",
		"JSON of bytes": mustJSON(t, []byte("xy"+secret)), // base64 at offset 2
	} {
		if len(sc.scan(name, s)) == 0 {
			t.Errorf("%s: not found in %q", name, s)
		}
	}
	if hits := sc.scan("clean", "LEAKCANARY-control-012345678 and base64 "+base64.StdEncoding.EncodeToString([]byte("LEAKCANARY"))); len(hits) != 0 {
		t.Errorf("false positive: %v", hits)
	}
	for _, h := range sc.scan("w", "a "+secret+" b") {
		if strings.Contains(h.String(), secret) {
			t.Errorf("a hit prints the credential: %s", h)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// leakyError prints a credential through a field that fmt does not show:
// only the error tree walk and the field walk see it.
type leakyError struct {
	Detail string
	err    error
}

func (e *leakyError) Error() string { return "failed: " + e.Detail }
func (e *leakyError) Unwrap() error { return e.err }

type leakyValuer struct{ v string }

// quoteLeaky prints its value only for %q.
type quoteLeaky struct{ v string }

func (l quoteLeaky) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", l.v)
		return
	}
	fmt.Fprint(f, "[hidden]")
}

// jsonLeaky prints redacted but marshals its value.
type jsonLeaky struct{ v string }

func (l jsonLeaky) String() string               { return "[hidden]" }
func (l jsonLeaky) MarshalJSON() ([]byte, error) { return json.Marshal(l.v) }

// textLeaky prints and marshals redacted, but slog's text handler writes
// its MarshalText.
type textLeaky struct{ v string }

func (l textLeaky) String() string               { return "[hidden]" }
func (l textLeaky) MarshalJSON() ([]byte, error) { return []byte(`"[hidden]"`), nil }
func (l textLeaky) MarshalText() ([]byte, error) { return []byte(l.v), nil }

func (l leakyValuer) LogValue() slog.Value { return slog.StringValue(l.v) }

// TestCorpusCatchesLeaks is the negative control of the collection: a
// credential that leaks through each channel the canary watches — a nested
// error, a field behind a pointer, a slog attribute of each kind, a
// LogValuer, a handler attribute, a group, the %q verb alone, JSON alone at
// depth 3, slog's own text and JSON handlers — is found.
func TestCorpusCatchesLeaks(t *testing.T) {
	const secret = "LEAKCANARY-control-9876543210"
	sc := newScanner(needle{"control", secret})
	type inner struct{ Token string }
	type outer struct {
		Name  string
		Inner *inner
	}
	cases := map[string]func(c *corpus){
		"wrapped error": func(c *corpus) {
			c.note("e", fmt.Errorf("apply: %w", errors.Join(errors.New("x"), &leakyError{Detail: "d", err: errors.New("key " + secret)})))
		},
		"error field": func(c *corpus) {
			c.note("e", fmt.Errorf("apply: %w", &leakyError{Detail: secret}))
		},
		"pointer field": func(c *corpus) { c.note("v", []outer{{Name: "a", Inner: &inner{Token: secret}}}) },
		"map of bytes":  func(c *corpus) { c.note("v", map[string][]byte{"k": []byte(secret)}) },
		"slog string":   func(c *corpus) { newCaptureLogger(c, "l").Debug("m", "k", secret) },
		"slog any":      func(c *corpus) { newCaptureLogger(c, "l").Info("m", "v", &outer{Inner: &inner{Token: secret}}) },
		"slog error":    func(c *corpus) { newCaptureLogger(c, "l").Error("m", "err", &leakyError{Detail: secret}) },
		"slog valuer":   func(c *corpus) { newCaptureLogger(c, "l").Warn("m", "k", leakyValuer{secret}) },
		"slog with":     func(c *corpus) { newCaptureLogger(c, "l").With("k", secret).Info("m") },
		"slog group": func(c *corpus) {
			newCaptureLogger(c, "l").WithGroup("g").Info("m", slog.Group("h", "k", leakyValuer{secret}))
		},
		// Only the %q form shows it.
		"%q verb": func(c *corpus) { c.note("v", []any{quoteLeaky{secret}}) },
		// Only JSON shows it, at depth 3 behind redacting fmt methods.
		"JSON at depth": func(c *corpus) {
			c.note("v", struct{ A struct{ B []jsonLeaky } }{struct{ B []jsonLeaky }{[]jsonLeaky{{secret}}}})
		},
		"slog text handler": func(c *corpus) { c.logged("l", "k", textLeaky{secret}) },
		"slog JSON handler": func(c *corpus) { c.logged("l", "k", []struct{ Token string }{{secret}}) },
	}
	for name, leak := range cases {
		c := &corpus{}
		leak(c)
		found := false
		for _, x := range c.texts {
			found = found || len(sc.scan(x.where, x.s)) > 0
		}
		if !found {
			t.Errorf("%s: the leak was not found", name)
		}
	}
}
