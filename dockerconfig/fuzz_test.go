package dockerconfig

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The seed corpus lives in testdata/fuzz/FuzzParse and testdata/fuzz/FuzzMerge.

// FuzzParse: whatever Parse accepts, Marshal writes, Parse reads back Equal,
// and Marshal is then stable; MergeBytes with an empty overlay gives the
// same bytes as Marshal.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"auths":{"us.icr.io":{"username":"iamapikey","password":"k","auth":"aWFtYXBpa2V5Oms="}}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		c, err := Parse(doc)
		if err != nil {
			return
		}
		out, err := c.Marshal()
		if err != nil {
			t.Fatalf("Parse ok but Marshal failed: %v", err)
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(c)) failed: %v\n%s", err, out)
		}
		if !Equal(c, back) {
			t.Fatalf("Parse(Marshal(c)) not Equal c\n in: %q\nout: %q", doc, out)
		}
		again, err := back.Marshal()
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("Marshal not stable: %q then %q (%v)", out, again, err)
		}
		merged, err := MergeBytes(doc, []byte(`{"auths":{}}`))
		if err != nil || !bytes.Equal(merged, out) {
			t.Fatalf("MergeBytes(doc, empty) = %q, %v; want %q", merged, err, out)
		}
	})
}

// FuzzMerge: MergeBytes agrees with Marshal(Merge(Parse, Parse)), merging
// the same overlay again changes no byte, and when no registries collide
// the result agrees with jq's `.[0] * .[1]` on the Marshal outputs.
func FuzzMerge(f *testing.F) {
	f.Add([]byte(`{"auths":{"a.io":{"auth":"dTpw"}},"x":{"a":1}}`), []byte(`{"auths":{"https://a.io/v1/":{"auth":"dTpwYQ"}},"x":{"b":2}}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		got, err := MergeBytes(a, b)
		ca, erra := Parse(a)
		cb, errb := Parse(b)
		if (err == nil) != (erra == nil && errb == nil) {
			t.Fatalf("MergeBytes err %v; Parse errs %v, %v", err, erra, errb)
		}
		if err != nil {
			return
		}
		m := Merge(ca, cb)
		want, werr := m.Marshal()
		if werr != nil {
			if len(got) > 0 {
				t.Fatalf("Marshal(Merge) failed (%v) but MergeBytes gave %q", werr, got)
			}
			return
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("MergeBytes = %q\nMarshal(Merge) = %q", got, want)
		}
		if again, err := MergeBytes(got, b); err != nil || !bytes.Equal(again, got) {
			t.Fatalf("merging the overlay again = %q, %v; want %q", again, err, got)
		}
		for k := range cb.Auths {
			for j := range ca.Auths {
				if sameRegistry(k, j) {
					return // a collision: Merge deliberately differs from jq
				}
			}
		}
		ma, _ := ca.Marshal()
		mb, _ := cb.Marshal()
		if ma == nil || mb == nil {
			return
		}
		model := jqMerge(decodeJSON(t, ma), decodeJSON(t, mb))
		if diff := cmp.Diff(model, decodeJSON(t, got)); diff != "" {
			t.Fatalf("MergeBytes vs jq model (-want +got):\n%s", diff)
		}
	})
}
