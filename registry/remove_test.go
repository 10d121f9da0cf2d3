package registry_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
	"github.com/registrykit/registrykit/pullsecret"
	"github.com/registrykit/registrykit/registry"
)

// teardownFixture is a cluster where ApplyClusterPullSecret ran and
// CopyICRSecret copied the secret to team-a and team-b; team-c holds a
// same-named secret a person made for another registry, which teardown
// must leave alone.
func teardownFixture(t *testing.T) *fixture {
	t.Helper()
	var objs []runtime.Object
	for _, ns := range []string{"team-a", "team-b", "team-c"} {
		objs = append(objs, namespaceObj(ns, nil), serviceAccountObj(ns, "default"))
	}
	fx := newFixture(t, objs...)
	ctx := context.Background()
	if _, err := registry.ApplyClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, registry.ApplyOptions{ClusterID: "c1"}); err != nil {
		t.Fatalf("apply: %v", err)
	}
	if _, err := registry.CopyICRSecret(ctx, &fx.cluster.Cluster, registry.CopyICROptions{Targets: pullsecret.Targets{Namespaces: []string{"team-a", "team-b"}}}); err != nil {
		t.Fatalf("copy: %v", err)
	}
	putPullSecret(t, fx, "team-c", "all-icr-io", corev1.SecretTypeDockerConfigJson, "someone-elses-key")
	return fx
}

var teardownOurs = []string{"default/all-icr-io", "team-a/all-icr-io", "team-b/all-icr-io"}

// leftOfOurs lists what teardown must remove and finds still there: IAM
// objects of the cluster, secrets of ours, references to them.
func leftOfOurs(t *testing.T, fx *fixture) []string {
	t.Helper()
	var left []string
	if n := countIAM(fx.srv); n != (iamObjects{}) {
		left = append(left, "IAM: "+cmp.Diff(iamObjects{}, n))
	}
	for _, ref := range teardownOurs {
		ns, name, _ := strings.Cut(ref, "/")
		if secretConfig(t, fx.cluster, ns, name) != nil {
			left = append(left, "secret "+ref)
		}
		if slices.Contains(pullSecretsOf(t, fx.cluster, ns, "default"), name) {
			left = append(left, "reference in "+ns+"/default")
		}
	}
	return left
}

// assertNoSecretHoldsDeletedKey fails if a secret of ours holds a key that
// IAM no longer knows: the one state teardown must never leave, since pods
// could start with it.
func assertNoSecretHoldsDeletedKey(t *testing.T, fx *fixture) {
	t.Helper()
	for _, ref := range teardownOurs {
		ns, name, _ := strings.Cut(ref, "/")
		for _, pw := range passwords(secretConfig(t, fx.cluster, ns, name)) {
			if _, err := fx.client.APIKeyDetails(context.Background(), iam.NewSecret(pw)); err != nil {
				t.Errorf("secret %s holds a key IAM no longer knows", ref)
			}
		}
	}
}

func TestRemoveClusterPullSecret(t *testing.T) {
	ctx := context.Background()
	fx := teardownFixture(t)
	opts := registry.RemoveOptions{ClusterID: "c1"}

	rep, err := registry.RemoveClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, opts)
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	if left := leftOfOurs(t, fx); len(left) != 0 {
		t.Errorf("teardown left %v\n%s", left, rep)
	}
	if got := passwords(secretConfig(t, fx.cluster, "team-c", "all-icr-io")); !slices.Equal(got, []string{"someone-elses-key"}) {
		t.Errorf("team-c's own secret was changed or deleted: %v", got)
	}
	if !strings.Contains(rep.String(), "secret team-c/all-icr-io: skipped [not-ours]") {
		t.Errorf("report does not say team-c's secret was left:\n%s", rep)
	}
	// Secrets leave the service accounts before they go, and keys go only
	// after every secret of ours is gone.
	var order []string
	for _, s := range rep.Steps {
		if s.Action == registrykit.Deleted || s.Action == registrykit.Updated {
			order = append(order, s.Name)
		}
	}
	if want := []string{"service account", "secret", "service account", "secret", "service account", "secret", "API key", "policy", "service ID"}; !slices.Equal(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}

	// A rerun finds nothing to do.
	rep, err = registry.RemoveClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, opts)
	if err != nil || rep.Counts()[registrykit.Deleted] != 0 {
		t.Errorf("rerun: %v\n%s", err, rep)
	}
}

// A dry run sends no IAM write, sends every Kubernetes write with
// dryRun=All, and says what a real run would remove.
func TestRemoveClusterPullSecretDryRun(t *testing.T) {
	ctx := context.Background()
	fx := teardownFixture(t)
	before, actions := countIAM(fx.srv), len(fx.cluster.KubeFake.Actions())
	rep, err := registry.RemoveClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, registry.RemoveOptions{ClusterID: "c1", WriteOptions: registrykit.WriteOptions{DryRun: true}})
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, rep)
	}
	if got := countIAM(fx.srv); got != before {
		t.Errorf("dry run changed IAM: %+v, was %+v", got, before)
	}
	for _, op := range []string{iamtest.OpDeleteAPIKey, iamtest.OpDeleteV2Policy, iamtest.OpDeletePolicy, iamtest.OpDeleteServiceID} {
		if n := fx.srv.Calls(op); n != 0 {
			t.Errorf("dry run made %d %s calls", n, op)
		}
	}
	writes := 0
	for _, a := range fx.cluster.KubeFake.Actions()[actions:] {
		var dry []string
		switch a := a.(type) {
		case k8stesting.DeleteActionImpl:
			dry = a.DeleteOptions.DryRun
		case k8stesting.UpdateActionImpl:
			dry = a.UpdateOptions.DryRun
		default:
			continue
		}
		writes++
		if !slices.Equal(dry, []string{"All"}) {
			t.Errorf("%s %s without dryRun=All", a.GetVerb(), a.GetResource().Resource)
		}
	}
	if writes != 6 {
		t.Errorf("%d Kubernetes writes, want 6 (3 references, 3 secrets)", writes)
	}
	if c := rep.Counts(); c[registrykit.Deleted] != 3+1+1+1 {
		t.Errorf("dry run deletes %d (want 3 secrets, 1 key, 1 policy, 1 service ID):\n%s", c[registrykit.Deleted], rep)
	}
}

// A key of the service ID held by a pull secret that is not ours (another
// name, made by hand) keeps the key, the policy and the service ID, with a
// warning; everything of ours is still removed.
func TestRemoveClusterPullSecretKeepsKeyInUse(t *testing.T) {
	ctx := context.Background()
	fx := teardownFixture(t)
	value := passwords(secretConfig(t, fx.cluster, "default", "all-icr-io"))[0]
	putPullSecret(t, fx, "team-c", "by-hand", corev1.SecretTypeDockercfg, value)

	rep, err := registry.RemoveClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, registry.RemoveOptions{ClusterID: "c1"})
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	if got := countIAM(fx.srv); got != (iamObjects{ServiceIDs: 1, Policies: 1, Keys: 1}) {
		t.Errorf("IAM %+v, want the service ID, its policy and the key in use kept", got)
	}
	w := rep.Warnings()
	if len(w) != 1 || w[0].Skip != registrykit.SkipInUse || w[0].Name != "service ID" {
		t.Errorf("warnings %v, want one SkipInUse on the service ID\n%s", w, rep)
	}
	for _, ref := range teardownOurs {
		ns, name, _ := strings.Cut(ref, "/")
		if secretConfig(t, fx.cluster, ns, name) != nil {
			t.Errorf("secret %s was kept", ref)
		}
	}
}

// A key made by hand keeps the service ID unless DeleteUnmarkedKeys.
func TestRemoveClusterPullSecretUnmarkedKey(t *testing.T) {
	ctx := context.Background()
	fx := teardownFixture(t)
	fx.srv.AddAPIKeyNamed(fx.srv.ServiceIDs()[0].IAMID, "by-hand", "made in the console")
	opts := registry.RemoveOptions{ClusterID: "c1"}
	rep, err := registry.RemoveClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, opts)
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	if got := countIAM(fx.srv); got != (iamObjects{ServiceIDs: 1, Policies: 1, Keys: 1}) {
		t.Errorf("IAM %+v, want the key made by hand and so the service ID kept\n%s", got, rep)
	}
	opts.DeleteUnmarkedKeys = true
	rep, err = registry.RemoveClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, opts)
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	if left := leftOfOurs(t, fx); len(left) != 0 {
		t.Errorf("teardown left %v\n%s", left, rep)
	}
}

func TestRemoveProjectCredentials(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t, namespaceObj("team-a", nil), serviceAccountObj("team-a", "default"), namespaceObj("team-b", nil), serviceAccountObj("team-b", "default"))
	if _, err := registry.ProjectCredentials(ctx, &fx.cluster.Cluster, fx.client, registry.ProjectOptions{ClusterName: "prod", Project: "team-a"}); err != nil {
		t.Fatal(err)
	}
	// Another project's credentials stay.
	if _, err := registry.ProjectCredentials(ctx, &fx.cluster.Cluster, fx.client, registry.ProjectOptions{ClusterName: "prod", Project: "team-b"}); err != nil {
		t.Fatal(err)
	}
	rep, err := registry.RemoveProjectCredentials(ctx, &fx.cluster.Cluster, fx.client, registry.RemoveProjectOptions{ClusterName: "prod", Project: "team-a"})
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	if got := countIAM(fx.srv); got != (iamObjects{ServiceIDs: 1, Policies: 1, Keys: 1}) {
		t.Errorf("IAM %+v, want only team-b's service ID, policy and key", got)
	}
	if secretConfig(t, fx.cluster, "team-a", "team-a-icr-io") != nil || slices.Contains(pullSecretsOf(t, fx.cluster, "team-a", "default"), "team-a-icr-io") {
		t.Errorf("team-a's secret or reference left\n%s", rep)
	}
	if secretConfig(t, fx.cluster, "team-b", "team-b-icr-io") == nil {
		t.Error("team-b's secret was deleted")
	}
	rep, err = registry.RemoveProjectCredentials(ctx, &fx.cluster.Cluster, fx.client, registry.RemoveProjectOptions{ClusterName: "prod", Project: "team-a"})
	if err != nil || rep.Counts()[registrykit.Deleted] != 0 {
		t.Errorf("rerun: %v\n%s", err, rep)
	}
}

func TestRemoveValidation(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t)
	_, err := registry.RemoveClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, registry.RemoveOptions{ClusterID: "Bad_ID", SecretName: "x/y"})
	if !errors.Is(err, registrykit.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	_, err = registry.RemoveProjectCredentials(ctx, &fx.cluster.Cluster, nil, registry.RemoveProjectOptions{})
	if !errors.Is(err, registrykit.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	if n := len(fx.srv.Requests()); n != 0 {
		t.Errorf("%d IAM requests before validation passed", n)
	}
}

// TestRemoveClusterPullSecretFaults fails each IAM call and each Kubernetes
// request of the teardown in turn. After every failure no secret of ours
// holds a deleted key; a rerun without the fault removes everything of
// ours and leaves team-c's own secret.
func TestRemoveClusterPullSecretFaults(t *testing.T) {
	ctx := context.Background()
	opts := registry.RemoveOptions{ClusterID: "c1"}
	faults := []fault{
		iamFault(iamtest.OpListServiceIDs, 1, 500, false),
		iamFault(iamtest.OpGetAPIKeysDetails, 1, 500, false),
		iamFault(iamtest.OpListAPIKeys, 1, 500, false),
		iamFault(iamtest.OpDeleteAPIKey, 1, 500, false),
		iamFault(iamtest.OpDeleteAPIKey, 1, 500, true),
		iamFault(iamtest.OpListV2Policies, 1, 500, false),
		iamFault(iamtest.OpDeleteV2Policy, 1, 500, false),
		iamFault(iamtest.OpDeleteV2Policy, 1, 500, true),
		iamFault(iamtest.OpDeleteServiceID, 1, 500, false),
		iamFault(iamtest.OpDeleteServiceID, 1, 500, true),
		kubeFault("list", "secrets"),
		kubeFaultN("list", "secrets", 2),
		kubeFaultN("list", "secrets", 3),
		kubeFault("get", "serviceaccounts"),
		kubeFault("update", "serviceaccounts"),
		kubeFaultN("update", "serviceaccounts", 2),
		kubeFault("delete", "secrets"),
		kubeFaultN("delete", "secrets", 3),
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			fx := teardownFixture(t)
			f.arm(t, fx)
			rep, err := registry.RemoveClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, opts)
			if err == nil {
				t.Fatalf("fault not reached; report:\n%s", rep)
			}
			if len(rep.Failed()) == 0 {
				t.Errorf("error %v but no failed step in report:\n%s", err, rep)
			}
			assertNoSecretHoldsDeletedKey(t, fx)

			if rep, err := registry.RemoveClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, opts); err != nil {
				t.Fatalf("rerun: %v\n%s", err, rep)
			}
			if left := leftOfOurs(t, fx); len(left) != 0 {
				t.Errorf("after the rerun left %v", left)
			}
			if got := passwords(secretConfig(t, fx.cluster, "team-c", "all-icr-io")); !slices.Equal(got, []string{"someone-elses-key"}) {
				t.Errorf("team-c's own secret was changed or deleted: %v", got)
			}
		})
	}
}

// Without the right to list secrets cluster-wide teardown cannot know which
// keys are in use, so it stops with the API's Forbidden before any key goes.
func TestRemoveClusterPullSecretNeedsList(t *testing.T) {
	ctx := context.Background()
	fx := teardownFixture(t)
	lists := 0
	fx.cluster.KubeFake.PrependReactor("list", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if lists++; lists == 1 {
			return false, nil, nil // the copies
		}
		return true, nil, forbidden("secrets")
	})
	rep, err := registry.RemoveClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, registry.RemoveOptions{ClusterID: "c1"})
	if err == nil {
		t.Fatalf("no error without the List\n%s", rep)
	}
	if n := fx.srv.Calls(iamtest.OpDeleteAPIKey); n != 0 {
		t.Errorf("%d keys deleted without knowing which are in use", n)
	}
}

func forbidden(resource string) error {
	return apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "", errors.New("not granted"))
}

// TestRemoveProjectCredentialsFaults: RemoveProjectCredentials's fault
// table, as for the cluster: after each failure no secret of ours holds a
// deleted key, and a rerun removes everything of the project.
func TestRemoveProjectCredentialsFaults(t *testing.T) {
	ctx := context.Background()
	opts := registry.RemoveProjectOptions{ClusterName: "prod", Project: "team-a"}
	faults := []fault{
		iamFault(iamtest.OpListServiceIDs, 1, 500, false),
		iamFault(iamtest.OpGetAPIKeysDetails, 1, 500, false),
		iamFault(iamtest.OpListAPIKeys, 1, 500, false),
		iamFault(iamtest.OpDeleteAPIKey, 1, 500, true),
		iamFault(iamtest.OpListV2Policies, 1, 500, false),
		iamFault(iamtest.OpDeleteV2Policy, 1, 500, true),
		iamFault(iamtest.OpDeleteServiceID, 1, 500, false),
		kubeFault("list", "secrets"),
		kubeFaultN("list", "secrets", 3),
		kubeFault("get", "serviceaccounts"),
		kubeFault("update", "serviceaccounts"),
		kubeFault("delete", "secrets"),
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			fx := newFixture(t, namespaceObj("team-a", nil), serviceAccountObj("team-a", "default"))
			if _, err := registry.ProjectCredentials(ctx, &fx.cluster.Cluster, fx.client, registry.ProjectOptions{ClusterName: "prod", Project: "team-a"}); err != nil {
				t.Fatal(err)
			}
			f.arm(t, fx)
			rep, err := registry.RemoveProjectCredentials(ctx, &fx.cluster.Cluster, fx.client, opts)
			if err == nil {
				t.Fatalf("fault not reached; report:\n%s", rep)
			}
			for _, pw := range passwords(secretConfig(t, fx.cluster, "team-a", "team-a-icr-io")) {
				if _, err := fx.client.APIKeyDetails(ctx, iam.NewSecret(pw)); err != nil {
					t.Error("team-a/team-a-icr-io holds a key IAM no longer knows")
				}
			}
			if rep, err := registry.RemoveProjectCredentials(ctx, &fx.cluster.Cluster, fx.client, opts); err != nil {
				t.Fatalf("rerun: %v\n%s", err, rep)
			}
			if got := countIAM(fx.srv); got != (iamObjects{}) {
				t.Errorf("IAM after the rerun %+v, want nothing", got)
			}
			if secretConfig(t, fx.cluster, "team-a", "team-a-icr-io") != nil || slices.Contains(pullSecretsOf(t, fx.cluster, "team-a", "default"), "team-a-icr-io") {
				t.Error("the project's secret or its reference is left")
			}
		})
	}
}
