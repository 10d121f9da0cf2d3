package propagate_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
	"github.com/registrykit/registrykit/icr"
	"github.com/registrykit/registrykit/propagate"
)

// keyless is one test's refresher-mode world: an IAM whose tokens live a
// few seconds, the credentials it holds (none of which may reach a
// secret), and the scope's rule in refresher mode.
type keyless struct {
	s        *scope
	srv      *iamtest.Server
	lifetime time.Duration

	mu      sync.Mutex
	secrets []string // every API key and compute-resource token the IAM holds
}

func newKeyless(t *testing.T, lifetime time.Duration) *keyless {
	t.Helper()
	k := &keyless{s: newScope(t), srv: iamtest.NewServer(iamtest.WithTokenLifetime(lifetime)), lifetime: lifetime}
	t.Cleanup(k.srv.Close)
	return k
}

// apiKeySource returns a token source with a new API key of a service ID,
// kept here, outside the cluster.
func (k *keyless) apiKeySource(t *testing.T) iam.TokenSource {
	t.Helper()
	sid := k.srv.AddServiceID("puller-"+k.s.id, "pulls from icr.io")
	key := k.srv.AddAPIKey(sid.IAMID)
	k.remember(key)
	src, err := iam.NewAPIKeyTokenSource(iam.NewSecret(key), iam.TokenOptions{URL: k.srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func (k *keyless) remember(v string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.secrets = append(k.secrets, v)
}

// rule is the scope's rule in refresher mode.
func (k *keyless) rule(src iam.TokenSource) propagate.Rule {
	r := k.s.rule()
	r.Bearer = &propagate.Bearer{TokenSource: src, Domains: []string{"us.icr.io", "icr.io"}}
	return r
}

// bearerToken is the iambearer token s holds, if any.
func bearerToken(s *corev1.Secret) (string, bool) {
	cfg, err := dockerconfig.ParseSecret(string(s.Type), s.Data)
	if err != nil {
		return "", false
	}
	tok, ok := icr.BearerToken(cfg)
	return tok.Value.Reveal(), ok
}

// sourceToken is the token the source holds now ("" if none).
func (k *keyless) sourceToken(t *testing.T) string {
	t.Helper()
	src, err := env.Kube.CoreV1().Secrets(k.s.source.Namespace).Get(t.Context(), k.s.source.Name, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	tok, _ := bearerToken(src)
	return tok
}

// waitRenewal waits until the source holds a token other than old and
// checks that this happened before old expired; it returns the new token
// and when, as a fraction of old's lifetime, the renewal was seen.
func (k *keyless) waitRenewal(t *testing.T, old string) (string, float64) {
	t.Helper()
	exp, ok := k.srv.TokenExpiry(old)
	if !ok {
		t.Fatal("the source holds a token the IAM did not issue")
	}
	var next string
	eventually(t, "token renewed", func() error {
		if next = k.sourceToken(t); next == old || next == "" {
			return errors.New("not renewed yet")
		}
		return nil
	})
	seen := time.Now()
	if !seen.Before(exp) {
		t.Errorf("the token was renewed %s after it expired", seen.Sub(exp))
	}
	issued := exp.Add(-k.lifetime)
	return next, float64(seen.Sub(issued)) / float64(k.lifetime)
}

// writeWatch sees every write of a secret with the scope's name, in any
// namespace, through a watch, and checks the iambearer token each carries
// against the IAM at that moment.
type writeWatch struct {
	mu      sync.Mutex
	writes  int
	bad     []string
	minLeft time.Duration // the shortest remaining life of a written token
}

func (k *keyless) watchWrites(t *testing.T) *writeWatch {
	t.Helper()
	w := &writeWatch{minLeft: k.lifetime}
	ctx, cancel := context.WithCancel(context.Background())
	sel := fields.OneTermEqualSelector("metadata.name", k.s.source.Name).String()
	list, err := env.Kube.CoreV1().Secrets("").List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		t.Fatal(err)
	}
	rv := list.ResourceVersion
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			wi, err := env.Kube.CoreV1().Secrets("").Watch(ctx, metav1.ListOptions{FieldSelector: sel, ResourceVersion: rv, AllowWatchBookmarks: true})
			if err != nil {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			for ev := range wi.ResultChan() {
				s, ok := ev.Object.(*corev1.Secret)
				if !ok {
					continue
				}
				rv = s.ResourceVersion
				if ev.Type == watch.Added || ev.Type == watch.Modified {
					w.check(k, s, time.Now())
				}
			}
			wi.Stop()
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

func (w *writeWatch) check(k *keyless, s *corev1.Secret, now time.Time) {
	tok, ok := bearerToken(s)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	exp, issued := k.srv.TokenExpiry(tok)
	switch {
	case !issued:
		w.bad = append(w.bad, fmt.Sprintf("%s/%s rv %s: a token the IAM did not issue", s.Namespace, s.Name, s.ResourceVersion))
	case !k.srv.TokenValidAt(tok, now):
		w.bad = append(w.bad, fmt.Sprintf("%s/%s rv %s: a token that expired %s before the write was seen", s.Namespace, s.Name, s.ResourceVersion, now.Sub(exp)))
	default:
		w.minLeft = min(w.minLeft, exp.Sub(now))
	}
}

func (w *writeWatch) result() (writes int, bad []string, minLeft time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes, append([]string(nil), w.bad...), w.minLeft
}

// reader reads every secret of every namespace again and again, as
// someone who can read secrets would, and checks what it finds: no value
// holds a credential of the IAM's (an API key, a compute-resource token;
// raw or base64), and every iambearer token in a secret with the scope's
// name is valid at the moment it is read.
type reader struct {
	mu      sync.Mutex
	reads   int // full reads of every secret
	tokens  int // iambearer tokens checked
	secrets int // secrets scanned
	bad     []string
}

func (k *keyless) read(t *testing.T) *reader {
	t.Helper()
	r := &reader{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			r.scan(ctx, k)
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

func (r *reader) scan(ctx context.Context, k *keyless) {
	list, err := env.Kube.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return // cancelled, or the server is busy: read again
	}
	now := time.Now()
	k.mu.Lock()
	var needles []string
	for _, v := range k.secrets {
		needles = append(needles, v, base64.StdEncoding.EncodeToString([]byte(v)),
			base64.StdEncoding.EncodeToString([]byte(icr.APIKeyUsername+":"+v)))
	}
	k.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reads++
	for i := range list.Items {
		s := &list.Items[i]
		r.secrets++
		for field, v := range s.Data {
			for _, n := range needles {
				if strings.Contains(string(v), n) {
					// Name the secret, never the value.
					r.bad = append(r.bad, fmt.Sprintf("%s/%s %s holds a credential of the IAM", s.Namespace, s.Name, field))
				}
			}
		}
		if s.Name != k.s.source.Name {
			continue
		}
		tok, ok := bearerToken(s)
		if !ok {
			continue
		}
		r.tokens++
		// Valid for the IAM that issued it, and by its own exp claim
		// (which iamtest truncates to the second, as a reader sees it).
		parsed := iam.ParseToken(tok)
		if !k.srv.TokenValidAt(tok, now) || !parsed.ValidAt(now) {
			exp, _ := k.srv.TokenExpiry(tok)
			r.bad = append(r.bad, fmt.Sprintf("%s/%s rv %s: read at %s a token that expired at %s (exp claim %s)",
				s.Namespace, s.Name, s.ResourceVersion, now.Format("15:04:05.000"), exp.Format("15:04:05.000"), parsed.Expiry.Format("15:04:05")))
		}
	}
}

func (r *reader) result() (reads, tokens, secrets int, bad []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reads, r.tokens, r.secrets, append([]string(nil), r.bad...)
}

// failedRenewals is the metrics line counting failed renewals of rule in
// p, "" before the first failure.
func failedRenewals(t *testing.T, p *propagate.Propagator, rule string) string {
	t.Helper()
	return grep(scrape(t, p), `registrykit_propagate_token_renewals_total{result="error",rule="`+rule+`"}`)
}

// Refresher mode on a real API server, with tokens of 6 seconds (see
// TestBearerTrustedProfileHoldsNoCredential for why not fewer): the
// source is renewed before its token expires and the copies follow; a
// namespace created at any moment gets a valid token; an IAM outage keeps
// the last token; no write ever carries an expired token, no reader ever
// finds one, and no secret of the cluster holds an API key.
func TestBearerRefresher(t *testing.T) {
	t.Parallel()
	const lifetime = 6 * time.Second
	k := newKeyless(t, lifetime)
	s := k.s
	writes := k.watchWrites(t)
	reads := k.read(t)

	var nss []string
	for range 2 {
		ns := s.namespace(nil)
		createSA(t, ns, "default")
		nss = append(nss, ns)
	}
	rule := k.rule(k.apiKeySource(t))
	r := start(t, propagate.Options{Rules: []propagate.Rule{rule}})
	for _, ns := range nss {
		s.waitConverged(ns, "default")
	}

	// Two renewals: each before the token expires (at 80% of its
	// lifetime), the copies follow, and a namespace created just after
	// gets the new token.
	tok := k.sourceToken(t)
	for i := range 2 {
		next, at := k.waitRenewal(t, tok)
		t.Logf("renewal %d seen at %.0f%% of the token's lifetime", i+1, 100*at)
		if at > 0.9 {
			t.Errorf("renewal %d seen at %.0f%% of the token's lifetime, want about 80%% (before the 10%% margin)", i+1, 100*at)
		}
		ns := s.namespace(nil)
		createSA(t, ns, "default")
		nss = append(nss, ns)
		for _, ns := range nss {
			s.waitConverged(ns, "default")
		}
		tok = next
	}

	// An IAM outage: the renewal fails, the source keeps its token (still
	// valid), a namespace created then gets it, and the failure is
	// reported; once IAM is back the source is renewed before the kept
	// token expires.
	kept := tok
	k.srv.Outage(iamtest.OpGetToken, 503)
	during := s.namespace(nil)
	s.waitConverged(during)
	eventually(t, "renewal failure reported", func() error {
		if failedRenewals(t, r.P, rule.Source.String()) == "" {
			return errors.New("token_renewals_total{result=error} not yet counted")
		}
		return nil
	})
	if got := k.sourceToken(t); got != kept {
		t.Error("the source changed during the outage")
	}
	if !k.srv.TokenValidAt(kept, time.Now()) {
		t.Error("the kept token expired before the renewal failed")
	}
	k.srv.Resume(iamtest.OpGetToken)
	after, at := k.waitRenewal(t, kept)
	t.Logf("renewal after the outage seen at %.0f%% of the kept token's lifetime", 100*at)
	nss = append(nss, during)
	for _, ns := range nss {
		s.waitConverged(ns)
	}
	eventually(t, "TokenRenewalFailed event", func() error {
		evs, err := env.Kube.CoreV1().Events(rule.Source.Namespace).List(t.Context(), metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("reason", "TokenRenewalFailed").String()})
		if err != nil {
			return err
		}
		for _, e := range evs.Items {
			if e.InvolvedObject.Name == rule.Source.Name {
				return nil
			}
		}
		return errors.New("no TokenRenewalFailed event on the source")
	})

	// The metrics give the age and the time to expiry of the token the
	// source holds.
	m := scrape(t, r.P)
	for _, name := range []string{"registrykit_propagate_token_age_seconds", "registrykit_propagate_token_expiry_seconds"} {
		line := grep(m, name+`{rule="`+rule.Source.String()+`"}`)
		var v float64
		if _, err := fmt.Sscanf(line[strings.LastIndex(line, " ")+1:], "%g", &v); err != nil || v < 0 || v > lifetime.Seconds() {
			t.Errorf("%s: %q, want a value in [0, %g]", name, line, lifetime.Seconds())
		}
	}
	if exp, _ := k.srv.TokenExpiry(after); !exp.After(time.Now()) {
		t.Error("the source's token expired at the end of the test")
	}

	// Every write carried a valid token; every read found one; no secret
	// held a credential of the IAM.
	reads.scan(t.Context(), k) // once more, now
	n, bad, minLeft := writes.result()
	for _, b := range bad {
		t.Errorf("written: %s", b)
	}
	nr, tokens, scanned, badReads := reads.result()
	for _, b := range badReads {
		t.Errorf("read: %s", b)
	}
	if n < 3*len(nss) || nr < 10 || tokens == 0 {
		t.Errorf("%d iambearer writes seen, %d full reads with %d tokens: too few to prove anything", n, nr, tokens)
	}
	t.Logf("%d iambearer writes seen (shortest remaining life %s of %s); %d reads of every secret (%d secrets, %d tokens checked)",
		n, minLeft.Round(time.Millisecond), lifetime, nr, scanned, tokens)
}

// A cluster in keyless mode with a trusted profile holds no credential of
// IAM at all: neither an API key nor the compute-resource token, only
// iambearer tokens that are valid when read.
//
// The lifetime is 6 s, above 5 s: iamtest's exp claim is its expiry
// truncated to the second, so with shorter tokens a reader going by the
// claim would see a token expire up to 1 s early, before 80% of its
// lifetime, when the refresher renews it.
func TestBearerTrustedProfileHoldsNoCredential(t *testing.T) {
	t.Parallel()
	k := newKeyless(t, 6*time.Second)
	s := k.s
	const subject = "system:serviceaccount:registrykit:propagate"
	p := k.srv.AddTrustedProfile("puller-"+s.id, subject)
	crToken := k.srv.CRToken(subject, time.Hour)
	k.remember(crToken)
	file := t.TempDir() + "/cr-token"
	if err := os.WriteFile(file, []byte(crToken), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := iam.NewTrustedProfileTokenSource(iam.TrustedProfileOptions{ProfileName: p.Name, CRTokenFile: file, TokenOptions: iam.TokenOptions{URL: k.srv.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	reads := k.read(t)
	ns := s.namespace(nil)
	createSA(t, ns, "default")
	start(t, propagate.Options{Rules: []propagate.Rule{k.rule(src)}})
	s.waitConverged(ns, "default")
	first := k.sourceToken(t)
	k.waitRenewal(t, first)
	s.waitConverged(ns, "default")
	reads.scan(t.Context(), k)
	nr, tokens, _, bad := reads.result()
	for _, b := range bad {
		t.Errorf("read: %s", b)
	}
	if tokens == 0 || nr < 2 {
		t.Errorf("%d reads found %d tokens: too few to prove anything", nr, tokens)
	}
}
