package iam_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
)

// A compute-resource token handed over in memory (the service account
// token a kubelet passes to a credential provider) is exchanged like one
// read from a file, and scrubbed from errors like one.
func TestTrustedProfileTokenSourceCRTokenInMemory(t *testing.T) {
	srv := iamtest.NewServer(iamtest.WithTokenLifetime(10 * time.Minute))
	t.Cleanup(srv.Close)
	p := srv.AddTrustedProfile("registrykit", workload)

	src, err := iam.NewTrustedProfileTokenSource(iam.TrustedProfileOptions{
		ProfileName: p.Name, CRToken: iam.NewSecret(srv.CRToken(workload, 0)), TokenOptions: iam.TokenOptions{URL: srv.URL()},
	})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Lifetime() != 10*time.Minute {
		t.Errorf("lifetime = %v, want 10m", tok.Lifetime())
	}

	// IAM refuses a token it did not issue; the error does not carry it.
	bogus := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bm90LWEtcmVhbC1zaWduYXR1cmU"
	src, err = iam.NewTrustedProfileTokenSource(iam.TrustedProfileOptions{
		ProfileID: p.ID, CRToken: iam.NewSecret(bogus), TokenOptions: iam.TokenOptions{URL: srv.URL()},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Token(ctx(t))
	if !hasCode(err, iamtest.CodeInvalidCRToken) {
		t.Fatalf("error = %v, want %s", err, iamtest.CodeInvalidCRToken)
	}
	for _, s := range []string{err.Error(), fmt.Sprintf("%#v", err), fmt.Sprintf("%+v", err)} {
		if strings.Contains(s, bogus) {
			t.Errorf("the error carries the compute-resource token")
		}
	}
}

func TestTrustedProfileTokenSourceCRTokenAndFile(t *testing.T) {
	_, err := iam.NewTrustedProfileTokenSource(iam.TrustedProfileOptions{
		ProfileID: "Profile-1", CRToken: iam.NewSecret("x.y.z"), CRTokenFile: "/var/run/secrets/tokens/sa-token",
	})
	if diff := cmp.Diff([]string{"opts.crToken"}, invalidFields(t, err)); diff != "" {
		t.Errorf("field errors (-want +got):\n%s", diff)
	}
	if strings.Contains(err.Error(), "x.y.z") {
		t.Error("the error carries the compute-resource token")
	}
}

func TestParseToken(t *testing.T) {
	srv := iamtest.NewServer(iamtest.WithTokenLifetime(90 * time.Second))
	t.Cleanup(srv.Close)
	before := time.Now().Truncate(time.Second)
	value := srv.IssueToken("iam-ServiceId-1")
	after := time.Now()

	tok := iam.ParseToken(value)
	if tok.Value.Reveal() != value {
		t.Error("Value is not the token")
	}
	if tok.IssuedAt.Before(before) || tok.IssuedAt.After(after) {
		t.Errorf("IssuedAt = %v, want between %v and %v", tok.IssuedAt, before, after)
	}
	if tok.Lifetime() != 90*time.Second {
		t.Errorf("Lifetime = %v, want 1m30s", tok.Lifetime())
	}

	for _, opaque := range []string{"not-a-jwt", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln"} {
		tok := iam.ParseToken(opaque)
		if tok.Value.Reveal() != opaque || !tok.Expiry.IsZero() || !tok.IssuedAt.IsZero() {
			t.Errorf("ParseToken(opaque) = %v, want the value with unknown times", tok)
		}
	}
	if !iam.ParseToken("").IsZero() {
		t.Error(`ParseToken("") is not the zero Token`)
	}
}
