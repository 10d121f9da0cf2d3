package icr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/iam"
)

// ErrShortLived is returned (wrapped in a *RenewError) when the token
// source hands out a token that RefreshPolicy would not write: one that
// expires within the margin, or whose expiry is unknown.
var ErrShortLived = errors.New("the token source returned a token that expires within the margin or whose expiry is unknown")

// RefresherOptions configure a Refresher. The zero value is the default
// policy, the real clock and no logging.
type RefresherOptions struct {
	// Policy decides when to renew and what may be written.
	Policy RefreshPolicy
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger receives a warning for each failed renewal and a debug
	// record for each renewal. Nil means silence. No record ever
	// contains a token.
	Logger *slog.Logger
}

// Refresher keeps an iambearer credential for a set of ICR domains fresh,
// from an IAM token source. It holds no Kubernetes client: the caller
// reads what is stored, calls Refresh, writes Config when told, and calls
// again at Next. A Refresher is safe for concurrent use.
type Refresher struct {
	src     iam.TokenSource
	domains []string
	policy  RefreshPolicy
	now     func() time.Time
	log     *slog.Logger

	mu       sync.Mutex
	last     iam.Token // the newest token the source gave
	failures int       // consecutive failed renewals
}

// NewRefresher returns a Refresher of tokens from src for domains; no
// domains means every icr.io domain, as in BearerConfig.
func NewRefresher(src iam.TokenSource, domains []string, opts RefresherOptions) (*Refresher, error) {
	var errs field.ErrorList
	if src == nil {
		errs = append(errs, field.Required(field.NewPath("src"), "a token source"))
	}
	if opts.Policy.Margin < 0 {
		errs = append(errs, field.Invalid(field.NewPath("opts", "policy", "margin"), opts.Policy.Margin.String(), "must not be negative"))
	}
	// The domains are checked by building a document with a stand-in token.
	if _, err := BearerConfig(iam.Token{Value: iam.NewSecret("-")}, domains); err != nil {
		var ie *registrykit.InvalidError
		if errors.As(err, &ie) {
			errs = append(errs, ie.Errs...)
		}
	}
	if err := registrykit.Invalid("icr.NewRefresher input", errs); err != nil {
		return nil, err
	}
	if len(domains) == 0 {
		domains, _ = Domains(DomainOptions{})
	}
	r := &Refresher{src: src, domains: append([]string(nil), domains...), policy: opts.Policy, now: opts.Now, log: opts.Logger}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// Refresh is the outcome of Refresher.Refresh.
type Refresh struct {
	// Token is what the credential should hold now: a new token, or the
	// stored one when no renewal was due or the renewal failed.
	Token iam.Token
	// Renewed: Token was obtained by this call and differs from the
	// stored one; write Config.
	Renewed bool
	// Writable: Token may be written at the time of the call (a new copy
	// included). When false, nothing may be written.
	Writable bool
	// Config is BearerConfig(Token, domains) when Writable, else nil.
	Config *dockerconfig.Config
	// Next is when to call Refresh again: Token's renewal point, or after
	// a back-off when the renewal failed.
	Next time.Time
	// Failures counts consecutive failed renewals: 0 after a success.
	Failures int
}

// RenewError reports a failed renewal: what was kept, and why it failed.
// It unwraps to the token source's error (an *iam.APIError, a context
// error) or ErrShortLived.
type RenewError struct {
	// Failures counts consecutive failed renewals, this one included.
	Failures int
	// Kept: the stored token stays, and may still be written until
	// KeptUntil. False when there is no valid token to keep.
	Kept      bool
	KeptUntil time.Time
	// Err is the cause.
	Err error
}

func (e *RenewError) Error() string {
	kept := "no valid token to keep"
	if e.Kept {
		kept = "keeping the current token, writable until " + e.KeptUntil.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("renew IAM access token (failure %d in a row; %s): %v", e.Failures, kept, e.Err)
}

func (e *RenewError) Unwrap() error { return e.Err }

// Refresh decides, for the token stored now (the zero Token when there is
// none; see BearerToken), whether to renew it, renews it from the token
// source when due, and says what the credential should hold and when to
// look again.
//
// When the renewal fails (an IAM outage, a refused grant) it returns a
// *RenewError and a Refresh all the same: the stored token is kept
// (Writable tells whether it may still be written), Next is after a
// back-off (RefreshPolicy.Backoff) and Failures counts the failures in a
// row. It never offers a token that RefreshPolicy would not write.
func (r *Refresher) Refresh(ctx context.Context, stored iam.Token) (Refresh, error) {
	r.mu.Lock()
	if !r.last.IsZero() && stored.Value == r.last.Value {
		stored = r.last // its times were measured on this machine's clock
	}
	r.mu.Unlock()

	now := r.now()
	if d := r.policy.Decide(stored, now); !d.Renew {
		r.mu.Lock()
		r.failures = 0 // a fresh token is stored, whoever wrote it
		r.mu.Unlock()
		return r.outcome(stored, false, now, d.RenewAt, 0), nil
	}

	tok, err := r.src.Token(ctx)
	now = r.now()
	if err == nil && !r.policy.Writable(tok, now) {
		err = ErrShortLived
	}
	if err != nil {
		return r.failed(ctx, stored, now, err)
	}

	r.mu.Lock()
	r.last, r.failures = tok, 0
	r.mu.Unlock()
	d := r.policy.Decide(tok, now)
	next := d.RenewAt
	if !next.After(now) {
		// The source handed back a token past our renewal point (one it
		// still considers fresh): ask again shortly.
		next = now.Add(r.policy.Backoff(1, tok.Lifetime()))
	}
	renewed := tok.Value != stored.Value
	if renewed {
		r.log.DebugContext(ctx, "renewed the iambearer token", "expiry", tok.Expiry, "lifetime", tok.Lifetime())
	}
	return r.outcome(tok, renewed, now, next, 0), nil
}

// failed is the outcome of a failed renewal.
func (r *Refresher) failed(ctx context.Context, stored iam.Token, now time.Time, cause error) (Refresh, error) {
	r.mu.Lock()
	r.failures++
	failures := r.failures
	lifetime := stored.Lifetime()
	if lifetime == 0 {
		lifetime = r.last.Lifetime()
	}
	r.mu.Unlock()
	d := r.policy.Decide(stored, now)
	out := r.outcome(stored, false, now, now.Add(r.policy.Backoff(failures, lifetime)), failures)
	err := &RenewError{Failures: failures, Kept: d.Writable, Err: cause}
	if d.Writable {
		err.KeptUntil = d.WritableUntil
	}
	r.log.WarnContext(ctx, "renewing the iambearer token failed", "failures", failures, "kept", err.Kept, "retry_at", out.Next, "error", cause)
	return out, err
}

func (r *Refresher) outcome(tok iam.Token, renewed bool, now, next time.Time, failures int) Refresh {
	out := Refresh{Token: tok, Renewed: renewed, Next: next, Failures: failures}
	if r.policy.Writable(tok, now) {
		cfg, err := BearerConfig(tok, r.domains)
		if err == nil {
			out.Writable, out.Config = true, cfg
		}
	}
	return out
}
