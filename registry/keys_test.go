package registry_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
	"github.com/registrykit/registrykit/icr"
	"github.com/registrykit/registrykit/registry"
)

// loseSecret deletes default/all-icr-io, as a person cleaning up might.
func loseSecret(t *testing.T, fx *fixture) {
	t.Helper()
	if err := fx.cluster.Kube.CoreV1().Secrets("default").Delete(context.Background(), "all-icr-io", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
}

// putPullSecret writes a pull secret holding value for us.icr.io under any
// name and type, the way a person following the guide would.
func putPullSecret(t *testing.T, fx *fixture, ns, name string, typ corev1.SecretType, value string) {
	t.Helper()
	cfg, err := icr.APIKeyConfig(value, []string{"us.icr.io"})
	if err != nil {
		t.Fatal(err)
	}
	data, err := cfg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Type: typ,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: data}}
	if typ == corev1.SecretTypeDockercfg {
		legacy, err := cfg.MarshalLegacy()
		if err != nil {
			t.Fatal(err)
		}
		s.Data = map[string][]byte{corev1.DockerConfigKey: legacy}
	}
	if _, err := fx.cluster.Kube.CoreV1().Secrets(ns).Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func keyIDs(keys []iamtest.APIKey) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.ID)
	}
	slices.Sort(out)
	return out
}

// Three lost secrets in a row leave one key: each rerun mints a new key and,
// once the secret holds it, deletes the key that no pull secret holds any
// more (issue 12's acceptance).
func TestApplyClusterPullSecretLostSecretsLeaveOneKey(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t)
	opts := registry.ApplyOptions{ClusterID: "c1"}
	if _, err := registry.ApplyClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, opts); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		loseSecret(t, fx)
		rep, err := registry.ApplyClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, opts)
		if err != nil {
			t.Fatalf("run %d: %v\n%s", i+2, err, rep)
		}
		if n := len(keysOf(fx.srv, "cluster-c1")); n != 1 {
			t.Errorf("after lost secret %d: %d keys, want 1\n%s", i+1, n, rep)
		}
		if rep.Counts()[registrykit.Deleted] != 1 {
			t.Errorf("run %d deleted %d keys, want 1:\n%s", i+2, rep.Counts()[registrykit.Deleted], rep)
		}
	}
	if got := fx.srv.Calls(iamtest.OpCreateAPIKey); got != 4 {
		t.Errorf("%d keys minted, want 4", got)
	}
}

// Pruning deletes only keys registrykit made (iam.Marker) that no pull
// secret in the cluster holds, of either type and under any name; a key made
// by hand stays unless PruneUnmarkedKeys; a dry run deletes nothing and says
// what it would delete.
func TestApplyClusterPullSecretPrunesOnlyUnusedMarkedKeys(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t)
	opts := registry.ApplyOptions{ClusterID: "c1"}
	if _, err := registry.ApplyClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, opts); err != nil {
		t.Fatal(err)
	}
	sid := fx.srv.ServiceIDs()[0]
	first := keysOf(fx.srv, "cluster-c1")[0]
	byHand, _ := fx.srv.AddAPIKeyNamed(sid.IAMID, "by-hand", "made in the console")
	heldJSON, vJSON := fx.srv.AddAPIKeyNamed(sid.IAMID, "cluster-c1", iam.Mark("an earlier run"))
	heldCfg, vCfg := fx.srv.AddAPIKeyNamed(sid.IAMID, "cluster-c1", iam.Mark("an earlier run"))
	putPullSecret(t, fx, "team-a", "my-pull", corev1.SecretTypeDockerConfigJson, vJSON)
	putPullSecret(t, fx, "team-b", "legacy-pull", corev1.SecretTypeDockercfg, vCfg)
	loseSecret(t, fx)

	dry := opts
	dry.DryRun = true
	rep, err := registry.ApplyClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, dry)
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	if n := fx.srv.Calls(iamtest.OpDeleteAPIKey); n != 0 {
		t.Errorf("dry run deleted %d keys", n)
	}
	if !strings.Contains(rep.String(), "dry run: would delete "+first.ID) {
		t.Errorf("dry run does not say it would delete %s:\n%s", first.ID, rep)
	}

	rep, err = registry.ApplyClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, opts)
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	cur := keysOf(fx.srv, "cluster-c1")
	if slices.ContainsFunc(cur, func(k iamtest.APIKey) bool { return k.ID == first.ID }) {
		t.Errorf("the unused key %s was kept:\n%s", first.ID, rep)
	}
	for _, keep := range []iamtest.APIKey{byHand, heldJSON, heldCfg} {
		if !slices.ContainsFunc(cur, func(k iamtest.APIKey) bool { return k.ID == keep.ID }) {
			t.Errorf("key %s (%s) was deleted:\n%s", keep.ID, keep.Description, rep)
		}
	}
	for _, want := range []string{"still held by team-a/my-pull", "still held by team-b/legacy-pull"} {
		if !strings.Contains(rep.String(), want) {
			t.Errorf("report does not say %q:\n%s", want, rep)
		}
	}

	// Asked to, it deletes the unused key it did not make, still not the
	// keys pull secrets hold.
	opts.PruneUnmarkedKeys = true
	rep, err = registry.ApplyClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, opts)
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	cur = keysOf(fx.srv, "cluster-c1")
	if slices.ContainsFunc(cur, func(k iamtest.APIKey) bool { return k.ID == byHand.ID }) || len(cur) != 3 {
		t.Errorf("keys %v; want the key made by hand deleted and 3 left\n%s", keyIDs(cur), rep)
	}
}

// At IAM's limit of 20 keys it first deletes the keys it made that nothing
// holds; if that frees none it fails before minting, with ErrKeyLimit.
func TestApplyClusterPullSecretKeyLimit(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name    string
		marked  bool
		wantErr bool
	}{
		{"unused marked keys are deleted first", true, false},
		{"keys made by hand fail before minting", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t)
			sid := fx.srv.AddServiceID("cluster-c1", iam.Mark("cluster c1"))
			for range iam.DefaultAPIKeyLimit {
				desc := "by hand"
				if tt.marked {
					desc = iam.Mark("an earlier run")
				}
				fx.srv.AddAPIKeyNamed(sid.IAMID, "cluster-c1", desc)
			}
			rep, err := registry.ApplyClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, registry.ApplyOptions{ClusterID: "c1"})
			if tt.wantErr {
				if !errors.Is(err, iam.ErrKeyLimit) {
					t.Fatalf("err = %v, want iam.ErrKeyLimit\n%s", err, rep)
				}
				if !strings.Contains(err.Error(), "PruneUnmarkedKeys") {
					t.Errorf("the error does not say what to do: %v", err)
				}
				if n := fx.srv.Calls(iamtest.OpCreateAPIKey); n != 0 {
					t.Errorf("%d keys minted at the limit", n)
				}
				if secretConfig(t, fx.cluster, "default", "all-icr-io") != nil {
					t.Error("a secret was written without a key")
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, rep)
			}
			if n := len(keysOf(fx.srv, "cluster-c1")); n != 1 {
				t.Errorf("%d keys, want 1\n%s", n, rep)
			}
		})
	}
}

// Without the right to list secrets cluster-wide no key is deleted, and a
// warning step says so; the run itself succeeds.
func TestApplyClusterPullSecretPruneForbidden(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t)
	opts := registry.ApplyOptions{ClusterID: "c1"}
	if _, err := registry.ApplyClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, opts); err != nil {
		t.Fatal(err)
	}
	loseSecret(t, fx)
	fx.cluster.KubeFake.PrependReactor("list", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetNamespace() != "" {
			return false, nil, nil
		}
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "", errors.New("no cluster-wide list"))
	})
	rep, err := registry.ApplyClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, opts)
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	if n := len(keysOf(fx.srv, "cluster-c1")); n != 2 {
		t.Errorf("%d keys, want both kept", n)
	}
	w := rep.Warnings()
	if len(w) != 1 || w[0].Skip != registrykit.SkipForbidden {
		t.Errorf("warnings %v, want one SkipForbidden\n%s", w, rep)
	}
}

// RotateAPIKey reads every image pull secret in the cluster before it
// deletes an old key: a pull secret under another name, of either type,
// that holds the old key keeps it alive, with a warning step. The pull
// secrets are read with one List per type, each with a field selector on
// type (issue 13 item 5).
func TestRotateAPIKeyKeepsKeysOtherPullSecretsHold(t *testing.T) {
	for _, typ := range []corev1.SecretType{corev1.SecretTypeDockerConfigJson, corev1.SecretTypeDockercfg} {
		t.Run(string(typ), func(t *testing.T) {
			ctx := context.Background()
			fx := rotateFixture(t)
			old := keysOf(fx.srv, "cluster-c1")[0]
			secrets, _ := rotateRefs()
			value := passwords(secretConfig(t, fx.cluster, "default", "all-icr-io"))[0]
			putPullSecret(t, fx, "team-x", "team-x-icr-io", typ, value)
			actions := len(fx.cluster.KubeFake.Actions())

			rep, err := registry.RotateAPIKey(ctx, &fx.cluster.Cluster, fx.client, registry.RotateOptions{ClusterID: "c1"})
			if err != nil {
				t.Fatalf("%v\n%s", err, rep)
			}
			if !slices.ContainsFunc(keysOf(fx.srv, "cluster-c1"), func(k iamtest.APIKey) bool { return k.ID == old.ID }) {
				t.Fatalf("old key deleted although team-x/team-x-icr-io holds it:\n%s", rep)
			}
			w := rep.Warnings()
			if len(w) != 1 || w[0].Skip != registrykit.SkipInUse || !strings.Contains(w[0].Reason, "team-x/team-x-icr-io") {
				t.Errorf("warnings %v, want one SkipInUse naming team-x/team-x-icr-io\n%s", w, rep)
			}
			if refs := referencedKeyIDs(t, fx, secrets); len(refs) != 1 || refs[old.ID] {
				t.Errorf("copies hold %v, want only the new key", refs)
			}
			var selectors []string
			for _, a := range fx.cluster.KubeFake.Actions()[actions:] {
				if l, ok := a.(k8stesting.ListAction); ok && a.GetResource().Resource == "secrets" && a.GetNamespace() == "" {
					if f := l.GetListRestrictions().Fields.String(); strings.HasPrefix(f, "type=") {
						selectors = append(selectors, f)
					}
				}
			}
			want := []string{"type=" + string(corev1.SecretTypeDockerConfigJson), "type=" + string(corev1.SecretTypeDockercfg)}
			if !slices.Equal(selectors, want) {
				t.Errorf("pull secret Lists %v, want %v", selectors, want)
			}

			// Once that secret moves to the new key, a rerun deletes it.
			if err := fx.cluster.Kube.CoreV1().Secrets("team-x").Delete(ctx, "team-x-icr-io", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			if rep, err := registry.RotateAPIKey(ctx, &fx.cluster.Cluster, fx.client, registry.RotateOptions{ClusterID: "c1"}); err != nil {
				t.Fatalf("%v\n%s", err, rep)
			}
			if n := len(keysOf(fx.srv, "cluster-c1")); n != 1 {
				t.Errorf("%d keys after the second rotation, want 1", n)
			}
		})
	}
}
