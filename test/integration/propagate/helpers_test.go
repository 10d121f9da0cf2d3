package propagate_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/propagate"
	"github.com/registrykit/registrykit/pullsecret"
	"github.com/registrykit/registrykit/test/integration/harness"
)

const password = "pw-for-default-registry"

var seq atomic.Int64

// scope is one test's world on the shared server: a label that selects its
// namespaces only, and a source secret whose name no other test uses.
type scope struct {
	t      *testing.T
	id     string
	label  labels.Set
	source types.NamespacedName
}

func newScope(t *testing.T) *scope {
	t.Helper()
	id := strconv.FormatInt(time.Now().UnixNano()%1e9, 36) + "-" + strconv.FormatInt(seq.Add(1), 10)
	s := &scope{t: t, id: id, label: labels.Set{"registrykit.io/propagate-test": id}}
	s.source = types.NamespacedName{Namespace: env.Namespace(t), Name: "icr-" + id}
	return s
}

// selector selects the scope's namespaces.
func (s *scope) selector() labels.Selector { return labels.SelectorFromSet(s.label) }

// rule is the scope's rule: its source, its namespaces.
func (s *scope) rule() propagate.Rule {
	return propagate.Rule{Source: s.source, Selector: s.selector()}
}

func dockerconfigJSON(t *testing.T, servers ...string) []byte {
	t.Helper()
	c := &dockerconfig.Config{}
	for _, srv := range servers {
		c.Set(srv, dockerconfig.Entry{Username: "iamapikey", Password: password})
	}
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeSource creates or updates the source secret.
func (s *scope) writeSource(lbls map[string]string, servers ...string) {
	s.t.Helper()
	ctx := s.t.Context()
	secrets := env.Kube.CoreV1().Secrets(s.source.Namespace)
	want := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: s.source.Name, Namespace: s.source.Namespace, Labels: lbls},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: dockerconfigJSON(s.t, servers...)},
	}
	cur, err := secrets.Get(ctx, s.source.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = secrets.Create(ctx, want, metav1.CreateOptions{})
	case err == nil:
		want.ResourceVersion = cur.ResourceVersion
		_, err = secrets.Update(ctx, want, metav1.UpdateOptions{})
	}
	if err != nil {
		s.t.Fatalf("write source: %v", err)
	}
}

// namespace creates a namespace with the scope's label plus extra (nil
// extra: outside the selection is not possible; use plainNamespace) and
// deletes it on cleanup.
func (s *scope) namespace(extra map[string]string) string {
	s.t.Helper()
	l := map[string]string{}
	for k, v := range s.label {
		l[k] = v
	}
	for k, v := range extra {
		l[k] = v
	}
	return createNamespace(s.t, "p-", l)
}

func createNamespace(t testing.TB, prefix string, lbls map[string]string) string {
	t.Helper()
	ns, err := env.Kube.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix, Labels: lbls}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = env.Kube.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
	})
	return ns.Name
}

func createSA(t testing.TB, ns, name string, pull ...string) {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	for _, p := range pull {
		sa.ImagePullSecrets = append(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: p})
	}
	if _, err := env.Kube.CoreV1().ServiceAccounts(ns).Create(t.Context(), sa, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create serviceaccount %s/%s: %v", ns, name, err)
	}
}

func fastConfig(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = 1000, 1000
	return c
}

// running is a Propagator running on its own counted client.
type running struct {
	P       *propagate.Propagator
	Counter *harness.RequestCounter
	cancel  context.CancelFunc
	done    chan error

	mu       sync.Mutex
	outcomes []propagate.Outcome
}

// start runs a Propagator with opts as admin (counted) until cleanup, and
// waits for its caches.
func start(t *testing.T, opts propagate.Options) *running {
	t.Helper()
	cfg, counter := harness.CountRequests(fastConfig(env.Config))
	return startWith(t, cfg, counter, opts)
}

func startWith(t *testing.T, cfg *rest.Config, counter *harness.RequestCounter, opts propagate.Options) *running {
	t.Helper()
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &running{Counter: counter, done: make(chan error, 1)}
	if opts.OnOutcome == nil {
		// A caller with its own OnOutcome keeps what it needs; lines()
		// is then empty.
		opts.OnOutcome = func(o propagate.Outcome) {
			r.mu.Lock()
			r.outcomes = append(r.outcomes, o)
			r.mu.Unlock()
		}
	}
	p, err := propagate.New(kube, opts)
	if err != nil {
		t.Fatalf("propagate.New: %v", err)
	}
	r.P = p
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- p.Start(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	eventually(t, "caches synced", func() error { return p.Readyz(nil) })
	return r
}

// stop cancels the Propagator and checks that Start returned nil.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Start returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("Start did not return within 30 s of cancel")
	}
}

func (r *running) lines() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, o := range r.outcomes {
		fmt.Fprintln(&b, "  "+o.String())
	}
	return b.String()
}

// eventually polls cond every 20 ms until it returns nil, failing after 20 s.
func eventually(t testing.TB, what string, cond func() error) {
	t.Helper()
	eventuallyWithin(t, what, 20*time.Second, cond)
}

// eventuallyWithin is eventually with its own timeout.
func eventuallyWithin(t testing.TB, what string, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// converged reports nil when ns holds a current copy of the source that
// every account in sas references exactly once.
func (s *scope) converged(ns string, sas ...string) error {
	ctx := s.t.Context()
	src, err := env.Kube.CoreV1().Secrets(s.source.Namespace).Get(ctx, s.source.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	cp, err := env.Kube.CoreV1().Secrets(ns).Get(ctx, s.source.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("copy in %s: %w", ns, err)
	}
	if cp.Annotations[pullsecret.AnnotationCopiedFrom] != s.source.String() {
		return fmt.Errorf("copy in %s: annotations %v", ns, cp.Annotations)
	}
	if string(cp.Data[corev1.DockerConfigJsonKey]) != string(src.Data[corev1.DockerConfigJsonKey]) || cp.Type != src.Type {
		return fmt.Errorf("copy in %s is stale", ns)
	}
	if !labelsEqual(cp.Labels, src.Labels) {
		return fmt.Errorf("copy in %s: labels %v, source %v", ns, cp.Labels, src.Labels)
	}
	for _, name := range sas {
		sa, err := env.Kube.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		n := 0
		for _, r := range sa.ImagePullSecrets {
			if r.Name == s.source.Name {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("%s/%s references the copy %d times: %v", ns, name, n, sa.ImagePullSecrets)
		}
	}
	return nil
}

func labelsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func (s *scope) waitConverged(ns string, sas ...string) {
	s.t.Helper()
	eventually(s.t, "converged "+ns, func() error { return s.converged(ns, sas...) })
}

// gone reports nil when ns holds no copy.
func (s *scope) gone(ns string) error {
	_, err := env.Kube.CoreV1().Secrets(ns).Get(s.t.Context(), s.source.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return errors.New("copy still present in " + ns)
}

// pullRefs returns the names in ns/sa's imagePullSecrets.
func pullRefs(t *testing.T, ns, sa string) []string {
	t.Helper()
	got, err := env.Kube.CoreV1().ServiceAccounts(ns).Get(t.Context(), sa, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range got.ImagePullSecrets {
		out = append(out, r.Name)
	}
	return out
}

// writes lists the counted write requests other than Events and Leases.
func writes(c *harness.RequestCounter) []string {
	return slices.DeleteFunc(c.Writes(), func(w string) bool {
		return strings.HasSuffix(w, " events") || strings.HasSuffix(w, " leases")
	})
}

// scrape returns the Propagator's metrics in the text format.
func scrape(t *testing.T, p *propagate.Propagator) string {
	t.Helper()
	rec := httptest.NewRecorder()
	p.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

// grep returns the lines of s that contain sub.
func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
