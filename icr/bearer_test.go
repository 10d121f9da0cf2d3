package icr_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/icr"
)

// jwt returns an unsigned token with iat and exp claims, as IAM's carry.
func jwt(iat, exp time.Time) string {
	claims := fmt.Sprintf(`{"iam_id":"iam-Profile-1","iat":%d,"exp":%d}`, iat.Unix(), exp.Unix())
	return "eyJhbGciOiJIUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + ".c2lnbmF0dXJl"
}

func TestBearerConfig(t *testing.T) {
	tok := iam.Token{Value: iam.NewSecret("token-value-1")}
	cfg, err := icr.BearerConfig(tok, []string{"us.icr.io", "private.us.icr.io"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// What `kubectl create secret docker-registry --docker-username
	// iambearer --docker-password <token>` writes, for each domain.
	auth := b64("iambearer:token-value-1")
	want := `{"auths":{"private.us.icr.io":{"username":"iambearer","password":"token-value-1","auth":"` + auth +
		`"},"us.icr.io":{"username":"iambearer","password":"token-value-1","auth":"` + auth + `"}}}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("document (-want +got):\n%s", diff)
	}
}

func TestBearerConfigEveryDomain(t *testing.T) {
	cfg, err := icr.BearerConfig(iam.Token{Value: iam.NewSecret("token-value-1")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := icr.Domains(icr.DomainOptions{})
	if diff := cmp.Diff(len(want), len(cfg.Servers())); diff != "" || len(want) == 0 {
		t.Errorf("%d domains, want every icr.io domain (%d)", len(cfg.Servers()), len(want))
	}
	for _, d := range want {
		if cfg.Auths[d].Username != icr.BearerUsername {
			t.Errorf("%s: no iambearer entry", d)
		}
	}
}

func TestBearerConfigInvalid(t *testing.T) {
	tests := []struct {
		name    string
		tok     iam.Token
		domains []string
		want    []string
	}{
		{"no token", iam.Token{}, []string{"us.icr.io"}, []string{"tok"}},
		{"bad domain", iam.Token{Value: iam.NewSecret("secret-token")}, []string{"us.icr.io", "", "http://"}, []string{"domains[1]", "domains[2]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := icr.BearerConfig(tt.tok, tt.domains)
			var ie *registrykit.InvalidError
			if !errors.As(err, &ie) || !errors.Is(err, registrykit.ErrInvalid) {
				t.Fatalf("error = %v, want a *registrykit.InvalidError", err)
			}
			var got []string
			for _, fe := range ie.Errs {
				got = append(got, fe.Field)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if strings.Contains(err.Error(), "secret-token") {
				t.Error("the error carries the token")
			}
		})
	}
}

func TestBearerToken(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	soon, later := jwt(t0, t0.Add(time.Hour)), jwt(t0.Add(time.Minute), t0.Add(time.Hour+time.Minute))
	cfg := &dockerconfig.Config{}
	cfg.Set("us.icr.io", dockerconfig.Entry{Username: icr.BearerUsername, Password: later})
	cfg.Set("de.icr.io", dockerconfig.Entry{Username: icr.BearerUsername, Password: soon})
	cfg.Set("quay.io", dockerconfig.Entry{Username: "robot", Password: "other"})

	tok, ok := icr.BearerToken(cfg)
	if !ok || tok.Value.Reveal() != soon {
		t.Fatalf("BearerToken = %v, %v; want the token that expires first", tok, ok)
	}
	if !tok.IssuedAt.Equal(t0) || !tok.Expiry.Equal(t0.Add(time.Hour)) {
		t.Errorf("times = %v .. %v, want %v .. %v", tok.IssuedAt, tok.Expiry, t0, t0.Add(time.Hour))
	}

	// An opaque token has an unknown expiry: it counts as expiring first.
	cfg.Set("uk.icr.io", dockerconfig.Entry{Username: icr.BearerUsername, Password: "opaque"})
	if tok, _ := icr.BearerToken(cfg); tok.Value.Reveal() != "opaque" {
		t.Errorf("BearerToken = %v, want the opaque token", tok)
	}

	apiKey := &dockerconfig.Config{}
	apiKey.Set("us.icr.io", dockerconfig.Entry{Username: "iamapikey", Password: "key"})
	for _, c := range []*dockerconfig.Config{nil, {}, apiKey} {
		if tok, ok := icr.BearerToken(c); ok || !tok.IsZero() {
			t.Errorf("BearerToken(%v) = %v, %v; want none", c, tok, ok)
		}
	}
}
