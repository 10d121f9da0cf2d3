package icr_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
	"github.com/registrykit/registrykit/icr"
)

// clock is a manual clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fakeSource hands out numbered one-hour tokens on the manual clock, or
// fails while down is set.
type fakeSource struct {
	clock *clock
	life  time.Duration
	mu    sync.Mutex
	n     int
	down  error
}

func (s *fakeSource) Token(context.Context) (iam.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return iam.Token{}, s.down
	}
	s.n++
	return token(fmt.Sprintf("token-%d", s.n), s.clock.Now(), s.life), nil
}

func (s *fakeSource) fail(err error) { s.mu.Lock(); s.down = err; s.mu.Unlock() }

var domains = []string{"us.icr.io", "private.us.icr.io"}

func TestRefresherSchedule(t *testing.T) {
	c := &clock{now: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)}
	src := &fakeSource{clock: c, life: time.Hour}
	r, err := icr.NewRefresher(src, domains, icr.RefresherOptions{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t0 := c.Now()

	// Nothing stored: a token is fetched, to be written.
	out, err := r.Refresh(ctx, iam.Token{})
	if err != nil || !out.Renewed || !out.Writable || out.Config == nil || out.Token.Value.Reveal() != "token-1" {
		t.Fatalf("first Refresh = %+v, %v; want token-1 renewed and writable", out, err)
	}
	if want := t0.Add(48 * time.Minute); !out.Next.Equal(want) {
		t.Errorf("Next = %v, want %v (80%% of the lifetime)", out.Next, want)
	}
	if tok, _ := icr.BearerToken(out.Config); tok.Value != out.Token.Value {
		t.Error("Config does not hold Token")
	}
	stored := out.Token

	// Before the renewal point: nothing to do.
	c.Add(47 * time.Minute)
	out, err = r.Refresh(ctx, stored)
	if err != nil || out.Renewed || !out.Writable || out.Token.Value != stored.Value {
		t.Fatalf("Refresh at 47m = %+v, %v; want the stored token kept", out, err)
	}

	// IAM goes down at the renewal point: the stored token is kept while
	// it may be written, with a growing back-off.
	outage := errors.New("token service unavailable")
	src.fail(outage)
	c.Add(time.Minute)
	var backoffs []time.Duration
	for i := 1; i <= 3; i++ {
		out, err = r.Refresh(ctx, stored)
		var re *icr.RenewError
		if !errors.As(err, &re) || !errors.Is(err, outage) || !re.Kept || re.Failures != i {
			t.Fatalf("Refresh in the outage = %v; want a *RenewError keeping the token, failure %d", err, i)
		}
		if out.Renewed || !out.Writable || out.Token.Value != stored.Value || out.Failures != i {
			t.Fatalf("Refresh in the outage = %+v; want the stored token kept and writable", out)
		}
		backoffs = append(backoffs, out.Next.Sub(c.Now()))
		c.Add(out.Next.Sub(c.Now()))
	}
	if want := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second}; fmt.Sprint(backoffs) != fmt.Sprint(want) {
		t.Errorf("back-offs = %v, want %v", backoffs, want)
	}

	// Within the margin the stored token may no longer be written.
	c.Add(55*time.Minute - c.Now().Sub(t0))
	out, err = r.Refresh(ctx, stored)
	var re *icr.RenewError
	if !errors.As(err, &re) || re.Kept || out.Writable || out.Config != nil {
		t.Fatalf("Refresh within the margin = %+v, %v; want nothing writable", out, err)
	}
	if !strings.Contains(err.Error(), "no valid token to keep") {
		t.Errorf("error = %q, want it to say there is no token to keep", err)
	}

	// IAM is back: a new token, failures reset.
	src.fail(nil)
	out, err = r.Refresh(ctx, stored)
	if err != nil || !out.Renewed || !out.Writable || out.Failures != 0 || out.Token.Value.Reveal() != "token-2" {
		t.Fatalf("Refresh after the outage = %+v, %v; want token-2", out, err)
	}
}

// shortSource hands out tokens that are already within the margin.
type shortSource struct{ clock *clock }

func (s shortSource) Token(context.Context) (iam.Token, error) {
	return token("short", s.clock.Now().Add(-time.Hour), time.Hour+time.Second), nil
}

func TestRefresherRefusesShortLivedTokens(t *testing.T) {
	c := &clock{now: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)}
	r, err := icr.NewRefresher(shortSource{c}, domains, icr.RefresherOptions{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.Refresh(context.Background(), iam.Token{})
	if !errors.Is(err, icr.ErrShortLived) || out.Writable || out.Config != nil {
		t.Errorf("Refresh = %+v, %v; want ErrShortLived and nothing writable", out, err)
	}
}

func TestNewRefresherValidates(t *testing.T) {
	_, err := icr.NewRefresher(nil, []string{"us.icr.io", ""}, icr.RefresherOptions{Policy: icr.RefreshPolicy{Margin: -time.Second}})
	var ie *registrykit.InvalidError
	if !errors.As(err, &ie) || len(ie.Errs) != 3 {
		t.Fatalf("error = %v, want 3 field errors (src, margin, domains[1])", err)
	}
}

// Against the fake IAM with tokens of a few seconds: every token the
// refresher offers is one IAM still accepts, renewal happens before
// expiry, and outages (failing and hanging) keep the last token.
func TestRefresherWithIAM(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for seconds")
	}
	srv := iamtest.NewServer(iamtest.WithTokenLifetime(3 * time.Second))
	t.Cleanup(srv.Close)
	p := srv.AddTrustedProfile("puller", "system:serviceaccount:kube-system:registrykit")
	src, err := iam.NewTrustedProfileTokenSource(iam.TrustedProfileOptions{
		ProfileID: p.ID, CRToken: iam.NewSecret(srv.CRToken("system:serviceaccount:kube-system:registrykit", 0)),
		TokenOptions: iam.TokenOptions{URL: srv.URL()},
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := icr.NewRefresher(src, domains, icr.RefresherOptions{})
	if err != nil {
		t.Fatal(err)
	}

	var stored iam.Token
	renewals, failures := 0, 0
	run := func(d time.Duration) {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		for ctx.Err() == nil {
			callCtx, stop := context.WithTimeout(ctx, 500*time.Millisecond)
			out, err := r.Refresh(callCtx, stored)
			stop()
			if err != nil {
				failures++
			}
			if out.Renewed {
				renewals++
				if !srv.TokenValidAt(out.Token.Value.Reveal(), time.Now().Add(icr.RefreshPolicy{}.MarginFor(out.Token))) {
					t.Errorf("a renewed token is not valid for the margin at IAM")
				}
			}
			if out.Writable {
				// What a writer would store now is valid at IAM.
				if !srv.TokenValidAt(out.Token.Value.Reveal(), time.Now()) {
					t.Errorf("Refresh offered a token IAM no longer accepts")
				}
				stored = out.Token
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Until(out.Next)):
			}
		}
	}

	run(7 * time.Second)
	if renewals < 3 {
		t.Errorf("%d renewals in 7s of 3s tokens, want at least 3", renewals)
	}

	// A failing token service: the last token is kept until the margin.
	srv.Outage(iamtest.OpGetToken, 503)
	before := stored
	renewals, failures = 0, 0
	run(1500 * time.Millisecond)
	if renewals != 0 || failures == 0 {
		t.Errorf("in a 503 outage: %d renewals, %d failures; want 0 and some", renewals, failures)
	}
	if stored.Value != before.Value {
		t.Error("the stored token changed during the outage")
	}
	srv.Resume(iamtest.OpGetToken)

	// A hung token service: each Refresh returns with its ctx.
	run(4 * time.Second) // renew first
	srv.Outage(iamtest.OpGetToken, 0)
	renewals, failures = 0, 0
	start := time.Now()
	run(1500 * time.Millisecond)
	if renewals != 0 || time.Since(start) > 3*time.Second {
		t.Errorf("in a hung outage: %d renewals, returned after %v", renewals, time.Since(start))
	}
	srv.Resume(iamtest.OpGetToken)
	run(3 * time.Second)
	if renewals == 0 {
		t.Error("no renewal after the outage")
	}
}
