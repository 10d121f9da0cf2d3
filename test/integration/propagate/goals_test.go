package propagate_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/propagate"
	"github.com/registrykit/registrykit/pullsecret"
	"github.com/registrykit/registrykit/test/integration/harness"
)

// TestGoals measures the controller against the goals of its design, on
// the real API server, and logs the figures (BENCHMARKS.md has them with
// this command). It makes no timing assertions: the figures depend on the
// machine. Opt-in, like the copy scale test:
//
//	REGISTRYKIT_SCALE=1 go test -count=1 -run TestGoals -v -timeout 60m ./propagate/
//
// REGISTRYKIT_GOALS_NAMESPACES (default 2000) sets the cluster's size and
// REGISTRYKIT_GOALS_STEADY (default 5m) the steady-state window, during
// which the Propagator resyncs every fifth of the window;
// REGISTRYKIT_GOALS_HEAPPROFILE names a file for a heap profile taken
// after that window (it also samples every 512th byte allocated, for a
// profile fine enough to attribute a few hundred bytes per namespace);
// REGISTRYKIT_GOALS_WORKERS (default 32) the Propagator's workers.
//
// The baseline is the one-shot path on the same namespaces: pullsecret.Copy
// plus pullsecret.AttachToServiceAccounts of a second source, so both write
// one secret and one service-account update per namespace, each with 32
// requests in flight, as the Propagator has by default here.
func TestGoals(t *testing.T) {
	if os.Getenv("REGISTRYKIT_SCALE") == "" {
		t.Skip("set REGISTRYKIT_SCALE=1 to run the controller's goal measurements")
	}
	n := harness.EnvInt(t, "REGISTRYKIT_GOALS_NAMESPACES", 2000)
	workers := harness.EnvInt(t, "REGISTRYKIT_GOALS_WORKERS", baselineConcurrency)
	if os.Getenv("REGISTRYKIT_GOALS_HEAPPROFILE") != "" {
		runtime.MemProfileRate = 512
	}
	steady := 5 * time.Minute
	if v := os.Getenv("REGISTRYKIT_GOALS_STEADY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("REGISTRYKIT_GOALS_STEADY: %v", err)
		}
		steady = d
	}
	ctx := t.Context()
	kube, err := kubernetes.NewForConfig(fastConfig(env.Config))
	if err != nil {
		t.Fatal(err)
	}
	s := newScope(t)
	s.writeSource(nil, "us.icr.io", "icr.io")
	base := types.NamespacedName{Namespace: s.source.Namespace, Name: "base-" + s.id}
	writeSecret(t, base, "us.icr.io", "icr.io")

	setupStart := time.Now()
	nss := make([]string, n)
	harness.Parallel(t, n, 32, func(i int) error {
		ns, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("g-%s-%04d", s.id, i), Labels: s.label}}, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		nss[i] = ns.Name
		_, err = kube.CoreV1().ServiceAccounts(ns.Name).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns.Name}}, metav1.CreateOptions{})
		return err
	})
	t.Cleanup(func() {
		harness.Parallel(t, n, 32, func(i int) error {
			return kube.CoreV1().Namespaces().Delete(context.Background(), nss[i], metav1.DeleteOptions{})
		})
	})
	t.Logf("setup: %d namespaces with a default service account in %v", n, time.Since(setupStart).Round(time.Millisecond))

	// Baseline: the one-shot calls, first run and update run.
	to := pullsecret.Targets{Selector: s.selector()}
	oneShot := func() time.Duration {
		t0 := time.Now()
		rep, err := pullsecret.Copy(ctx, kube, base, to, pullsecret.CopyOptions{Concurrency: baselineConcurrency})
		if err != nil || rep.Err() != nil {
			t.Fatalf("Copy: %v %v", err, rep.Err())
		}
		att, err := pullsecret.AttachToServiceAccounts(ctx, kube, "default", base.Name, to, pullsecret.ManyOptions{Concurrency: baselineConcurrency})
		if err != nil || att.Err() != nil {
			t.Fatalf("AttachToServiceAccounts: %v %v", err, att.Err())
		}
		return time.Since(t0)
	}
	baseFirst := oneShot()
	writeSecret(t, base, "us.icr.io", "icr.io", "de.icr.io")
	t0 := time.Now()
	if rep, err := pullsecret.Copy(ctx, kube, base, to, pullsecret.CopyOptions{Concurrency: baselineConcurrency}); err != nil || rep.Err() != nil {
		t.Fatalf("Copy update: %v %v", err, rep.Err())
	}
	baseUpdate := time.Since(t0)
	t.Logf("baseline (Copy + AttachToServiceAccounts, concurrency %d): first run %v, Copy update run %v", baselineConcurrency, baseFirst.Round(time.Millisecond), baseUpdate.Round(time.Millisecond))

	// Initial convergence, and the heap it takes. The counters are all
	// the test keeps per event, so that the heap measured is the
	// Propagator's: each namespace is created and attached once, and its
	// copy updated once when the source changes.
	var created, updatedSA, updatedCopy atomic.Int64
	var mu sync.Mutex
	attachedAt := map[string]time.Time{} // the new namespaces only
	onOutcome := func(o propagate.Outcome) {
		switch {
		case o.Err != nil:
			t.Errorf("outcome %s", o)
		case o.Kind == "Secret" && o.Result.Action == registrykit.Created:
			created.Add(1)
		case o.Kind == "Secret" && o.Result.Action == registrykit.Updated:
			updatedCopy.Add(1)
		case o.Kind == "ServiceAccount" && o.Result.Action == registrykit.Updated:
			updatedSA.Add(1)
			if strings.Contains(o.Namespace, "-new-") {
				mu.Lock()
				attachedAt[o.Namespace] = time.Now()
				mu.Unlock()
			}
		}
	}
	waitFor := func(what string, c *atomic.Int64, want int, limit time.Duration) time.Duration {
		t.Helper()
		t0 := time.Now()
		for int(c.Load()) < want {
			if time.Since(t0) > limit {
				t.Fatalf("%s: %d of %d after %v", what, c.Load(), want, limit)
			}
			time.Sleep(10 * time.Millisecond)
		}
		return time.Since(t0)
	}
	heapBefore := heapInUse()
	rule := s.rule()
	opts := propagate.Options{Rules: []propagate.Rule{rule}, OnOutcome: onOutcome, Resync: steady / 5, Workers: workers}
	t0 = time.Now()
	r := start(t, opts)
	waitFor("initial copies", &created, n, 30*time.Minute)
	waitFor("initial attachments", &updatedSA, n, 30*time.Minute)
	initial := time.Since(t0)
	heap := heapInUse() - heapBefore
	t.Logf("initial convergence of %d namespaces with %d workers: %v (%.2f× the one-shot baseline); %d writes", n, workers, initial.Round(time.Millisecond), initial.Seconds()/baseFirst.Seconds(), len(writes(r.Counter)))
	t.Logf("heap in use by the Propagator right after convergence: %.1f MiB, %.0f B per namespace (goal ≤ 2048)", float64(heap)/(1<<20), float64(heap)/float64(n))

	// Source changes: every copy follows.
	s.writeSource(nil, "us.icr.io", "icr.io", "de.icr.io")
	follow := waitFor("copies follow the source", &updatedCopy, n, 30*time.Minute)
	t.Logf("source change: %d copies updated in %v (%.2f× Copy's update run)", n, follow.Round(time.Millisecond), follow.Seconds()/baseUpdate.Seconds())

	// Steady state, resyncs included.
	time.Sleep(time.Second) // the echoes of the last writes
	before := len(writes(r.Counter))
	time.Sleep(steady)
	t.Logf("steady state: %d writes in %v with resync every %v (goal 0)", len(writes(r.Counter))-before, steady, steady/5)
	heap = heapInUse() - heapBefore
	if f := os.Getenv("REGISTRYKIT_GOALS_HEAPPROFILE"); f != "" {
		writeHeapProfile(t, f)
	}
	t.Logf("heap in use by the Propagator after the steady window (its write cache of %v expired): %.1f MiB, %.0f B per namespace (goal ≤ 2048)", time.Minute, float64(heap)/(1<<20), float64(heap)/float64(n))

	// New namespaces at 20 a second, their service account 0–2 s later.
	const rate, seconds = 20, 10
	createdAt, saAt := map[string]time.Time{}, map[string]time.Time{}
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / rate)
	for i := range rate * seconds {
		<-tick.C
		name := fmt.Sprintf("g-%s-new-%04d", s.id, i)
		sent := time.Now()
		_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: s.label}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		createdAt[name] = sent
		mu.Unlock()
		t.Cleanup(func() { _ = kube.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{}) })
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(rand.Int64N(int64(2 * time.Second))))
			mu.Lock()
			saAt[name] = time.Now()
			mu.Unlock()
			if _, err := kube.CoreV1().ServiceAccounts(name).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: name}}, metav1.CreateOptions{}); err != nil {
				t.Error(err)
			}
		}()
	}
	tick.Stop()
	wg.Wait()
	waitFor("new namespaces attached", &updatedSA, n+rate*seconds, 5*time.Minute)
	var fromNS, fromSA []time.Duration
	mu.Lock()
	for name, c := range createdAt {
		fromNS = append(fromNS, attachedAt[name].Sub(c))
		fromSA = append(fromSA, attachedAt[name].Sub(saAt[name]))
	}
	mu.Unlock()
	t.Logf("new namespaces (%d at %d/s, service account 0–2 s later): namespace create sent → attached %s; service account create sent → attached %s",
		len(fromNS), rate, percentiles(fromNS), percentiles(fromSA))

	// Restart on the converged cluster: no writes.
	r.stop(t)
	cfg, counter := harness.CountRequests(fastConfig(env.Config))
	again := startWith(t, cfg, counter, propagate.Options{Rules: []propagate.Rule{rule}})
	time.Sleep(5 * time.Second)
	t.Logf("restart on the converged cluster: %d writes in 5 s (goal 0)", len(writes(again.Counter)))
}

// baselineConcurrency is the one-shot baseline's concurrency, and the
// Propagator's workers unless REGISTRYKIT_GOALS_WORKERS says otherwise:
// both sides get as many requests in flight.
const baselineConcurrency = 32

// percentiles formats p50, p99 and the maximum of ds.
func percentiles(ds []time.Duration) string {
	slices.Sort(ds)
	return fmt.Sprintf("p50 %v, p99 %v, max %v", ds[len(ds)/2].Round(time.Millisecond), ds[len(ds)*99/100].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond))
}

// writeSecret creates or replaces a pull secret for servers.
func writeSecret(t *testing.T, name types.NamespacedName, servers ...string) {
	t.Helper()
	sc := &scope{t: t, source: name}
	sc.writeSource(nil, servers...)
}

// writeHeapProfile writes the heap profile to file, for go tool pprof.
func writeHeapProfile(t *testing.T, file string) {
	t.Helper()
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		t.Fatal(err)
	}
}

// heapInUse is the size of the live heap objects after a full
// collection (HeapAlloc: what the program holds, without the free space of
// partly used spans).
func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
