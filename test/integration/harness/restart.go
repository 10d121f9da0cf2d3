package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// RestartAPIServer stops kube-apiserver gracefully, keeps it down for
// down, and starts it again on the same address with the same serving
// certificates and client CA, so every rest.Config made before (Config,
// UserConfig's, Counted's) works afterwards without change. etcd keeps
// running: every object survives. It returns once the server answers
// /readyz to the admin client.
//
// Clients see what a rolling restart of a cluster's API server shows
// them: their watches end, requests sent while it stops are answered 429
// with Retry-After, and requests sent while it is down fail with
// "connection refused".
//
// Every test of a package shares its server. Call this only from a test
// that does not call t.Parallel (Go runs the parallel tests of a package
// only after every test that is not parallel has finished), or on an Env
// of its own from Start. A Counted Env cannot restart: restart the Env it
// came from.
func (e *Env) RestartAPIServer(ctx context.Context, down time.Duration) error {
	if e.Testenv == nil {
		return errors.New("harness: restart kube-apiserver: this Env did not start it (a Counted Env?)")
	}
	// AddUser and a restart both use envtest's API server state.
	e.addUserMu.Lock()
	defer e.addUserMu.Unlock()
	api := e.Testenv.ControlPlane.GetAPIServer()
	addr := api.SecureServing.HostPort()

	// A stop past its timeout has killed the server: the data in etcd is
	// as safe as after a crash, so start again and report the slow stop.
	stopErr := api.Stop()
	if stopErr != nil {
		stopErr = fmt.Errorf("harness: stop kube-apiserver: %w", stopErr)
	}
	if err := waitClosed(ctx, addr); err != nil {
		return errors.Join(stopErr, err)
	}
	select {
	case <-time.After(down):
	case <-ctx.Done():
		// Start it anyway: the other tests of the package need it.
	}
	if err := api.Start(); err != nil {
		return errors.Join(stopErr, fmt.Errorf("harness: start kube-apiserver again on %s: %w", addr, err))
	}
	return errors.Join(stopErr, e.waitReady(ctx, e.Testenv.ControlPlaneStartTimeout))
}

// waitClosed waits until nothing listens on addr any more.
func waitClosed(ctx context.Context, addr string) error {
	deadline := time.Now().Add(stopTimeout)
	for {
		c, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil
		}
		_ = c.Close()
		if time.Now().After(deadline) {
			return fmt.Errorf("harness: kube-apiserver still listens on %s %s after it was stopped", addr, stopTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitReady polls /readyz with the admin client until it answers ok.
// envtest's own start waits for /healthz only, which a server reports
// before its informers (CRDs, RBAC) have synced.
func (e *Env) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		body, err := e.Kube.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("harness: kube-apiserver not ready after restart: %w (last answer %q)", err, body)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
