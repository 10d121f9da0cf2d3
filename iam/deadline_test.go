package iam_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/IBM/go-sdk-core/v5/core"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
)

// credentialKinds are the ways a Client authenticates; each must fetch its
// tokens under the request's context and share no lock with other clients.
var credentialKinds = []struct {
	name string
	set  func(t *testing.T, srv *iamtest.Server, o *iam.Options)
}{
	{"API key", func(t *testing.T, srv *iamtest.Server, o *iam.Options) {
		o.APIKey = iam.NewSecret(srv.AddAPIKey(ownerIAMID))
	}},
	{"trusted profile", func(t *testing.T, srv *iamtest.Server, o *iam.Options) {
		o.TokenSource = trustedProfileSource(t, srv)
	}},
	{"go-sdk-core IamAuthenticator", func(t *testing.T, srv *iamtest.Server, o *iam.Options) {
		o.Authenticator = &core.IamAuthenticator{ApiKey: srv.AddAPIKey(ownerIAMID), URL: srv.URL()}
	}},
}

const workload = "system:serviceaccount:kube-system:registrykit"

// trustedProfileSource is a token source for a profile of srv that trusts
// workload, whose CR token is in a file.
func trustedProfileSource(t *testing.T, srv *iamtest.Server) iam.TokenSource {
	t.Helper()
	p := srv.AddTrustedProfile("registrykit", workload)
	file := writeCRToken(t, srv.CRToken(workload, 0))
	src, err := iam.NewTrustedProfileTokenSource(iam.TrustedProfileOptions{
		ProfileName: p.Name, CRTokenFile: file, TokenOptions: iam.TokenOptions{URL: srv.URL()},
	})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func writeCRToken(t *testing.T, tok string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "cr-token")
	if err := os.WriteFile(file, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func clientOf(t *testing.T, srv *iamtest.Server, set func(*testing.T, *iamtest.Server, *iam.Options)) *iam.Client {
	t.Helper()
	opts := iam.Options{AccountID: srv.AccountID(), URL: srv.URL(), Retries: -1}
	set(t, srv, &opts)
	c, err := iam.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A token service that never answers: a call with a 300 ms deadline
// returns well within 1.5 s, with an error that wraps the deadline.
func TestCallBoundedByDeadlineWhenTokenServiceHangs(t *testing.T) {
	for _, kind := range credentialKinds {
		t.Run(kind.name, func(t *testing.T) {
			srv := iamtest.NewServer()
			t.Cleanup(srv.Close)
			c := clientOf(t, srv, kind.set)
			srv.Outage(iamtest.OpGetToken, 0)

			callCtx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := c.ListServiceIDs(callCtx)
			if took := time.Since(start); took > 1500*time.Millisecond {
				t.Errorf("call returned after %v, want within 1.5s of a 300ms deadline", took)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error = %v, want one wrapping context.DeadlineExceeded", err)
			}
			var apiErr *iam.APIError
			if !errors.As(err, &apiErr) {
				t.Errorf("error %v is not an *APIError", err)
			}
		})
	}
}

// One client waits on a hung token service; another client, with a
// working one, is served meanwhile: no lock is shared between clients.
func TestHungClientDoesNotDelayAnother(t *testing.T) {
	for _, kind := range credentialKinds {
		t.Run(kind.name, func(t *testing.T) {
			hung := iamtest.NewServer()
			t.Cleanup(hung.Close)
			healthy := iamtest.NewServer()
			t.Cleanup(healthy.Close)
			stuck := clientOf(t, hung, kind.set)
			fine := clientOf(t, healthy, kind.set)
			hung.Outage(iamtest.OpGetToken, 0)

			stuckCtx, cancelStuck := context.WithCancel(t.Context())
			defer cancelStuck()
			stuckErr := make(chan error, 1)
			go func() {
				_, err := stuck.ListServiceIDs(stuckCtx)
				stuckErr <- err
			}()
			waitFor(t, func() bool { return hung.Calls(iamtest.OpGetToken) > 0 })

			if _, _, err := fine.EnsureServiceID(ctx(t), "healthy", ""); err != nil {
				t.Fatalf("healthy client: %v", err)
			}
			select {
			case err := <-stuckErr:
				t.Fatalf("the hung call returned (%v) before being cancelled", err)
			default:
			}
			cancelStuck()
			select {
			case err := <-stuckErr:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("hung call error = %v, want one wrapping context.Canceled", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the hung call did not return after its context was cancelled")
			}
		})
	}
}

// waitFor polls cond for up to ten seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 10s")
}

// Past its renewal point, a token that is still valid keeps serving the
// Client's calls while the token service is down; the renewal happens in
// the background, and the renewed token then serves the calls.
func TestClientKeepsValidTokenThroughOutage(t *testing.T) {
	srv := iamtest.NewServer(iamtest.WithTokenLifetime(5 * time.Second))
	t.Cleanup(srv.Close)
	c := clientOf(t, srv, credentialKinds[0].set)
	issued := time.Now()
	if _, err := c.ListServiceIDs(ctx(t)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(issued.Add(4*time.Second + 50*time.Millisecond))) // past 80% of 5s, before expiry

	srv.Outage(iamtest.OpGetToken, 0)
	if _, err := c.ListServiceIDs(ctx(t)); err != nil {
		t.Fatalf("call during the outage, with a valid token cached: %v", err)
	}
	waitFor(t, func() bool { return srv.Calls(iamtest.OpGetToken) == 2 }) // the background renewal, held
	srv.Resume(iamtest.OpGetToken)                                        // answered 503: the old token stays

	// A later call renews in the background again, and this time it works.
	waitFor(t, func() bool {
		_, err := c.ListServiceIDs(ctx(t))
		return err == nil && len(srv.IssuedTokens()) == 2
	})
	// Once the first token has expired, calls go on without another token
	// request: the cache holds the renewed token.
	time.Sleep(time.Until(issued.Add(5*time.Second + 100*time.Millisecond)))
	before := srv.Calls(iamtest.OpGetToken)
	if _, err := c.ListServiceIDs(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if n := srv.Calls(iamtest.OpGetToken); n != before {
		t.Errorf("token requests went from %d to %d: the renewed token was not cached", before, n)
	}
}
