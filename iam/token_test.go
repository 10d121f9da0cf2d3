package iam_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
)

const sentinelToken = "eyJ.SENTINEL-access-token.5f1c0e9d8b7a"

// A Token is safe however it is reached: at the top level, in a struct
// field, a slice, a map, two levels down; under every fmt verb,
// encoding/json and slog's text and JSON handlers.
func TestTokenNeverPrintsItsValue(t *testing.T) {
	issued := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tok := iam.Token{Value: iam.NewSecret(sentinelToken), IssuedAt: issued, Expiry: issued.Add(time.Hour)}
	type holder struct {
		Name  string
		Token iam.Token
		Ptr   *iam.Token
	}
	values := map[string]any{
		"token":           tok,
		"pointer":         &tok,
		"struct":          holder{Name: "x", Token: tok, Ptr: &tok},
		"slice":           []iam.Token{tok},
		"map":             map[string]iam.Token{"a": tok},
		"depth 2":         map[string][]holder{"a": {{Token: tok, Ptr: &tok}}},
		"any":             []any{map[string]any{"t": tok}},
		"value alone":     tok.Value,
		"value in struct": struct{ V iam.Secret }{tok.Value},
	}
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			var outs []string
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
				outs = append(outs, fmt.Sprintf(verb, v))
			}
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			outs = append(outs, string(b))
			var buf bytes.Buffer
			slog.New(slog.NewTextHandler(&buf, nil)).Info("m", "v", v)
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("m", "v", v)
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("m", slog.Group("g", slog.Any("v", v)))
			outs = append(outs, buf.String())
			for _, out := range outs {
				if strings.Contains(out, "SENTINEL") || strings.Contains(out, fmt.Sprintf("%x", sentinelToken)[:16]) {
					t.Errorf("the token's value is printed: %s", out)
				}
			}
		})
	}
	if got := tok.Value.Reveal(); got != sentinelToken {
		t.Errorf("Reveal() = %q, want the value", got)
	}
	// The negative control: the canary does see a value printed in clear.
	if out := fmt.Sprintf("%v", struct{ V string }{tok.Value.Reveal()}); !strings.Contains(out, "SENTINEL") {
		t.Error("the check cannot see a revealed value")
	}
}

func TestTokenTimes(t *testing.T) {
	issued := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tok := iam.Token{Value: iam.NewSecret("v"), IssuedAt: issued, Expiry: issued.Add(time.Hour)}
	if got := tok.RenewAt(); !got.Equal(issued.Add(48 * time.Minute)) {
		t.Errorf("RenewAt = %v, want 48 minutes after issue", got)
	}
	if !tok.ValidAt(issued.Add(59*time.Minute)) || tok.ValidAt(issued.Add(time.Hour)) {
		t.Error("ValidAt: want valid before Expiry, invalid from it")
	}
	if (iam.Token{}).ValidAt(issued) {
		t.Error("the zero Token is valid")
	}
	opaque := iam.Token{Value: iam.NewSecret("v")}
	if !opaque.ValidAt(issued) || opaque.Lifetime() != 0 || !opaque.RenewAt().IsZero() {
		t.Error("a token of unknown expiry: want valid, no lifetime, no renewal point")
	}
	if got, want := tok.String(), "iam.Token([REDACTED], expires 2026-12-01T11:00:00Z)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// A token source holds its credential (an API key, a compute-resource
// token) and its cached token in unexported fields, which fmt prints
// without calling their methods: the source itself must not print them,
// under any verb, at any depth, nor through slog.
func TestTokenSourceNeverPrintsItsCredentials(t *testing.T) {
	const key = "SENTINEL-api-key-of-the-source-0c1d"
	srv := iamtest.NewServer()
	t.Cleanup(srv.Close)
	srv.AddAPIKeyValue(ownerIAMID, key)
	src, err := iam.NewAPIKeyTokenSource(iam.NewSecret(key), iam.TokenOptions{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	// A token in the cache, so that there is one to leak.
	if _, err := src.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	profile, err := iam.NewTrustedProfileTokenSource(iam.TrustedProfileOptions{ProfileName: "p", CRToken: iam.NewSecret(key), TokenOptions: iam.TokenOptions{URL: srv.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	needles := []string{key, fmt.Sprintf("%x", key)[:16], srv.IssuedTokens()[0]}
	for name, v := range map[string]any{
		"api key source":         src,
		"trusted profile source": profile,
		"in a struct":            struct{ S iam.TokenSource }{src},
		"depth 2":                map[string][]any{"a": {struct{ S iam.TokenSource }{profile}}},
	} {
		var outs []string
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			outs = append(outs, fmt.Sprintf(verb, v))
		}
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("m", "v", v)
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("m", "v", v)
		outs = append(outs, buf.String())
		if b, err := json.Marshal(v); err == nil {
			outs = append(outs, string(b))
		}
		for _, out := range outs {
			for _, n := range needles {
				if strings.Contains(out, n) {
					t.Errorf("%s: a credential of the source is printed (%d bytes of output)", name, len(out))
				}
			}
		}
	}
}
