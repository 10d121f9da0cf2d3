package registry_test

import (
	"context"
	"strings"
	"testing"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/icr"
	"github.com/registrykit/registrykit/registry"
)

// TestNoKeyLeaks plants a sentinel key, runs apply (reusing it), a rotation
// that fails on a secret update, and a rotation that succeeds, and checks
// that neither the sentinel nor any key minted along the way appears in a
// Report, an error or the log output.
func TestNoKeyLeaks(t *testing.T) {
	const sentinel = "SENTINEL-api-key-0123456789abcdef"
	ctx := context.Background()
	fx := rotateFixture(t)
	sid := fx.srv.ServiceIDs()[0]
	fx.srv.AddAPIKeyValue(sid.IAMID, sentinel)
	cfg, _ := icr.APIKeyConfig(sentinel, nil)
	for _, ns := range append([]string{"default"}, rotateNamespaces...) {
		if _, err := applySecretIn(ctx, fx, ns, cfg); err != nil {
			t.Fatal(err)
		}
	}
	texts := map[string]string{}
	record := func(name string, rep registry.Report, err error) {
		texts[name+" report"] = rep.String()
		if err != nil {
			texts[name+" error"] = err.Error()
		}
		for _, s := range rep.Failed() {
			texts[name+" step error "+s.Object] = s.Err.Error()
		}
	}
	rep, err := registry.ApplyClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, registry.ApplyOptions{ClusterID: "c1", WriteOptions: registrykit.WriteOptions{Logger: fx.logger}})
	if rep.Counts()[registrykit.Reused] != 1 {
		t.Fatalf("sentinel not reused: %v\n%s", err, rep)
	}
	record("apply", rep, err)

	kubeFaultN("update", "secrets", 2).arm(t, fx)
	rep, err = registry.RotateAPIKey(ctx, &fx.cluster.Cluster, fx.client, registry.RotateOptions{ClusterID: "c1", WriteOptions: registrykit.WriteOptions{Logger: fx.logger}})
	if err == nil {
		t.Fatal("rotation with a failing update succeeded")
	}
	record("failed rotation", rep, err)

	rep, err = registry.RotateAPIKey(ctx, &fx.cluster.Cluster, fx.client, registry.RotateOptions{ClusterID: "c1", WriteOptions: registrykit.WriteOptions{Logger: fx.logger}})
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	record("rotation", rep, err)
	texts["logs"] = fx.logs.String()
	if !strings.Contains(texts["logs"], "registrykit step") {
		t.Fatalf("logger received nothing")
	}

	secrets := []string{sentinel}
	for _, ns := range append([]string{"default"}, rotateNamespaces...) {
		secrets = append(secrets, passwords(secretConfig(t, fx.cluster, ns, "all-icr-io"))...)
	}
	for _, s := range secrets {
		assertNoLeak(t, s, texts)
	}
	for _, tok := range fx.srv.IssuedTokens() {
		assertNoLeak(t, tok, texts)
	}
}
