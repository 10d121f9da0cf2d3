package dockerconfig

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"
)

// benchDoc generates a document with n registries shaped like kubectl
// output (username, password, auth), about 180 bytes each, starting
// at registry number first.
func benchDoc(n, first int) []byte {
	var c Config
	for i := first; i < first+n; i++ {
		pass := fmt.Sprintf("%040d", i)
		c.Set(fmt.Sprintf("reg-%04d.example.io", i), Entry{Username: "iamapikey", Password: pass})
	}
	b, err := c.Marshal()
	if err != nil {
		panic(err)
	}
	return b
}

var (
	benchBase    = benchDoc(1000, 0)
	benchOverlay = benchDoc(10, 995) // 5 collide with the base, 5 are new
)

func TestBenchDocShape(t *testing.T) {
	if n := len(benchBase); n < 150_000 || n > 210_000 {
		t.Errorf("base is %d bytes, want about 180 KB", n)
	}
	c := mustParse(t, string(benchBase))
	e := c.Auths["reg-0001.example.io"]
	if e.Auth != base64.StdEncoding.EncodeToString([]byte(e.Username+":"+e.Password)) {
		t.Error("generated entries lack a matching auth")
	}
	got, err := MergeBytes(benchBase, benchOverlay)
	if err != nil {
		t.Fatal(err)
	}
	if m := mustParse(t, string(got)); len(m.Auths) != 1005 {
		t.Errorf("merged has %d registries, want 1005", len(m.Auths))
	}
}

func BenchmarkMergeBytes(b *testing.B) {
	b.SetBytes(int64(len(benchBase)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MergeBytes(benchBase, benchOverlay); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineRawMessage is the floor: decode the same base into
// map[string]json.RawMessage and encode it again.
func BenchmarkBaselineRawMessage(b *testing.B) {
	b.SetBytes(int64(len(benchBase)))
	b.ReportAllocs()
	for b.Loop() {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(benchBase, &m); err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineTyped decodes the same base into kubectl's document
// types (every entry's fields as strings) and encodes it again: what a
// plain program does with the document.
func BenchmarkBaselineTyped(b *testing.B) {
	b.SetBytes(int64(len(benchBase)))
	b.ReportAllocs()
	for b.Loop() {
		var d kubectlDockerConfigJSON
		if err := json.Unmarshal(benchBase, &d); err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseMarshal(b *testing.B) {
	b.SetBytes(int64(len(benchBase)))
	b.ReportAllocs()
	for b.Loop() {
		c, err := Parse(benchBase)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}
