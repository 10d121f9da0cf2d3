package iamtest_test

import (
	"testing"
	"time"

	"github.com/registrykit/registrykit/iam/iamtest"
)

func TestTokenValidAt(t *testing.T) {
	srv := iamtest.NewServer(iamtest.WithTokenLifetime(time.Minute))
	t.Cleanup(srv.Close)
	tok := srv.IssueToken("iam-ServiceId-1")
	exp, ok := srv.TokenExpiry(tok)
	if !ok || time.Until(exp) > time.Minute || time.Until(exp) < 50*time.Second {
		t.Fatalf("TokenExpiry = %v, %v; want about a minute from now", exp, ok)
	}
	for _, tt := range []struct {
		at   time.Time
		want bool
	}{
		{time.Now(), true},
		{exp, true},
		{exp.Add(time.Nanosecond), false},
	} {
		if got := srv.TokenValidAt(tok, tt.at); got != tt.want {
			t.Errorf("TokenValidAt(%v) = %v, want %v", tt.at, got, tt.want)
		}
	}
	if srv.TokenValidAt("never-issued", time.Now()) {
		t.Error("a token the server never issued is valid")
	}
	if _, ok := srv.TokenExpiry("never-issued"); ok {
		t.Error("a token the server never issued has an expiry")
	}
	srv.RevokeTokens()
	if srv.TokenValidAt(tok, time.Now()) {
		t.Error("a revoked token is valid")
	}
}
