package dockerconfig

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// randomConfig builds a valid Config: entries set through the API, some
// parsed entries (with unknown keys) kept unchanged or edited, unknown
// top-level keys.
func randomConfig(t *testing.T, r *rand.Rand) *Config {
	t.Helper()
	strs := []string{"", "u", "iamapikey", "p@ss", `q"uote\`, "<&>", "é日本", "\u2028", "line\nbreak", "a:b:c", "x\x00y"}
	pick := func() string { return strs[r.IntN(len(strs))] }
	servers := []string{"us.icr.io", "https://us.icr.io/v1/", "quay.io/org", "localhost:5000", "*.icr.io", "r.io:8443/a/b", "https://index.docker.io/v1/", "[::1]:5000"}
	extras := []string{`{"auths":{}}`, `{"auths":{},"credsStore":"desktop"}`, `{"auths":{},"HttpHeaders":{"User-Agent":"x","N":[1,2.5,null,true]},"k\u00e9y":"<v>"}`}
	c := mustParse(t, extras[r.IntN(len(extras))])
	parsed := mustParse(t, `{"auths":{"p.io":{"auth":"dTpwYQ","serveraddress":"p.io","x":{"y":[1]}}}}`)
	for n := r.IntN(6); n > 0; n-- {
		var e Entry
		switch r.IntN(3) {
		case 0:
			e = parsed.Auths["p.io"]
			if r.IntN(2) == 0 {
				e.Email = pick()
			}
		case 1:
			e = Entry{Username: pick(), Password: pick(), Email: pick(), IdentityToken: pick(), RegistryToken: pick()}
			if e.Username == "a:b:c" {
				e.Username = "abc"
			}
		default:
			e = Entry{Auth: "dTpw", Email: pick()}
		}
		c.Set(servers[r.IntN(len(servers))], e)
	}
	return c
}

func TestRoundTripProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 500; i++ {
		c := randomConfig(t, r)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			out, err := c.Marshal()
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			back, err := Parse(out)
			if err != nil {
				t.Fatalf("Parse(Marshal(c)): %v\n%s", err, out)
			}
			if !Equal(c, back) {
				t.Fatalf("Parse(Marshal(c)) != c\n%s", out)
			}
			if got := extraOf(back); len(got) != len(c.extra) {
				t.Fatalf("unknown keys lost: %v", got)
			}
			for k, e := range c.Auths {
				if len(back.Auths[k].extra) != len(e.extra) {
					t.Fatalf("unknown entry keys lost under %q", k)
				}
			}
			legacy, err := c.MarshalLegacy()
			if len(c.extra) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				lb, err := ParseLegacy(legacy)
				if err != nil || !Equal(c, lb) {
					t.Fatalf("legacy round trip: %v", err)
				}
			}
		})
	}
}
