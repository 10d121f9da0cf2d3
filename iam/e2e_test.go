package iam_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
)

// TestEndToEnd is the cluster pull-secret flow through the real SDK and the
// real IamAuthenticator token exchange: service ID, Reader on every
// region, an API key that authenticates by itself, a rerun that changes
// nothing, and cleanup.
func TestEndToEnd(t *testing.T) {
	f := newFixture(t)
	c := f.client

	sid, res, err := c.EnsureServiceID(ctx(t), "cluster-c0ffee", "registrykit pull secret")
	if err != nil || res != registrykit.Created {
		t.Fatalf("EnsureServiceID = %v, %v", res, err)
	}
	p, res, err := c.EnsureRegistryPolicy(ctx(t), sid.IAMID, iam.Access{Role: iam.Reader})
	if err != nil || res != registrykit.Created {
		t.Fatalf("EnsureRegistryPolicy = %v, %v", res, err)
	}
	key, err := c.CreateAPIKey(ctx(t), sid.IAMID, iam.APIKeyOptions{Name: "cluster-c0ffee", Description: "pull"})
	if err != nil {
		t.Fatal(err)
	}

	// The new key exchanges for a token of its own and sees its own details.
	asService := newFixtureOn(t, f.srv, key.Value.Reveal())
	d, err := asService.client.APIKeyDetails(ctx(t), key.Value)
	if err != nil {
		t.Fatal(err)
	}
	if d.IAMID != sid.IAMID || d.AccountID != f.srv.AccountID() || !d.Valid() {
		t.Errorf("details = %+v, want the service ID's valid key", d)
	}

	// Rerun: nothing is written.
	f.srv.ResetRequests()
	if _, res, err := c.EnsureServiceID(ctx(t), "cluster-c0ffee", ""); err != nil || res != registrykit.Unchanged {
		t.Errorf("rerun EnsureServiceID = %v, %v", res, err)
	}
	if p2, res, err := c.EnsureRegistryPolicy(ctx(t), sid.IAMID, iam.Access{Role: "READER"}); err != nil || res != registrykit.Unchanged || p2.ID != p.ID {
		t.Errorf("rerun EnsureRegistryPolicy = %v %v %v", p2.ID, res, err)
	}
	for _, r := range f.srv.Requests() {
		if r.Method != "GET" {
			t.Errorf("rerun wrote: %s %s", r.Method, r.Path)
		}
	}

	// Token exchange happened for both keys, with the documented grant.
	var grants int
	for _, r := range f.srv.Requests() {
		if r.Op == iamtest.OpGetToken {
			grants++
		}
	}
	if grants != 0 {
		t.Errorf("rerun fetched %d new tokens, want the cached one", grants)
	}
	if n := len(f.srv.IssuedTokens()); n != 2 {
		t.Errorf("issued tokens = %d, want 2 (owner, service ID)", n)
	}

	if _, err := c.DeletePolicy(ctx(t), p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteServiceID(ctx(t), sid.ID); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(1, len(f.srv.APIKeys())); diff != "" {
		t.Errorf("keys left (-want +got):\n%s", diff)
	}
	if len(f.srv.ServiceIDs())+len(f.srv.Policies()) != 0 {
		t.Errorf("left over: %v %v", f.srv.ServiceIDs(), f.srv.Policies())
	}
}
