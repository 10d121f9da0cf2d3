package propagate_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/propagate"
	"github.com/registrykit/registrykit/test/integration/harness"
)

// The API server restarts under a running Propagator while it has writes
// in flight and namespaces and service accounts are being created, and
// the source changes right after the server is back. Nothing is lost:
// every namespace (made before, during and after the restart) ends with a
// current copy that each service account references exactly once, beside
// its own references; the Propagator never returned from Start, is ready,
// watches again, and made at most one successful write per object and
// change, none of them answered AlreadyExists or Conflict. The time from
// the server being back to convergence is logged (BENCHMARKS.md), not
// asserted.
//
// Not parallel: the restart takes the package's shared server away, and Go
// runs the parallel tests only after this one has finished.
func TestAPIServerRestart(t *testing.T) {
	s := newScope(t)
	s.writeSource(map[string]string{"tier": "gold"}, "us.icr.io")
	rule := s.rule()
	rule.ServiceAccounts = []string{"default", "builder"}

	var nss []string
	for range 4 {
		ns := s.namespace(nil)
		createSA(t, ns, "default", "mine")
		createSA(t, ns, "builder")
		nss = append(nss, ns)
	}
	cfg, counter := harness.CountRequests(fastConfig(env.Config))
	tap := &writeTap{}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &writeTapTransport{next: rt, tap: tap} })
	r := startWith(t, cfg, counter, propagate.Options{Rules: []propagate.Rule{rule}})
	for _, ns := range nss {
		s.waitConverged(ns, "default", "builder")
	}

	// Namespaces and their accounts keep arriving, one every 200 ms, before,
	// during and after the restart; each call is retried until the server
	// takes it.
	ctx := t.Context()
	stop := make(chan struct{})
	var (
		mu      sync.Mutex
		created []string
		failed  error
		wg      sync.WaitGroup
	)
	create := func(ns string) error {
		err := createRetrying(ctx, ns, s.label)
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			created = append(created, ns)
		} else if failed == nil {
			failed = err
		}
		return err
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		mu.Lock()
		defer mu.Unlock()
		for _, ns := range created {
			_ = env.Kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		}
	})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			if create(fmt.Sprintf("p-rs-%s-%d", s.id, i)) != nil {
				return
			}
		}
	})
	time.Sleep(time.Second)

	// A burst of namespaces, whose writes the Propagator sends slowly
	// (200 ms each), so that it has work in flight when the server stops:
	// writes answered 429 while it drains, refused while it is down.
	tap.slow.Store(true)
	for i := range 8 {
		if err := create(fmt.Sprintf("p-rb-%s-%d", s.id, i)); err != nil {
			t.Fatal(err)
		}
	}
	began := time.Now()
	if err := env.RestartAPIServer(ctx, 2*time.Second); err != nil {
		t.Fatalf("restart: %v", err)
	}
	back := time.Now()
	tap.slow.Store(false)
	s.writeSource(nil, "us.icr.io", "de.icr.io")
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	if failed != nil {
		t.Fatalf("creating namespaces through the restart: %v", failed)
	}
	lastChange := time.Now()
	mu.Lock()
	all := append(slices.Clone(nss), created...)
	mu.Unlock()
	t.Logf("restart (stop, 2 s down, start, ready) took %s; %d namespaces were created around it",
		back.Sub(began).Round(10*time.Millisecond), len(all)-len(nss))

	eventuallyWithin(t, "converged after the restart", 2*time.Minute, func() error {
		for _, ns := range all {
			if err := s.converged(ns, "default", "builder"); err != nil {
				return err
			}
		}
		return nil
	})
	t.Logf("converged %s after the server was back, %s after the last change (%d namespaces)",
		time.Since(back).Round(10*time.Millisecond), time.Since(lastChange).Round(10*time.Millisecond), len(all))

	select {
	case err := <-r.done:
		t.Fatalf("Start returned %v across the restart", err)
	default:
	}
	if err := r.P.Readyz(nil); err != nil {
		t.Errorf("not ready after the restart: %v", err)
	}
	for _, ns := range all {
		if diff := cmp.Diff([]string{"mine", s.source.Name}, pullRefs(t, ns, "default")); diff != "" {
			t.Errorf("%s/default imagePullSecrets (-want +got):\n%s", ns, diff)
		}
	}

	// The watches work again, not only a relist: a namespace made now
	// converges as usual.
	later := s.namespace(nil)
	createSA(t, later, "default", "mine")
	createSA(t, later, "builder")
	s.waitConverged(later, "default", "builder")

	// At most one successful write per object and change: one create per
	// copy and at most one update (the source changed once), one update
	// per service account. A write that failed in the restart is retried;
	// the server stops gracefully, so no write it took goes unanswered.
	time.Sleep(500 * time.Millisecond)
	r.mu.Lock()
	outcomes := slices.Clone(r.outcomes)
	r.mu.Unlock()
	wrote := map[string]int{}
	var failures []string
	for _, o := range outcomes {
		if o.Err != nil {
			failures = append(failures, o.String())
			continue
		}
		switch o.Result.Action {
		case registrykit.Created, registrykit.Updated, registrykit.Deleted:
			wrote[string(o.Result.Action)+" "+o.Kind+" "+o.Object()]++
		}
	}
	for _, ns := range append(all, later) {
		limits := map[string]int{
			"created Secret " + ns + "/" + s.source.Name: 1,
			"updated Secret " + ns + "/" + s.source.Name: 1,
			"updated ServiceAccount " + ns + "/default":  1,
			"updated ServiceAccount " + ns + "/builder":  1,
			"deleted Secret " + ns + "/" + s.source.Name: 0,
		}
		for w, most := range limits {
			if n := wrote[w]; n > most {
				t.Errorf("%d× %s, want at most %d", n, w, most)
			}
		}
	}
	// Nobody else writes these copies, and the test only creates the
	// accounts: a create answered AlreadyExists or an update answered
	// Conflict means the Propagator lost sight of a write of its own and
	// sent it again.
	if got := tap.list(); len(got) > 0 {
		t.Errorf("%d writes answered 409 (the Propagator repeated a write it had made):\n  %s", len(got), strings.Join(got, "\n  "))
	}
	n := 0
	for _, c := range wrote {
		n += c
	}
	t.Logf("%d writes, %d failed attempts during the restart; requests %v", n, len(failures), r.Counter.Snapshot())
	if len(failures) > 0 {
		t.Logf("the first failed attempt: %s", failures[0])
	}
}

// createRetrying creates namespace ns with labels and its two service
// accounts ("default" with a reference of its own, "builder"), each call
// retried until the server takes it. A create whose answer was lost is
// AlreadyExists on the retry: done.
func createRetrying(ctx context.Context, ns string, lbls map[string]string) error {
	calls := []func() error{
		func() error {
			_, err := env.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
				ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: lbls}}, metav1.CreateOptions{})
			return err
		},
		func() error {
			_, err := env.Kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{
				ObjectMeta:       metav1.ObjectMeta{Name: "default", Namespace: ns},
				ImagePullSecrets: []corev1.LocalObjectReference{{Name: "mine"}},
			}, metav1.CreateOptions{})
			return err
		},
		func() error {
			_, err := env.Kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{
				ObjectMeta: metav1.ObjectMeta{Name: "builder", Namespace: ns}}, metav1.CreateOptions{})
			return err
		},
	}
	for _, call := range calls {
		deadline := time.Now().Add(2 * time.Minute)
		for {
			err := call()
			if err == nil || apierrors.IsAlreadyExists(err) {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("%s: %w", ns, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

// writeTap slows the Propagator's writes of secrets and service accounts
// while slow is set, and lists those answered 409 Conflict (AlreadyExists
// on a create, a stale resourceVersion on an update).
type writeTap struct {
	slow atomic.Bool

	mu       sync.Mutex
	rejected []string
}

func (w *writeTap) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.rejected)
}

type writeTapTransport struct {
	next http.RoundTripper
	tap  *writeTap
}

func (t *writeTapTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	write := req.Method != http.MethodGet &&
		(strings.Contains(req.URL.Path, "/secrets") || strings.Contains(req.URL.Path, "/serviceaccounts"))
	if write && t.tap.slow.Load() {
		time.Sleep(200 * time.Millisecond)
	}
	resp, err := t.next.RoundTrip(req)
	if write && err == nil && resp.StatusCode == http.StatusConflict {
		t.tap.mu.Lock()
		t.tap.rejected = append(t.tap.rejected, req.Method+" "+req.URL.Path)
		t.tap.mu.Unlock()
	}
	return resp, err
}

func (t *writeTapTransport) WrappedRoundTripper() http.RoundTripper { return t.next }
