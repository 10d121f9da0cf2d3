package icr_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/icr"
)

// token is a token issued at iat for lifetime.
func token(value string, iat time.Time, lifetime time.Duration) iam.Token {
	return iam.Token{Value: iam.NewSecret(value), IssuedAt: iat, Expiry: iat.Add(lifetime)}
}

func TestDecide(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	hour := token("h", t0, time.Hour)      // renew at 48m; margin 5m → writable until 55m
	short := token("s", t0, 4*time.Second) // renew at 3.2s; margin 400ms → writable until 3.6s
	noIat := iam.Token{Value: iam.NewSecret("n"), Expiry: t0.Add(time.Hour)}
	tests := []struct {
		name   string
		policy icr.RefreshPolicy
		stored iam.Token
		now    time.Time
		want   icr.Decision
	}{
		{"nothing stored", icr.RefreshPolicy{}, iam.Token{}, t0, icr.Decision{Renew: true}},
		{"expiry unknown", icr.RefreshPolicy{}, iam.Token{Value: iam.NewSecret("x")}, t0, icr.Decision{Renew: true}},
		{"fresh", icr.RefreshPolicy{}, hour, t0.Add(10 * time.Minute),
			icr.Decision{Writable: true, RenewAt: t0.Add(48 * time.Minute), WritableUntil: t0.Add(55 * time.Minute)}},
		{"just before 80%", icr.RefreshPolicy{}, hour, t0.Add(48*time.Minute - time.Nanosecond),
			icr.Decision{Writable: true, RenewAt: t0.Add(48 * time.Minute), WritableUntil: t0.Add(55 * time.Minute)}},
		{"at 80%", icr.RefreshPolicy{}, hour, t0.Add(48 * time.Minute),
			icr.Decision{Renew: true, Writable: true, RenewAt: t0.Add(48 * time.Minute), WritableUntil: t0.Add(55 * time.Minute)}},
		{"within the margin", icr.RefreshPolicy{}, hour, t0.Add(55 * time.Minute),
			icr.Decision{Renew: true, RenewAt: t0.Add(48 * time.Minute), WritableUntil: t0.Add(55 * time.Minute)}},
		{"expired", icr.RefreshPolicy{}, hour, t0.Add(2 * time.Hour),
			icr.Decision{Renew: true, RenewAt: t0.Add(48 * time.Minute), WritableUntil: t0.Add(55 * time.Minute)}},
		{"short-lived: margin is a tenth", icr.RefreshPolicy{}, short, t0.Add(3 * time.Second),
			icr.Decision{Writable: true, RenewAt: t0.Add(3200 * time.Millisecond), WritableUntil: t0.Add(3600 * time.Millisecond)}},
		{"margin larger than a fifth: renew when it starts", icr.RefreshPolicy{Margin: 20 * time.Minute}, hour, t0.Add(40 * time.Minute),
			icr.Decision{Renew: true, RenewAt: t0.Add(40 * time.Minute), WritableUntil: t0.Add(40 * time.Minute)}},
		{"issue time unknown: renew at the margin", icr.RefreshPolicy{}, noIat, t0.Add(50 * time.Minute),
			icr.Decision{Writable: true, RenewAt: t0.Add(55 * time.Minute), WritableUntil: t0.Add(55 * time.Minute)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.policy.Decide(tt.stored, tt.now)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
			if w := tt.policy.Writable(tt.stored, tt.now); w != tt.want.Writable {
				t.Errorf("Writable = %v, want %v", w, tt.want.Writable)
			}
		})
	}
}

func TestFreshFor(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	hour := token("h", t0, time.Hour)
	var p icr.RefreshPolicy
	for _, tt := range []struct {
		now  time.Time
		want time.Duration
	}{
		{t0, 48 * time.Minute},
		{t0.Add(40 * time.Minute), 8 * time.Minute},
		{t0.Add(48 * time.Minute), 0},
		{t0.Add(2 * time.Hour), 0},
	} {
		if got := p.FreshFor(hour, tt.now); got != tt.want {
			t.Errorf("FreshFor at +%v = %v, want %v", tt.now.Sub(t0), got, tt.want)
		}
		if got := p.FreshFor(hour, tt.now); got > 0 && !tt.now.Add(got).Before(hour.Expiry) {
			t.Errorf("FreshFor at +%v = %v reaches past the expiry", tt.now.Sub(t0), got)
		}
	}
	if got := p.FreshFor(iam.Token{Value: iam.NewSecret("x")}, t0); got != 0 {
		t.Errorf("FreshFor(unknown expiry) = %v, want 0", got)
	}
}

func TestBackoff(t *testing.T) {
	var p icr.RefreshPolicy
	var hour, short []time.Duration
	for f := 1; f <= 9; f++ {
		hour = append(hour, p.Backoff(f, time.Hour))
		short = append(short, p.Backoff(f, 4*time.Second))
	}
	s := time.Second
	if diff := cmp.Diff([]time.Duration{5 * s, 10 * s, 20 * s, 40 * s, 80 * s, 160 * s, 300 * s, 300 * s, 300 * s}, hour); diff != "" {
		t.Errorf("one-hour token (-want +got):\n%s", diff)
	}
	ms := time.Millisecond
	if diff := cmp.Diff([]time.Duration{200 * ms, 400 * ms, 800 * ms, s, s, s, s, s, s}, short); diff != "" {
		t.Errorf("4s token (-want +got):\n%s", diff)
	}
	if got := p.Backoff(1, 0); got != 5*s {
		t.Errorf("unknown lifetime: %v, want 5s", got)
	}
	if got := p.Backoff(1000, 0); got != 300*s {
		t.Errorf("unknown lifetime, many failures: %v, want 5m", got)
	}
}
