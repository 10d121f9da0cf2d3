package icr

import (
	"time"

	"github.com/registrykit/registrykit/iam"
)

// DefaultMargin is how long a token must stay valid to be written when
// RefreshPolicy.Margin is zero, capped at a tenth of the token's lifetime
// (so that tokens of a few seconds, in tests, can be written at all).
const DefaultMargin = 5 * time.Minute

// RefreshPolicy decides when an iambearer credential is renewed and
// whether a token may be written. Its methods are pure: they take the
// token and the time and do no I/O, so a one-shot call, a long-running
// refresher and a kubelet credential provider decide alike. The zero
// value is the default policy.
//
// A token is renewed once iam.RenewFraction (80%) of its lifetime has
// passed, when the token sources of package iam renew it too, and never
// later than Margin before its expiry. A token is written only while it
// stays valid for more than Margin: never one that has expired, will
// expire within the margin, or whose expiry is unknown.
type RefreshPolicy struct {
	// Margin is how long past now a token must stay valid to be written.
	// Zero means DefaultMargin, capped at a tenth of the token's lifetime.
	Margin time.Duration
}

// Decision is what RefreshPolicy.Decide says about a stored token.
type Decision struct {
	// Renew: get a new token now. True when no token is stored, its
	// expiry is unknown, or its renewal point has passed.
	Renew bool
	// Writable: the stored token may be written (copied to a new
	// namespace, say): it stays valid for more than the margin.
	Writable bool
	// RenewAt is when the stored token is due for renewal: RenewFraction
	// of its lifetime, or the start of the margin if that comes first.
	// Zero when the expiry is unknown.
	RenewAt time.Time
	// WritableUntil is the last moment the stored token may be written:
	// its expiry minus the margin. Zero when the expiry is unknown.
	WritableUntil time.Time
}

// MarginFor is the margin the policy applies to tok.
func (p RefreshPolicy) MarginFor(tok iam.Token) time.Duration {
	if p.Margin > 0 {
		return p.Margin
	}
	m := DefaultMargin
	if l := tok.Lifetime(); l > 0 {
		m = min(m, l/10)
	}
	return m
}

// Decide says, given the token a secret holds now (the zero Token when it
// holds none), whether it must be renewed and whether it may be written.
func (p RefreshPolicy) Decide(stored iam.Token, now time.Time) Decision {
	if stored.IsZero() || stored.Expiry.IsZero() {
		return Decision{Renew: true}
	}
	until := stored.Expiry.Add(-p.MarginFor(stored))
	renewAt := stored.RenewAt()
	if renewAt.IsZero() || renewAt.After(until) {
		renewAt = until
	}
	return Decision{
		Renew:         !now.Before(renewAt),
		Writable:      now.Before(until),
		RenewAt:       renewAt,
		WritableUntil: until,
	}
}

// Writable reports whether tok may be written at now: it stays valid for
// more than the margin.
func (p RefreshPolicy) Writable(tok iam.Token, now time.Time) bool {
	return p.Decide(tok, now).Writable
}

// FreshFor is how long a reader may keep using tok from now without
// asking again: until its renewal point, 0 when that has passed or tok
// may not be written. A kubelet credential provider answers it as its
// cacheDuration, which is then always below the token's remaining life.
func (p RefreshPolicy) FreshFor(tok iam.Token, now time.Time) time.Duration {
	d := p.Decide(tok, now)
	if !d.Writable || d.Renew {
		return 0
	}
	return d.RenewAt.Sub(now)
}

// Backoff is how long to wait before the next attempt after failures
// consecutive failed renewals (failures ≥ 1) of a token whose lifetime is
// lifetime (0 when unknown): a twentieth of the lifetime, between 100ms
// and 5s, doubled at each failure, at most a quarter of the lifetime and
// never more than 5 minutes. For IAM's one-hour tokens: 5s, 10s, 20s, ...,
// 5m; for a 4-second test token: 200ms, 400ms, 800ms, 1s.
func (p RefreshPolicy) Backoff(failures int, lifetime time.Duration) time.Duration {
	base, ceiling := 5*time.Second, 5*time.Minute
	if lifetime > 0 {
		base = min(max(lifetime/20, 100*time.Millisecond), 5*time.Second)
		ceiling = min(max(lifetime/4, base), 5*time.Minute)
	}
	d := base
	for i := 1; i < failures && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}
