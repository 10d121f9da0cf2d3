package iam

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Renewal timings of a cachingSource.
const (
	// maxExpiryMargin is how long before its expiry a cached token stops
	// being handed to a Client's requests (less for short-lived tokens:
	// a tenth of the lifetime).
	maxExpiryMargin = 10 * time.Second
	// backgroundTimeout bounds a renewal that a Client starts in the
	// background while it keeps using the still valid cached token.
	backgroundTimeout = DefaultTokenTimeout
)

// cachingSource is the TokenSource of this package: one cached token, one
// request to IAM in flight at a time, no lock shared with anything else.
type cachingSource struct {
	op    string // names the source in errors
	fetch func(ctx context.Context) (Token, error)
	creds *credentials
	log   *slog.Logger

	mu      sync.Mutex
	tok     Token
	flight  *flight
	retryAt time.Time // no background renewal before this, after one failed
}

// flight is one request for a token, shared by every caller that waits
// for it.
type flight struct {
	done chan struct{}
	tok  Token
	err  error
	// abandoned: the context the request ran under ended; the failure
	// belongs to the caller that started it, not to those that waited.
	abandoned bool
}

func newCachingSource(op string, creds *credentials, log *slog.Logger, fetch func(context.Context) (Token, error)) *cachingSource {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &cachingSource{op: op, fetch: fetch, creds: creds, log: log}
}

// String names the source, never what it holds: its credential (an API
// key, a compute-resource token) and its cached token sit in unexported
// fields, which fmt would print without calling their own redacting
// methods.
func (s *cachingSource) String() string { return "iam.TokenSource(" + s.op + ")" }

// GoString implements fmt.GoStringer, for %#v.
func (s *cachingSource) GoString() string { return s.String() }

// Format implements fmt.Formatter: every verb prints String.
func (s *cachingSource) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// LogValue implements slog.LogValuer.
func (s *cachingSource) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Token implements TokenSource.
func (s *cachingSource) Token(ctx context.Context) (Token, error) {
	for {
		if ctx.Err() != nil {
			return Token{}, s.ended(ctx)
		}
		s.mu.Lock()
		if fresh(s.tok, time.Now()) {
			t := s.tok
			s.mu.Unlock()
			return t, nil
		}
		f, own := s.flight, false
		if f == nil {
			f, own = s.startLocked(ctx, false), true
		}
		s.mu.Unlock()

		select {
		case <-f.done:
			if f.err == nil {
				return f.tok, nil
			}
			if !own && f.abandoned && ctx.Err() == nil {
				continue // the caller that asked gave up; ask again
			}
			return Token{}, f.err
		case <-ctx.Done():
			return Token{}, s.ended(ctx)
		}
	}
}

// usable is what a Client sends: the cached token while it stays valid
// for more than the expiry margin, starting a renewal in the background
// once the token is past its renewal point, so that requests do not wait
// for IAM, nor fail while IAM is briefly unavailable, as long as the
// token they carry is good. Without such a token it is Token(ctx).
func (s *cachingSource) usable(ctx context.Context) (Token, error) {
	now := time.Now()
	s.mu.Lock()
	t := s.tok
	switch {
	case fresh(t, now):
		s.mu.Unlock()
		return t, nil
	case !t.Expiry.IsZero() && t.ValidAt(now.Add(expiryMargin(t))):
		if s.flight == nil && !now.Before(s.retryAt) {
			s.retryAt = now.Add(retryDelay(t))
			bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), backgroundTimeout)
			f := s.startLocked(bg, true)
			go func() { <-f.done; cancel() }()
		}
		s.mu.Unlock()
		return t, nil
	}
	s.mu.Unlock()
	return s.Token(ctx)
}

// startLocked starts a request for a token under ctx. s.mu is held.
func (s *cachingSource) startLocked(ctx context.Context, background bool) *flight {
	f := &flight{done: make(chan struct{})}
	s.flight = f
	go func() {
		tok, err := s.fetch(ctx)
		s.mu.Lock()
		if err == nil {
			s.tok = tok
			s.retryAt = time.Time{}
		}
		s.flight = nil
		f.tok, f.err, f.abandoned = tok, err, ctx.Err() != nil
		s.mu.Unlock()
		close(f.done)
		if err != nil && background {
			s.log.WarnContext(ctx, "renewing the IAM access token failed; the current one is still used", "op", s.op, "error", err)
		}
	}()
	return f
}

// ended is the error of a caller whose ctx ended before it had a token.
func (s *cachingSource) ended(ctx context.Context) error {
	return &APIError{Op: s.op, Message: ctx.Err().Error(), errs: []error{ctx.Err()}}
}

func (s *cachingSource) scrub(v string) string { return s.creds.scrub(v) }

// fresh reports whether t is before its renewal point.
func fresh(t Token, now time.Time) bool {
	at := t.RenewAt()
	return !t.IsZero() && !at.IsZero() && now.Before(at)
}

// expiryMargin is how long before its expiry a token is no longer sent.
func expiryMargin(t Token) time.Duration {
	if l := t.Lifetime(); l > 0 {
		return min(maxExpiryMargin, l/10)
	}
	return maxExpiryMargin
}

// retryDelay spaces background renewals after a failed one: a sixtieth of
// the lifetime, between one and thirty seconds.
func retryDelay(t Token) time.Duration {
	return min(max(t.Lifetime()/60, time.Second), 30*time.Second)
}
