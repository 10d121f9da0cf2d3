package rbac_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/registrykit/registrykit/build"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
	"github.com/registrykit/registrykit/imagestream"
	"github.com/registrykit/registrykit/pullsecret"
	"github.com/registrykit/registrykit/rbac"
	"github.com/registrykit/registrykit/registry"
)

var exposeLock sync.Mutex // openshift-image-registry/image-registry route

// fakeIAM is a fresh in-process IAM per run.
func fakeIAM(t *testing.T) *iam.Client {
	t.Helper()
	srv := iamtest.NewServer()
	t.Cleanup(srv.Close)
	c, err := iam.New(iam.Options{APIKey: iam.NewSecret(srv.AddAPIKey("IBMid-100000ABCD")), AccountID: srv.AccountID(), URL: srv.URL(), HTTPClient: srv.Client()})
	must(t, err)
	return c
}

func init() {
	// Each provisioning workflow runs twice in one namespace: once creating
	// its secret ("a") and once updating a stale one ("b").
	twice := func(run func(ctx context.Context, c *registry.Cluster, ic *iam.Client, ns, secret string) error, sa string, extra func(t *testing.T, ns string)) func(t *testing.T) (map[Scope][]string, call) {
		return func(t *testing.T) (map[Scope][]string, call) {
			ns := env.Namespace(t)
			serviceAccount(t, ns, sa)
			pullSecret(t, ns, "b", doc(t, "us.icr.io", "iamapikey", "unknown-to-iam"))
			if extra != nil {
				extra(t, ns)
			}
			ic := fakeIAM(t)
			return target(ns), func(ctx context.Context, c *registry.Cluster) error {
				for _, s := range []string{"a", "b"} {
					if err := run(ctx, c, ic, ns, s); err != nil {
						return err
					}
				}
				return nil
			}
		}
	}
	scenarios[rbac.OpApplyClusterPullSecret] = scenario{setup: twice(func(ctx context.Context, c *registry.Cluster, ic *iam.Client, ns, s string) error {
		_, err := registry.ApplyClusterPullSecret(ctx, c, ic, registry.ApplyOptions{ClusterID: "c1", Namespace: ns, SecretName: s, Domains: []string{"us.icr.io"}})
		return err
	}, "default", nil)}
	scenarios[rbac.OpProjectCredentials] = scenario{setup: twice(func(ctx context.Context, c *registry.Cluster, ic *iam.Client, ns, s string) error {
		_, err := registry.ProjectCredentials(ctx, c, ic, registry.ProjectOptions{ClusterName: "c1", Project: ns, SecretName: s, Regions: []string{"us-south"}})
		return err
	}, "default", nil)}
	scenarios[rbac.OpEntitledRegistry] = scenario{setup: twice(func(ctx context.Context, c *registry.Cluster, _ *iam.Client, ns, s string) error {
		_, err := registry.EntitledRegistry(ctx, c, iam.NewSecret("entitlement-key"), registry.EntitledOptions{Namespace: ns, SecretName: s})
		return err
	}, "default", nil)}
	scenarios[rbac.OpBuildPushSecret] = scenario{setup: twice(func(ctx context.Context, c *registry.Cluster, ic *iam.Client, ns, s string) error {
		_, err := registry.BuildPushSecret(ctx, c, ic, registry.BuildPushOptions{ClusterName: "c1", Project: ns, BuildConfig: "app", SecretName: s, Regions: []string{"us-south"}, Pull: true})
		return err
	}, build.BuilderServiceAccount, func(t *testing.T, ns string) { buildConfig(t, ns, "app") })}

	scenarios[rbac.OpCopyICRSecret] = scenario{conds: []rbac.Condition{rbac.WhenSelector, rbac.WhenReplace}, setup: func(t *testing.T) (map[Scope][]string, call) {
		src := env.Namespace(t)
		pullSecret(t, src, "all-icr-io", doc(t, "us.icr.io", "iamapikey", "k"))
		from := types.NamespacedName{Namespace: src, Name: "all-icr-io"}
		ts, to := copyTargets(t, from, "all-icr-io")
		for _, ns := range ts {
			serviceAccount(t, ns, "default")
		}
		return map[Scope][]string{rbac.ScopeSource: {src}, rbac.ScopeTarget: ts}, func(ctx context.Context, c *registry.Cluster) error {
			_, err := registry.CopyICRSecret(ctx, c, registry.CopyICROptions{Targets: pullsecret.Targets{Namespaces: to.Namespaces, Selector: to.Selector}, From: from})
			return err
		}
	}}
	scenarios[rbac.OpImportImage] = scenario{setup: func(t *testing.T) (map[Scope][]string, call) {
		ns := env.Namespace(t)
		stream(t, ns, "old", "1", "us.icr.io/team/other:1", true)
		return target(ns), func(ctx context.Context, c *registry.Cluster) error {
			// Create without waiting; update an imported stream and wait.
			if _, _, err := registry.ImportImage(ctx, c, "us.icr.io/team/app:1", imagestream.Ref{Namespace: ns, Stream: "new", Tag: "1"}, registry.ImportOptions{NoWait: true}); err != nil {
				return err
			}
			_, _, err := registry.ImportImage(ctx, c, "us.icr.io/team/app:1", imagestream.Ref{Namespace: ns, Stream: "old", Tag: "1"}, registry.ImportOptions{Timeout: 20 * time.Second})
			return err
		}
	}}
	scenarios[rbac.OpExposeInternalRegistry] = scenario{lock: &exposeLock, conds: []rbac.Condition{rbac.WhenUnreferenced}, setup: func(t *testing.T) (map[Scope][]string, call) {
		fixed(t)
		deleteRoute(t, registryNS, "image-registry")
		ns := env.Namespace(t)
		serviceAccount(t, ns, "default")
		dockercfgSecret(t, ns, "default")
		pullSecret(t, ns, "old", doc(t, "x.example.com", "u", "p"))
		return map[Scope][]string{rbac.ScopeRegistry: {registryNS}, rbac.ScopeTarget: {ns}}, func(ctx context.Context, c *registry.Cluster) error {
			// First run creates the route (admitted by a fake router) and
			// the secret "new"; then the route drifts and the second run
			// updates it and the stale secret "old".
			router(ctx, t, registryNS, "image-registry")
			if _, _, err := registry.ExposeInternalRegistry(ctx, c, registry.ExposeInternalOptions{Projects: []string{ns}, SecretName: "new", Timeout: 30 * time.Second}); err != nil {
				return err
			}
			driftRoute(t, registryNS, "image-registry")
			_, _, err := registry.ExposeInternalRegistry(ctx, c, registry.ExposeInternalOptions{Projects: []string{ns}, SecretName: "old", Timeout: 30 * time.Second})
			return err
		}
	}}
	scenarios[rbac.OpRotateAPIKey] = scenario{conds: []rbac.Condition{rbac.WhenSelector}, setup: func(t *testing.T) (map[Scope][]string, call) {
		ns := env.Namespace(t)
		serviceAccount(t, ns, "default")
		ic := fakeIAM(t)
		admin, err := registry.NewCluster(env.Config)
		must(t, err)
		secretName := "rot-" + ns
		if _, err := registry.ApplyClusterPullSecret(t.Context(), admin, ic, registry.ApplyOptions{ClusterID: "c1", Namespace: ns, SecretName: secretName, Domains: []string{"us.icr.io"}}); err != nil {
			t.Fatal(err)
		}
		labelNamespace(t, ns, "rbac-select", ns)
		sel := labels.SelectorFromSet(labels.Set{"rbac-select": ns})
		return target(ns), func(ctx context.Context, c *registry.Cluster) error {
			// A copy that cannot be updated surfaces as ErrRotationIncomplete;
			// the API error itself is in the Report's failed step.
			rep, err := registry.RotateAPIKey(ctx, c, ic, registry.RotateOptions{ClusterID: "c1", SecretName: secretName, Targets: pullsecret.Targets{Selector: sel}})
			if err != nil {
				return errors.Join(err, rep.Err())
			}
			return nil
		}
	}}
	// Teardown: provisioned as admin, removed as the user. The run removes
	// the service account's reference and the secret, then (every key now
	// unused) the key, the policy and the service ID.
	scenarios[rbac.OpRemoveClusterPullSecret] = scenario{setup: func(t *testing.T) (map[Scope][]string, call) {
		ns := env.Namespace(t)
		serviceAccount(t, ns, "default")
		ic := fakeIAM(t)
		admin, err := registry.NewCluster(env.Config)
		must(t, err)
		secretName := "rm-" + ns
		if _, err := registry.ApplyClusterPullSecret(t.Context(), admin, ic, registry.ApplyOptions{ClusterID: "c1", Namespace: ns, SecretName: secretName, Domains: []string{"us.icr.io"}}); err != nil {
			t.Fatal(err)
		}
		return target(ns), func(ctx context.Context, c *registry.Cluster) error {
			_, err := registry.RemoveClusterPullSecret(ctx, c, ic, registry.RemoveOptions{ClusterID: "c1", Namespace: ns, SecretName: secretName})
			return err
		}
	}}
	scenarios[rbac.OpRemoveProjectCredentials] = scenario{setup: func(t *testing.T) (map[Scope][]string, call) {
		ns := env.Namespace(t)
		serviceAccount(t, ns, "default")
		ic := fakeIAM(t)
		admin, err := registry.NewCluster(env.Config)
		must(t, err)
		if _, err := registry.ProjectCredentials(t.Context(), admin, ic, registry.ProjectOptions{ClusterName: "c1", Project: ns, Regions: []string{"us-south"}}); err != nil {
			t.Fatal(err)
		}
		return target(ns), func(ctx context.Context, c *registry.Cluster) error {
			_, err := registry.RemoveProjectCredentials(ctx, c, ic, registry.RemoveProjectOptions{ClusterName: "c1", Project: ns})
			return err
		}
	}}
}
