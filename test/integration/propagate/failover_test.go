package propagate_test

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/registrykit/registrykit/propagate"
	"github.com/registrykit/registrykit/test/integration/harness"
)

// killable fails every request once dead is set: a replica whose process
// died, or was cut off from the API server, without releasing its Lease.
type killable struct {
	next http.RoundTripper
	dead *atomic.Bool
}

func (k killable) RoundTrip(req *http.Request) (*http.Response, error) {
	if k.dead.Load() {
		return nil, errors.New("replica killed")
	}
	return k.next.RoundTrip(req)
}

// Two replicas with leader election on one Lease: only the leader writes.
// When the leader dies without releasing the Lease, the other takes over
// once the Lease expires and converges a namespace created meanwhile. The
// time from the kill to that convergence is logged (goal: within
// LeaseDuration + 2 s); it is not asserted.
func TestFailover(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	s.writeSource(nil, "us.icr.io")
	leaseNS := env.Namespace(t)
	const leaseDuration = 4 * time.Second
	le := func(id string) *propagate.LeaderElection {
		return &propagate.LeaderElection{Namespace: leaseNS, Name: "failover-" + s.id, Identity: id,
			LeaseDuration: leaseDuration, RenewDeadline: 3 * time.Second, RetryPeriod: 500 * time.Millisecond}
	}
	holder := func() string {
		l, err := env.Kube.CoordinationV1().Leases(leaseNS).Get(t.Context(), "failover-"+s.id, metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}

	var dead atomic.Bool
	cfgA, counterA := harness.CountRequests(fastConfig(env.Config))
	cfgA.Wrap(func(rt http.RoundTripper) http.RoundTripper { return killable{next: rt, dead: &dead} })
	a := startWith(t, cfgA, counterA, propagate.Options{Rules: []propagate.Rule{s.rule()}, LeaderElection: le("replica-a")})
	eventually(t, "replica-a leads", func() error {
		if h := holder(); h != "replica-a" {
			return errors.New("holder " + h)
		}
		return nil
	})
	cfgB, counterB := harness.CountRequests(fastConfig(env.Config))
	startWith(t, cfgB, counterB, propagate.Options{Rules: []propagate.Rule{s.rule()}, LeaderElection: le("replica-b")})

	first := s.namespace(nil)
	createSA(t, first, "default")
	s.waitConverged(first, "default")
	objectWrites := func(c *harness.RequestCounter) []string {
		var out []string
		for _, w := range c.Writes() {
			if strings.HasSuffix(w, " secrets") || strings.HasSuffix(w, " serviceaccounts") {
				out = append(out, w)
			}
		}
		return out
	}
	if w := objectWrites(counterB); len(w) != 0 {
		t.Errorf("the follower wrote: %v", w)
	}
	if w := objectWrites(counterA); len(w) == 0 {
		t.Error("the leader wrote nothing")
	}

	dead.Store(true)
	killed := time.Now()
	second := s.namespace(nil)
	createSA(t, second, "default")
	s.waitConverged(second, "default")
	took := time.Since(killed)
	if h := holder(); h != "replica-b" {
		t.Errorf("holder after failover %q", h)
	}
	t.Logf("failover: a namespace created when the leader died converged after %s (LeaseDuration %s; goal %s)",
		took.Round(10*time.Millisecond), leaseDuration, leaseDuration+2*time.Second)

	// The dead replica loses its Lease and says so.
	select {
	case err := <-a.done:
		if !errors.Is(err, propagate.ErrLeadershipLost) {
			t.Errorf("the dead leader's Start returned %v, want ErrLeadershipLost", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("the dead leader's Start did not return")
	}
	a.cancel()
	a.cancel = nil
}
