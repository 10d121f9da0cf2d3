package propagate

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	k8stesting "k8s.io/client-go/testing"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
	"github.com/registrykit/registrykit/icr"
	"github.com/registrykit/registrykit/pullsecret"
)

var bearerSource = types.NamespacedName{Namespace: "registrykit", Name: "icr-bearer"}

// writeLog checks every secret the fake is asked to write: an iambearer
// token in it must be one IAM accepts at that moment.
type writeLog struct {
	srv *iamtest.Server
	mu  sync.Mutex
	bad []string
	n   int // iambearer writes seen
}

func (w *writeLog) react(a k8stesting.Action) (bool, runtime.Object, error) {
	// CreateAction and UpdateAction both carry the object written.
	wa, ok := a.(interface{ GetObject() runtime.Object })
	if !ok {
		return false, nil, nil
	}
	s, ok := wa.GetObject().(*corev1.Secret)
	if !ok {
		return false, nil, nil
	}
	cfg, err := dockerconfig.ParseSecret(string(s.Type), s.Data)
	if err != nil {
		return false, nil, nil
	}
	now := time.Now()
	for server, e := range cfg.Auths {
		if e.Username != icr.BearerUsername {
			continue
		}
		w.mu.Lock()
		w.n++
		if !w.srv.TokenValidAt(e.Password, now) {
			w.bad = append(w.bad, fmt.Sprintf("%s %s/%s (%s) at %s", a.GetVerb(), s.Namespace, s.Name, server, now.Format("15:04:05.000")))
		}
		w.mu.Unlock()
	}
	return false, nil, nil
}

func (w *writeLog) check(t *testing.T) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n == 0 {
		t.Error("no iambearer token was written")
	}
	for _, b := range w.bad {
		t.Errorf("a token IAM no longer accepts was written: %s", b)
	}
}

// bearerFixture runs a rule in refresher mode with tokens of lifetime.
func bearerFixture(t *testing.T, lifetime time.Duration, objs ...any) (*fixture, *iamtest.Server, *writeLog) {
	t.Helper()
	return bearerFixtureWith(t, lifetime, pullsecret.LeaveForeign, objs...)
}

// bearerFixtureWith is bearerFixture with the rule's Adoption.
func bearerFixtureWith(t *testing.T, lifetime time.Duration, adoption pullsecret.Adoption, objs ...any) (*fixture, *iamtest.Server, *writeLog) {
	t.Helper()
	srv := iamtest.NewServer(iamtest.WithTokenLifetime(lifetime))
	t.Cleanup(srv.Close)
	key := srv.AddAPIKey("iam-ServiceId-puller")
	src, err := iam.NewAPIKeyTokenSource(iam.NewSecret(key), iam.TokenOptions{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	w := &writeLog{srv: srv}
	objs = append([]any{namespace(bearerSource.Namespace, nil)}, objs...)
	f := startWith(t, Options{Rules: []Rule{{Source: bearerSource, Adoption: adoption, Bearer: &Bearer{TokenSource: src, Domains: []string{"us.icr.io", "de.icr.io"}}}}},
		func(kube *k8stesting.Fake) {
			kube.PrependReactor("create", "secrets", w.react)
			kube.PrependReactor("update", "secrets", w.react)
		}, objs...)
	return f, srv, w
}

// bearerIn returns the iambearer token of ns's secret, or "".
func (f *fixture) bearerIn(ns string) string {
	s, err := f.getSecret(ns, bearerSource.Name)
	if err != nil {
		return ""
	}
	cfg, err := dockerconfig.ParseSecret(string(s.Type), s.Data)
	if err != nil {
		return ""
	}
	tok, _ := icr.BearerToken(cfg)
	return tok.Value.Reveal()
}

func TestBearerRenewsSourceAndCopiesFollow(t *testing.T) {
	f, srv, w := bearerFixture(t, 2*time.Second, namespace("team-a", nil), serviceAccount("team-a", "default"))
	f.eventually("source written", func() error {
		if f.bearerIn(bearerSource.Namespace) == "" {
			return errors.New("no iambearer token in the source")
		}
		return nil
	})
	first := f.bearerIn(bearerSource.Namespace)
	f.copyInOf(bearerSource, "team-a")
	f.attached("team-a", "default", bearerSource.Name)

	// Renewed before it expires: a new token is in the source while the
	// first is still valid.
	var second string
	f.eventually("renewed", func() error {
		second = f.bearerIn(bearerSource.Namespace)
		if second == first {
			return errors.New("not renewed yet")
		}
		return nil
	})
	if !srv.TokenValidAt(first, time.Now()) {
		t.Error("the first token expired before the source was renewed")
	}
	// A namespace created now gets the current token.
	if _, err := f.kube.CoreV1().Namespaces().Create(t.Context(), namespace("team-b", nil), metav1CreateOptions); err != nil {
		t.Fatal(err)
	}
	f.copyInOf(bearerSource, "team-b")
	f.copyInOf(bearerSource, "team-a")

	// Several renewals later, every write held a valid token.
	time.Sleep(3 * time.Second)
	f.copyInOf(bearerSource, "team-a")
	w.check(t)
	if got := metricValue(t, f.p, "registrykit_propagate_token_renewals_total"); got < 3 {
		t.Errorf("token_renewals_total = %v, want at least 3", got)
	}
	if age := metricValue(t, f.p, "registrykit_propagate_token_age_seconds"); age < 0 || age > 2 {
		t.Errorf("token_age_seconds = %v, want within the 2s lifetime", age)
	}
	if exp := metricValue(t, f.p, "registrykit_propagate_token_expiry_seconds"); exp <= 0 || exp > 2 {
		t.Errorf("token_expiry_seconds = %v, want in (0, 2]", exp)
	}
	// The source was missing until the first token: expected, no Event.
	for _, e := range f.events() {
		if strings.Contains(e, "SourceUnavailable") {
			t.Errorf("event while the first token was on its way: %s", e)
		}
	}
	// The source is the iambearer document for the rule's domains.
	s, _ := f.getSecret(bearerSource.Namespace, bearerSource.Name)
	cfg, err := dockerconfig.ParseSecret(string(s.Type), s.Data)
	if err != nil || strings.Join(cfg.Servers(), ",") != "de.icr.io,us.icr.io" || s.Type != corev1.SecretTypeDockerConfigJson {
		t.Errorf("source = %s %v (%v), want a dockerconfigjson for de.icr.io and us.icr.io", s.Type, cfg.Servers(), err)
	}
}

// In an IAM outage the source keeps its token while it is valid (a new
// namespace still gets it), then nothing is written until IAM is back.
func TestBearerOutage(t *testing.T) {
	f, srv, w := bearerFixture(t, 3*time.Second, namespace("team-a", nil))
	f.eventually("source written", func() error {
		if f.bearerIn(bearerSource.Namespace) == "" {
			return errors.New("no iambearer token in the source")
		}
		return nil
	})
	// Just renewed: an outage now has ~2.7 s of writable token left.
	before := f.bearerIn(bearerSource.Namespace)
	f.eventually("renewed", func() error {
		if f.bearerIn(bearerSource.Namespace) == before {
			return errors.New("not renewed yet")
		}
		return nil
	})
	srv.Outage(iamtest.OpGetToken, 503)
	kept := f.bearerIn(bearerSource.Namespace)
	exp, _ := srv.TokenExpiry(kept)

	if _, err := f.kube.CoreV1().Namespaces().Create(t.Context(), namespace("during", nil), metav1CreateOptions); err != nil {
		t.Fatal(err)
	}
	f.copyInOf(bearerSource, "during")
	if got := f.bearerIn("during"); got != kept {
		t.Error("a namespace created in the outage did not get the kept token")
	}
	f.eventually("renewal failure reported", func() error {
		for _, e := range f.events() {
			if strings.Contains(e, "TokenRenewalFailed") {
				return nil
			}
		}
		return errors.New("no TokenRenewalFailed event")
	})

	// Past the kept token's expiry: a new namespace gets nothing.
	time.Sleep(time.Until(exp) + 200*time.Millisecond)
	if _, err := f.kube.CoreV1().Namespaces().Create(t.Context(), namespace("after-expiry", nil), metav1CreateOptions); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if _, err := f.getSecret("after-expiry", bearerSource.Name); !apierrors.IsNotFound(err) {
		t.Errorf("after-expiry got a secret (%v) while only an expired token was there", err)
	}
	if got := f.bearerIn(bearerSource.Namespace); got != kept {
		t.Error("the source changed during the outage")
	}

	// IAM is back: everything gets a fresh token.
	srv.Resume(iamtest.OpGetToken)
	for _, ns := range []string{"after-expiry", "during", "team-a"} {
		f.copyInOf(bearerSource, ns)
		if got := f.bearerIn(ns); got == kept {
			t.Errorf("%s still holds the expired token", ns)
		}
	}
	w.check(t)
	if got := metricValueWhere(t, f.p, "registrykit_propagate_token_renewals_total", "result", "error"); got == 0 {
		t.Error("token_renewals_total{result=error} = 0 after an outage")
	}
}

func TestBearerValidates(t *testing.T) {
	domains := []string{"us.icr.io", "https://", ""}
	_, err := New(fakeKube(), Options{Rules: []Rule{{Source: bearerSource, Bearer: &Bearer{Domains: domains, Policy: icr.RefreshPolicy{Margin: -1}}}}})
	got := fieldPathsOf(err)
	want := "rules[0].bearer.domains[1],rules[0].bearer.domains[2],rules[0].bearer.policy.margin,rules[0].bearer.tokenSource"
	if strings.Join(got, ",") != want {
		t.Errorf("field errors = %v, want %s", got, want)
	}
	// Domains are checked as icr checks them for every workflow.
	var ie *registrykit.InvalidError
	if !errors.As(err, &ie) {
		t.Fatal(err)
	}
	for _, w := range icr.ValidateDomains(field.NewPath("rules").Index(0).Child("bearer", "domains"), domains) {
		if !slices.ContainsFunc(ie.Errs, func(e *field.Error) bool { return *e == *w }) {
			t.Errorf("missing %v (as icr.ValidateDomains reports it) in %v", w, ie.Errs)
		}
	}
}

// Two rules that write a source (refresher or builder mode) cannot share
// it; a plain rule may copy it.
func TestBearerOneWriterPerSource(t *testing.T) {
	src, err := iam.NewAPIKeyTokenSource(iam.NewSecret("k"), iam.TokenOptions{URL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	b := &Bearer{TokenSource: src}
	_, err = New(fakeKube(), Options{Rules: []Rule{
		{Name: "a", Source: bearerSource, Bearer: b},
		{Name: "b", Source: bearerSource, CopyName: "other"},
		{Name: "c", Source: bearerSource, CopyName: "third", Bearer: b},
	}})
	if got := strings.Join(fieldPathsOf(err), ","); got != "rules[2].source" {
		t.Errorf("field errors = %s, want rules[2].source", got)
	}
	_, err = New(fakeKube(), Options{Rules: []Rule{
		{Name: "a", Source: bearerSource, Bearer: b},
		{Name: "b", Source: bearerSource, CopyName: "other", InternalRegistry: &InternalRegistry{Host: "registry.apps.example.com"}},
	}})
	if got := strings.Join(fieldPathsOf(err), ","); got != "rules[1].source" {
		t.Errorf("refresher and builder mode on one source: field errors = %s, want rules[1].source", got)
	}
	if _, err := New(fakeKube(), Options{Rules: []Rule{{Name: "a", Source: bearerSource, Bearer: b}, {Name: "b", Source: bearerSource, CopyName: "other"}}}); err != nil {
		t.Errorf("a plain rule copying a refresher-mode source: %v", err)
	}
}

// A retired rule in refresher mode asks IAM for nothing and writes nothing.
func TestBearerRetiredRenewsNothing(t *testing.T) {
	srv := iamtest.NewServer()
	t.Cleanup(srv.Close)
	src, err := iam.NewAPIKeyTokenSource(iam.NewSecret(srv.AddAPIKey("iam-ServiceId-puller")), iam.TokenOptions{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	f := start(t, Options{Rules: []Rule{{Source: bearerSource, Bearer: &Bearer{TokenSource: src}, Retired: true, Prune: true}}},
		namespace(bearerSource.Namespace, nil), namespace("team-a", nil))
	time.Sleep(300 * time.Millisecond)
	if _, err := f.getSecret(bearerSource.Namespace, bearerSource.Name); !apierrors.IsNotFound(err) {
		t.Errorf("a retired rule wrote its source (%v)", err)
	}
	if n := len(srv.IssuedTokens()); n != 0 {
		t.Errorf("a retired rule got %d tokens", n)
	}
}

// Switching a cluster to keyless: the source holding the guide's API key
// is rewritten with a token (its labels kept), a copy made by hand is
// adopted with AdoptForeign, and then no secret holds the key.
func TestBearerReplacesAnAPIKeySource(t *testing.T) {
	old := pullSecret(t, bearerSource.Namespace, bearerSource.Name, "us.icr.io", "de.icr.io")
	old.Labels = map[string]string{"team": "platform"}
	byHand := pullSecret(t, "team-a", bearerSource.Name, "us.icr.io", "de.icr.io")
	f, _, w := bearerFixtureWith(t, 10*time.Second, pullsecret.AdoptForeign, old, namespace("team-a", nil), byHand)
	f.eventually("source and copy hold a token", func() error {
		for _, ns := range []string{bearerSource.Namespace, "team-a"} {
			if f.bearerIn(ns) == "" {
				return errors.New(ns + " holds no iambearer token")
			}
		}
		return nil
	})
	f.copyInOf(bearerSource, "team-a")
	w.check(t)
	list, err := f.kube.CoreV1().Secrets("").List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list.Items {
		for k, v := range s.Data {
			if strings.Contains(string(v), testPassword) || strings.Contains(string(v), base64.StdEncoding.EncodeToString([]byte("iamapikey:"+testPassword))) {
				t.Errorf("%s/%s %s still holds the API key", s.Namespace, s.Name, k)
			}
		}
	}
	src, _ := f.getSecret(bearerSource.Namespace, bearerSource.Name)
	if src.Labels["team"] != "platform" {
		t.Errorf("source labels = %v, want the old ones kept", src.Labels)
	}
}

var metav1CreateOptions = metav1.CreateOptions{}

// copyInOf waits for a current copy of src in ns.
func (f *fixture) copyInOf(src types.NamespacedName, ns string) {
	f.t.Helper()
	f.eventually("copy of "+src.String()+" in "+ns, func() error {
		s, err := f.getSecret(src.Namespace, src.Name)
		if err != nil {
			return err
		}
		c, err := f.getSecret(ns, src.Name)
		if err != nil {
			return err
		}
		if string(c.Data[corev1.DockerConfigJsonKey]) != string(s.Data[corev1.DockerConfigJsonKey]) {
			return errors.New("the copy's data differs from the source")
		}
		return nil
	})
}

// fieldPathsOf returns the sorted field paths of an *registrykit.InvalidError.
func fieldPathsOf(err error) []string {
	var ie *registrykit.InvalidError
	if !errors.As(err, &ie) {
		return []string{fmt.Sprint(err)}
	}
	var out []string
	for _, fe := range ie.Errs {
		out = append(out, fe.Field)
	}
	slices.Sort(out)
	return out
}
