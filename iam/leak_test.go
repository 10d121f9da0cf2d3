package iam_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
)

// sentinelKey is an API key value that must never appear anywhere.
const sentinelKey = "SENTINEL-KEY-3c1f9e0b7a6d5c4b3a29180f"

// TestNothingLeaks runs every scenario of this suite with a sentinel API
// key and checks that neither the errors, nor the request log as the
// server saw it, nor anything logged contains the key, a created key's
// value, or a bearer token.
func TestNothingLeaks(t *testing.T) {
	srv := iamtest.NewServer()
	t.Cleanup(srv.Close)
	srv.AddAPIKeyValue(ownerIAMID, sentinelKey)
	f := newFixtureOn(t, srv, sentinelKey)
	c := f.client

	var outputs []string
	note := func(vs ...any) {
		for _, v := range vs {
			outputs = append(outputs, fmt.Sprintf("%v|%+v|%#v", v, v, v))
			if err, ok := v.(error); ok && err != nil {
				for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
					outputs = append(outputs, u.Error())
				}
				var apiErr *iam.APIError
				if errors.As(err, &apiErr) {
					for _, u := range apiErr.Unwrap() {
						outputs = append(outputs, fmt.Sprintf("%v|%+v", u, u))
					}
				}
			}
		}
	}
	var secrets []string

	// Happy paths.
	sid, res, err := c.EnsureServiceID(ctx(t), "cluster-leak", "d")
	note(sid, res, err)
	for _, a := range []iam.Access{{Role: "Reader"}, {Role: "Writer", Region: "us-south"}, {Role: "Manager", Region: "global"}, {Role: "Reader", Region: "de", Namespace: "team-a"}} {
		p, res, err := c.EnsureRegistryPolicy(ctx(t), sid.IAMID, a)
		note(p, res, err)
	}
	key, err := c.CreateAPIKey(ctx(t), sid.IAMID, iam.APIKeyOptions{Name: "k"})
	note(key, err)
	secrets = append(secrets, key.Value.Reveal())
	keys, err := c.ListAPIKeys(ctx(t), sid.IAMID)
	note(keys, err)
	d, err := c.APIKeyDetails(ctx(t), key.Value)
	note(d, err)
	note(c.DeleteAPIKey(ctx(t), key.ID))

	// Failures of every kind.
	for _, status := range []int{401, 403, 404, 409, 429, 500} {
		srv.Fail(iamtest.OpGetAPIKeysDetails, 1, status)
		_, err := iamWithoutRetries(t, srv).APIKeyDetails(ctx(t), iam.NewSecret(sentinelKey))
		note(err)
	}
	_, err = c.APIKeyDetails(ctx(t), iam.NewSecret(sentinelKey+"-unknown"))
	note(err)
	srv.FailAfterApply(iamtest.OpCreateServiceID, 1, http.StatusInternalServerError)
	note(c.EnsureServiceID(ctx(t), "cluster-leak-2", ""))
	srv.RateLimit(iamtest.OpCreatePolicy, 1, 0)
	note(c.EnsureRegistryPolicy(ctx(t), sid.IAMID, iam.Access{Role: "Writer"}))
	srv.FailAfterApply(iamtest.OpCreatePolicy, 1, http.StatusInternalServerError)
	note(c.EnsureRegistryPolicy(ctx(t), sid.IAMID, iam.Access{Role: "Manager"}))
	srv.Fail(iamtest.OpGetToken, 1, 500)
	bad := newFixtureOn(t, srv, sentinelKey+"x", func(o *iam.Options) { o.Retries = -1 })
	note(bad.client.EnsureServiceID(ctx(t), "x", ""))
	note(iam.New(iam.Options{APIKey: iam.NewSecret(`{` + sentinelKey + `}`)}))
	note(iam.Options{APIKey: iam.NewSecret(sentinelKey)})

	outputs = append(outputs, f.logs.String(), bad.logs.String())
	for _, r := range srv.Requests() {
		outputs = append(outputs, fmt.Sprintf("%+v", r))
	}
	secrets = append(secrets, sentinelKey)
	secrets = append(secrets, srv.IssuedTokens()...)
	if len(srv.IssuedTokens()) == 0 {
		t.Fatal("no token was issued: the scenarios did not run")
	}
	for _, out := range outputs {
		for _, s := range secrets {
			if s != "" && strings.Contains(out, s) {
				t.Errorf("leak of %.12s...: %s", s, out)
			}
		}
	}
}

func iamWithoutRetries(t *testing.T, srv *iamtest.Server) *iam.Client {
	t.Helper()
	return newFixtureOn(t, srv, sentinelKey, func(o *iam.Options) { o.Retries = -1 }).client
}
