package iam

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Token is an IAM access token: what goes after "Bearer " in an
// Authorization header, and what IBM Cloud Container Registry accepts as
// the password of the user "iambearer".
//
// Value is a Secret: a Token prints, logs and marshals (every fmt verb,
// encoding/json, slog) with the value redacted, however deeply it is
// nested. Value.Reveal is the one way to read it.
type Token struct {
	// Value is the access token.
	Value Secret
	// Expiry is when IAM stops accepting the token, measured on this
	// machine's clock: the time the request was sent plus the lifetime IAM
	// announced (expires_in), so a skewed clock cannot make a token look
	// fresher than it is. Zero when unknown (a token from an authenticator
	// that is not a JWT with an exp claim).
	Expiry time.Time
	// IssuedAt is when the token was requested (or its iat claim, for a
	// token from an authenticator). Zero when unknown.
	IssuedAt time.Time
}

// ParseToken returns the Token of an access token value, with Expiry and
// IssuedAt read from its exp and iat claims, as when the value was stored
// somewhere (a pull secret) and its source is gone. The claims are read,
// not verified, and they are times on IAM's clock, where a token from a
// TokenSource has times on this machine's: a clock that is behind IAM's
// makes a parsed token look valid for longer than it is. A value that is
// not a JWT gives a Token with unknown times; "" gives the zero Token.
func ParseToken(value string) Token {
	if value == "" {
		return Token{}
	}
	t := Token{Value: NewSecret(value)}
	c, ok := jwtClaims(value)
	if !ok || c.Exp <= 0 {
		return t
	}
	t.Expiry = time.Unix(c.Exp, 0)
	if c.Iat > 0 && c.Iat <= c.Exp {
		t.IssuedAt = time.Unix(c.Iat, 0)
	}
	return t
}

// RenewFraction is the part of a token's lifetime after which the token
// sources of this package renew it: Token returns a new token once 80% of
// the cached one's lifetime has passed, like go-sdk-core's authenticators.
const RenewFraction = 0.8

// IsZero reports whether t holds no token.
func (t Token) IsZero() bool { return t.Value.IsZero() }

// Lifetime is Expiry minus IssuedAt, or 0 when either is unknown.
func (t Token) Lifetime() time.Duration {
	if t.Expiry.IsZero() || t.IssuedAt.IsZero() {
		return 0
	}
	return t.Expiry.Sub(t.IssuedAt)
}

// RenewAt is the time after which a token source renews t: IssuedAt plus
// RenewFraction of the lifetime. Zero when the lifetime is unknown.
func (t Token) RenewAt() time.Time {
	l := t.Lifetime()
	if l <= 0 {
		return time.Time{}
	}
	return t.IssuedAt.Add(time.Duration(float64(l) * RenewFraction))
}

// ValidAt reports whether t is a token that IAM still accepts at the
// given time: not empty, and at is before Expiry. A token whose Expiry is
// unknown is valid at any time (this package cannot tell); check
// Expiry.IsZero where that matters. To ask "valid for at least d more",
// use t.ValidAt(time.Now().Add(d)).
func (t Token) ValidAt(at time.Time) bool {
	if t.IsZero() {
		return false
	}
	return t.Expiry.IsZero() || at.Before(t.Expiry)
}

// String describes the token without its value.
func (t Token) String() string {
	if t.IsZero() {
		return "iam.Token(none)"
	}
	if t.Expiry.IsZero() {
		return "iam.Token(" + redacted + ", expiry unknown)"
	}
	return "iam.Token(" + redacted + ", expires " + t.Expiry.UTC().Format(time.RFC3339) + ")"
}

// GoString describes the token without its value.
func (t Token) GoString() string { return t.String() }

// Format implements fmt.Formatter: every verb prints String.
func (t Token) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(t.String())) }

// LogValue implements slog.LogValuer: the expiry and issue time, never the
// value.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("value", t.Value.String()),
		slog.Time("expiry", t.Expiry),
		slog.Time("issued_at", t.IssuedAt),
	)
}

// TokenSource supplies IAM access tokens.
//
// Token returns a token that is valid now, or an error. It honours ctx: it
// returns when ctx ends, with an error that wraps ctx.Err(), even when the
// token service does not answer.
//
// The sources made by NewAPIKeyTokenSource, NewTrustedProfileTokenSource
// and NewAuthenticatorTokenSource cache the token: Token returns the
// cached token until RenewFraction (80%) of its lifetime has passed, then
// asks IAM for a new one; a failed renewal is an error, never a silent
// return of the old token (a caller that can still use the old token
// keeps it itself). Concurrent callers share one request to IAM; a caller
// whose ctx ends stops waiting without failing the others. Each source has
// its own cache and lock: sources, and Clients built on them, never wait
// for each other. They are safe for concurrent use.
//
// An implementation of TokenSource written elsewhere should honour ctx the
// same way; a Client calls Token before every request.
type TokenSource interface {
	Token(ctx context.Context) (Token, error)
}
