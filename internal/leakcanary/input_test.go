package leakcanary_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
	"github.com/registrykit/registrykit/icr"
	"github.com/registrykit/registrykit/imagestream"
	"github.com/registrykit/registrykit/pullsecret"
	"github.com/registrykit/registrykit/registry"
	"github.com/registrykit/registrykit/route"
)

// withUserinfo are the shapes in which a user pastes a credential into a
// host, a server or an image reference: URL userinfo, with and without a
// scheme, a port and a path.
func withUserinfo(host string) []string {
	return []string{
		"iamapikey:" + sentinelPassword + "@" + host,
		"https://iamapikey:" + sentinelPassword + "@" + host,
		"iamapikey:" + sentinelPassword + "@" + host + ":99999",
		sentinelPassword + "@" + host + "/v2/",
	}
}

// TestUserInputDoesNotLeak passes credentials pasted into user input to
// every entry point that validates or echoes that input — hosts, servers,
// domains, route hostnames, image references, IAM URLs — and scans what
// comes back: the error, its whole wrapped tree and every field error's
// Value (the corpus walks exported fields, so a *registrykit.InvalidError
// is reached down to each field.Error), and every log record.
func TestUserInputDoesNotLeak(t *testing.T) {
	c := &corpus{}
	w := newWorld(t, c, "input")
	ctx := context.Background()
	wo := registrykit.WriteOptions{Logger: w.logger}
	for _, host := range withUserinfo("registry.apps.example.com") {
		res, err := pullsecret.InternalRegistrySecret(ctx, w.cluster.Kube, "team-a", pullsecret.InternalOptions{Host: host, WriteOptions: wo})
		failing(t, c, "pullsecret.InternalRegistrySecret Host", err, res)
		_, rep, err := registry.ExposeInternalRegistry(ctx, w.cluster, registry.ExposeInternalOptions{Hostname: host, WriteOptions: wo})
		failing(t, c, "registry.ExposeInternalRegistry Hostname", err, rep)
		rt, res, err := route.ExposeRegistry(ctx, w.cluster.Routes, w.cluster.Kube, route.ExposeOptions{Hostname: host})
		failing(t, c, "route.ExposeRegistry Hostname", err, rt, res)
	}
	for _, server := range withUserinfo("quay.io") {
		res, err := pullsecret.RemoveFromGlobal(ctx, w.cluster.Kube, []string{server}, pullsecret.GlobalOptions{WriteOptions: wo})
		c.note("pullsecret.RemoveFromGlobal server", res, err)
	}
	for _, domain := range withUserinfo("us.icr.io") {
		rep, err := registry.ApplyClusterPullSecret(ctx, w.cluster, w.iam, registry.ApplyOptions{ClusterID: "c0ffee", Domains: []string{domain}, WriteOptions: wo})
		failing(t, c, "registry.ApplyClusterPullSecret Domains", err, rep)
		cfg, err := icr.APIKeyConfig(sentinelCallerKey, []string{domain})
		failing(t, c, "icr.APIKeyConfig domains", err, cfg)
		d, err := icr.DomainForRegion(domain, false)
		failing(t, c, "icr.DomainForRegion", err, d)
	}
	for _, image := range withUserinfo("us.icr.io") {
		image += "/team/app:1"
		res, err := imagestream.Tag(ctx, w.cluster.Images, image, imagestream.Ref{Namespace: "team-a", Stream: "app", Tag: "1"}, imagestream.TagOptions{})
		failing(t, c, "imagestream.Tag source", err, res)
		_, rep, err := registry.ImportImage(ctx, w.cluster, image, imagestream.Ref{Namespace: "team-a", Stream: "app", Tag: "1"}, registry.ImportOptions{WriteOptions: wo})
		failing(t, c, "registry.ImportImage source", err, rep)
		ex, err := pullsecret.Explain(ctx, w.cluster.Kube, "team-a", pullsecret.Subject{}, image)
		c.note("pullsecret.Explain image", ex, err)
	}
	// A credential in a copy's name or a service account's name is refused
	// as a name; the value stays out of the error.
	rep, err := pullsecret.Copy(ctx, w.cluster.Kube, types.NamespacedName{Namespace: "default", Name: sentinelPassword + "@x"}, pullsecret.Targets{Namespaces: []string{"team-a"}}, pullsecret.CopyOptions{WriteOptions: wo})
	c.note("pullsecret.Copy source name", rep, err)

	for _, u := range withUserinfo("iam.cloud.ibm.com") {
		cl, err := iam.New(iam.Options{APIKey: iam.NewSecret(sentinelCallerKey), AccountID: w.srv.AccountID(), URL: u})
		failing(t, c, "iam.New URL", err, cl)
		ts, err := iam.NewAPIKeyTokenSource(iam.NewSecret(sentinelCallerKey), iam.TokenOptions{URL: u})
		failing(t, c, "iam.NewAPIKeyTokenSource URL", err, ts)
		ts, err = iam.NewTrustedProfileTokenSource(iam.TrustedProfileOptions{ProfileName: "p", CRToken: iam.NewSecret(sentinelSAToken), TokenOptions: iam.TokenOptions{URL: u}})
		failing(t, c, "iam.NewTrustedProfileTokenSource URL", err, ts)
	}
	c.check(t, newScanner(append(inProcessNeedles(), tokenNeedles(w)...)...), 30)
}

// TestTokensDoNotLeak: access tokens from every token source, the
// iambearer documents built from them, and the token sources' failures
// (an unknown key, an untrusted workload, an expired compute-resource
// token, an IAM outage) show no token, key or compute-resource token in
// any output form. The tokens themselves are reached only through
// Token.Value.Reveal, which nothing here calls.
func TestTokensDoNotLeak(t *testing.T) {
	c := &corpus{}
	w := newWorld(t, c, "tokens")
	ctx := context.Background()
	opts := iam.TokenOptions{URL: w.srv.URL(), HTTPClient: w.srv.Client(), Logger: w.logger}

	ts, err := iam.NewAPIKeyTokenSource(iam.NewSecret(sentinelCallerKey), opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ts.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.note("api key token source", ts, tok, tok.Value, err)
	cfg, err := icr.BearerConfig(tok, nil)
	c.note("icr.BearerConfig", cfg, err)
	if cfg != nil {
		back, ok := icr.BearerToken(cfg)
		c.note("icr.BearerToken", back, ok)
		doc, err := cfg.Marshal()
		c.note("bearer document length", len(doc), err)
	}

	profile := w.srv.AddTrustedProfile("canary-profile", "system:serviceaccount:team-a:puller")
	crFile := filepath.Join(t.TempDir(), "cr-token")
	if err := os.WriteFile(crFile, []byte(w.srv.CRToken("system:serviceaccount:team-a:puller", time.Hour)), 0o600); err != nil {
		t.Fatal(err)
	}
	pts, err := iam.NewTrustedProfileTokenSource(iam.TrustedProfileOptions{ProfileName: "canary-profile", CRTokenFile: crFile, TokenOptions: opts})
	if err != nil {
		t.Fatal(err)
	}
	ptok, err := pts.Token(ctx)
	c.note("trusted profile token", profile, pts, ptok, err)
	if err != nil {
		t.Errorf("trusted profile token: %v", err)
	}

	bad, err := iam.NewAPIKeyTokenSource(iam.NewSecret(sentinelPlantedKey), opts)
	if err != nil {
		t.Fatal(err)
	}
	btok, err := bad.Token(ctx)
	failing(t, c, "unknown API key", err, bad, btok)

	untrusted, err := iam.NewTrustedProfileTokenSource(iam.TrustedProfileOptions{ProfileName: "canary-profile", CRToken: iam.NewSecret(w.srv.CRToken("system:serviceaccount:team-b:other", time.Hour)), TokenOptions: opts})
	if err != nil {
		t.Fatal(err)
	}
	utok, err := untrusted.Token(ctx)
	failing(t, c, "untrusted workload", err, untrusted, utok)

	garbage, err := iam.NewTrustedProfileTokenSource(iam.TrustedProfileOptions{ProfileName: "canary-profile", CRToken: iam.NewSecret(sentinelSAToken), TokenOptions: opts})
	if err != nil {
		t.Fatal(err)
	}
	gtok, err := garbage.Token(ctx)
	failing(t, c, "compute-resource token IAM does not know", err, garbage, gtok)

	w.srv.Outage(iamtest.OpGetToken, http.StatusServiceUnavailable)
	fresh, err := iam.NewAPIKeyTokenSource(iam.NewSecret(sentinelCallerKey), opts)
	if err != nil {
		t.Fatal(err)
	}
	otok, err := fresh.Token(ctx)
	failing(t, c, "IAM outage", err, fresh, otok)
	w.srv.Resume(iamtest.OpGetToken)

	c.check(t, newScanner(append(inProcessNeedles(), tokenNeedles(w)...)...), 10)
}
