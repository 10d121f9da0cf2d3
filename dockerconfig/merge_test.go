package dockerconfig

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMerge(t *testing.T) {
	tests := []struct {
		name, base, overlay, want string
	}{
		{
			name:    "disjoint registries are unioned",
			base:    `{"auths":{"quay.io":{"auth":"dTpw","email":"q"}}}`,
			overlay: `{"auths":{"us.icr.io":{"username":"iamapikey","password":"k","auth":"aWFtYXBpa2V5Oms="}}}`,
			want:    `{"auths":{"quay.io":{"auth":"dTpw","email":"q"},"us.icr.io":{"username":"iamapikey","password":"k","auth":"aWFtYXBpa2V5Oms="}}}`,
		},
		{
			name:    "same registry is replaced whole (no stale auth or email)",
			base:    `{"auths":{"r.io":{"auth":"b2xkOm9sZA==","email":"old@x","serveraddress":"r.io"}}}`,
			overlay: `{"auths":{"r.io":{"username":"new","password":"pw"}}}`,
			want:    `{"auths":{"r.io":{"username":"new","password":"pw","auth":"bmV3OnB3"}}}`,
		},
		{
			name:    "equivalent keys collide",
			base:    `{"auths":{"https://us.icr.io/v1/":{"auth":"b2xkOm9sZA=="},"us.icr.io/v2/":{"auth":"b2xkOm9sZA=="},"us.icr.io/team":{"auth":"dTpw"}}}`,
			overlay: `{"auths":{"us.icr.io":{"auth":"dTpw"}}}`,
			want:    `{"auths":{"us.icr.io":{"auth":"dTpw"},"us.icr.io/team":{"auth":"dTpw"}}}`,
		},
		{
			name:    "unknown top-level keys: overlay wins per key, objects merge deeply",
			base:    `{"auths":{},"credsStore":"desktop","HttpHeaders":{"A":"1","B":{"x":1,"y":2}},"keep":true}`,
			overlay: `{"auths":{},"credsStore":"pass","HttpHeaders":{"B":{"y":3},"C":"3"},"new":[1]}`,
			want:    `{"HttpHeaders":{"A":"1","B":{"x":1,"y":3},"C":"3"},"auths":{},"credsStore":"pass","keep":true,"new":[1]}`,
		},
		{
			name:    "non-object overlay value replaces an object",
			base:    `{"auths":{},"x":{"a":1}}`,
			overlay: `{"auths":{},"x":null}`,
			want:    `{"auths":{},"x":null}`,
		},
		{
			name:    "empty overlay keeps base as read",
			base:    `{"auths":{"b.io":{"email":"e","auth":"dTpw"},"a.io":{"identitytoken":"t"}}}`,
			overlay: `{"auths":{}}`,
			want:    `{"auths":{"a.io":{"identitytoken":"t"},"b.io":{"email":"e","auth":"dTpw"}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, overlay := mustParse(t, tt.base), mustParse(t, tt.overlay)
			baseBefore, overlayBefore := mustMarshal(t, base), mustMarshal(t, overlay)
			got := mustMarshal(t, Merge(base, overlay))
			if got != tt.want {
				t.Errorf("Merge:\n got %s\nwant %s", got, tt.want)
			}
			if mustMarshal(t, base) != baseBefore || mustMarshal(t, overlay) != overlayBefore {
				t.Error("Merge modified an input")
			}
			raw, err := MergeBytes([]byte(tt.base), []byte(tt.overlay))
			if err != nil {
				t.Fatal(err)
			}
			if string(raw) != tt.want {
				t.Errorf("MergeBytes:\n got %s\nwant %s", raw, tt.want)
			}
		})
	}
}

func TestMergeNil(t *testing.T) {
	c := mustParse(t, `{"auths":{"r.io":{"auth":"dTpw"}}}`)
	if !Equal(Merge(nil, c), c) || !Equal(Merge(c, nil), c) || !Equal(Merge(nil, nil), &Config{}) {
		t.Error("nil inputs should count as empty")
	}
}

// jqCases are documents whose registries do not collide, so Merge must
// agree with jq -s '.[0] * .[1]'.
var jqCases = []struct{ name, base, overlay string }{
	{"pull secret plus icr", `{"auths":{"cloud.openshift.com":{"auth":"dTpw","email":"me@x"},"quay.io":{"auth":"dTpw","email":"me@x"}}}`,
		`{"auths":{"us.icr.io":{"username":"iamapikey","password":"k","email":"a@b","auth":"aWFtYXBpa2V5Oms="},"icr.io":{"auth":"dTpw"}}}`},
	{"unknown keys deep", `{"auths":{"a.io":{"auth":"dTpw","x":{"k":1}}},"HttpHeaders":{"A":"1","N":{"a":[1],"b":{"c":1}}},"credsStore":"d"}`,
		`{"auths":{"b.io":{"auth":"dTpw"}},"HttpHeaders":{"N":{"b":{"d":2}},"Z":"z"},"credHelpers":{"x.io":"h"}}`},
	{"unicode and escapes", `{"auths":{"a.io":{"auth":"dTpw","note":"\u00e9<&>"}},"k\u00e9y":"v"}`, `{"auths":{"b.io":{"auth":"dTpw"}},"k\u00e9y":{"o":1}}`},
}

func TestMergeMatchesJQModel(t *testing.T) {
	for _, tt := range jqCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MergeBytes([]byte(tt.base), []byte(tt.overlay))
			if err != nil {
				t.Fatal(err)
			}
			want := jqMerge(decodeJSON(t, []byte(tt.base)), decodeJSON(t, []byte(tt.overlay)))
			if diff := cmp.Diff(want, decodeJSON(t, got)); diff != "" {
				t.Errorf("MergeBytes vs jq model (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMergeMatchesJQ runs the real jq when it is installed.
func TestMergeMatchesJQ(t *testing.T) {
	jq, err := exec.LookPath("jq")
	if err != nil {
		t.Skip("jq not installed")
	}
	for _, tt := range jqCases {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(jq, "-c", "-s", ".[0] * .[1]")
			cmd.Stdin = bytes.NewReader([]byte(tt.base + "\n" + tt.overlay))
			want, err := cmd.Output()
			if err != nil {
				t.Fatalf("jq: %v", err)
			}
			got, err := MergeBytes([]byte(tt.base), []byte(tt.overlay))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(decodeJSON(t, want), decodeJSON(t, got)); diff != "" {
				t.Errorf("MergeBytes vs jq (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMergeBytesErrors(t *testing.T) {
	good := []byte(`{"auths":{}}`)
	_, err := MergeBytes([]byte(`{"auths":{"r.io":{"auth":"!"}}}`), good)
	if !hasParseError(err, "r.io", "auth", ErrInvalidAuth) {
		t.Errorf("bad base: %v", err)
	}
	_, err = MergeBytes(good, []byte(`[]`))
	if !errors.Is(err, ErrNotObject) {
		t.Errorf("bad overlay: %v", err)
	}
	_, err = MergeBytes([]byte(`x`), []byte(`{}`))
	if !errors.Is(err, ErrNotJSON) || !errors.Is(err, ErrNoAuths) {
		t.Errorf("both bad: want ErrNotJSON and ErrNoAuths, got %v", err)
	}
}

// TestMergeIdempotent: merging the same overlay a second time changes
// nothing, byte for byte, also when unknown objects repeat keys (which
// every JSON reader resolves to the last value).
func TestMergeIdempotent(t *testing.T) {
	tests := []struct{ name, base, overlay string }{
		{"repeated key in an overlay-only object",
			`{"auths":{}}`,
			`{"auths":{},"HttpHeaders":{"A":"1","A":"2"}}`},
		{"repeated key in an object in both",
			`{"auths":{},"HttpHeaders":{"B":"0"}}`,
			`{"auths":{},"HttpHeaders":{"A":"1","B":"x","A":"2"}}`},
		{"repeated key nested below an overlay-only key",
			`{"auths":{},"x":{"p":1}}`,
			`{"auths":{},"x":{"q":{"k":1,"k":2}}}`},
		{"repeated key in base only",
			`{"auths":{"a.io":{"auth":"dTpw"}},"x":{"k":1,"k":2},"y":{"m":{"n":1,"n":2}}}`,
			`{"auths":{"b.io":{"auth":"dTpw"}},"y":{"o":1}}`},
		{"repeated keys at the top level and in auths",
			`{"auths":{"a.io":{"auth":"dTpw"}},"z":1}`,
			`{"auths":{"a.io":{"auth":"dTpw"},"a.io":{"auth":"dTpwYQ"}},"z":{"a":[{"b":1,"b":2}]},"z":{"c":{"d":1,"d":{"e":2}}}}`},
		{"equivalent keys in the overlay",
			`{"auths":{"us.icr.io":{"auth":"dTpw"}}}`,
			`{"auths":{"https://us.icr.io/v1/":{"auth":"dTpwYQ"},"us.icr.io/v2/":{"username":"u","password":"p"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			once, err := MergeBytes([]byte(tt.base), []byte(tt.overlay))
			if err != nil {
				t.Fatal(err)
			}
			twice, err := MergeBytes(once, []byte(tt.overlay))
			if err != nil {
				t.Fatal(err)
			}
			if string(twice) != string(once) {
				t.Errorf("MergeBytes again changed the document:\nonce  %s\ntwice %s", once, twice)
			}
			base, overlay := mustParse(t, tt.base), mustParse(t, tt.overlay)
			m := Merge(base, overlay)
			if got := mustMarshal(t, Merge(m, overlay)); got != mustMarshal(t, m) {
				t.Errorf("Merge again changed the document:\nonce  %s\ntwice %s", mustMarshal(t, m), got)
			}
			// jq reads repeated keys the same way (the last one counts).
			want := jqMerge(decodeJSON(t, []byte(tt.base)), decodeJSON(t, []byte(tt.overlay)))
			if strings.Contains(tt.name, "equivalent") {
				return // a collision: Merge deliberately differs from jq
			}
			if diff := cmp.Diff(want, decodeJSON(t, once)); diff != "" {
				t.Errorf("MergeBytes vs jq model (-want +got):\n%s", diff)
			}
		})
	}
}
