package registry_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
	"github.com/registrykit/registrykit/pullsecret"
	"github.com/registrykit/registrykit/registry"
)

// fault is one failure point: an IAM fault or a Kubernetes reactor that
// fails the next matching request once.
type fault struct {
	name string
	iam  *iamtest.Fault
	verb string // Kubernetes verb, with resource
	res  string
	nth  int // which matching request fails; 0 means the first
}

func (f fault) arm(t *testing.T, fx *fixture) {
	t.Helper()
	if f.iam != nil {
		fx.srv.Inject(*f.iam)
		return
	}
	var seen atomic.Int32
	nth := int32(max(f.nth, 1))
	fx.cluster.KubeFake.PrependReactor(f.verb, f.res, func(a k8stesting.Action) (bool, runtime.Object, error) {
		if seen.Add(1) == nth {
			return true, nil, apierrors.NewInternalError(fmt.Errorf("injected %s %s failure", f.verb, f.res))
		}
		return false, nil, nil
	})
}

func iamFault(op string, nth, status int, afterApply bool) fault {
	name := fmt.Sprintf("iam %s #%d %d", op, nth, status)
	if afterApply {
		name += " after apply"
	}
	return fault{name: name, iam: &iamtest.Fault{Op: op, Nth: nth, Status: status, AfterApply: afterApply}}
}

func kubeFault(verb, res string) fault {
	return fault{name: "kube " + verb + " " + res, verb: verb, res: res}
}

func kubeFaultN(verb, res string, nth int) fault {
	return fault{name: fmt.Sprintf("kube %s %s #%d", verb, res, nth), verb: verb, res: res, nth: nth}
}

// state is what a converged run leaves, compared between a faulted-then-rerun
// fixture and a clean one. Key values and IDs differ between runs and are
// replaced by what can be compared: which service ID owns the secret's key,
// and whether IAM says it is valid.
type state struct {
	ServiceIDs []string
	Policies   []string // "<service ID> <role> <attributes>"
	Keys       map[string]int
	Secrets    map[string][]string // ns/name → "server user owner valid"
	PullRefs   map[string][]string // ns/sa → imagePullSecrets
}

func snapshot(t *testing.T, fx *fixture, secrets []string, sas []string) state {
	t.Helper()
	ctx := context.Background()
	st := state{Keys: map[string]int{}, Secrets: map[string][]string{}, PullRefs: map[string][]string{}}
	names := map[string]string{}
	for _, s := range fx.srv.ServiceIDs() {
		st.ServiceIDs = append(st.ServiceIDs, s.Name)
		names[s.IAMID] = s.Name
	}
	for _, p := range fx.srv.Policies() {
		var attrs []string
		for k, v := range p.Attributes {
			if k != "accountId" {
				attrs = append(attrs, k+"="+v)
			}
		}
		sort.Strings(attrs)
		st.Policies = append(st.Policies, fmt.Sprintf("%s %v %s", names[p.SubjectIAMID], p.RoleIDs, strings.Join(attrs, ",")))
	}
	sort.Strings(st.Policies)
	for _, k := range fx.srv.APIKeys() {
		if n, ok := names[k.IAMID]; ok {
			st.Keys[n]++
		}
	}
	for _, ref := range secrets {
		ns, name, _ := strings.Cut(ref, "/")
		cfg := secretConfig(t, fx.cluster, ns, name)
		if cfg == nil {
			continue
		}
		var entries []string
		for server, e := range cfg.Auths {
			owner, valid := "unknown", false
			if d, err := fx.client.APIKeyDetails(ctx, iam.NewSecret(e.Password)); err == nil {
				owner, valid = names[d.IAMID], d.Valid()
			}
			entries = append(entries, fmt.Sprintf("%s %s %s %t", server, e.Username, owner, valid))
		}
		sort.Strings(entries)
		st.Secrets[ref] = entries
	}
	for _, ref := range sas {
		ns, name, _ := strings.Cut(ref, "/")
		st.PullRefs[ref] = pullSecretsOf(t, fx.cluster, ns, name)
	}
	return st
}

// referencedKeyIDs returns the IDs of the keys the given secrets hold.
func referencedKeyIDs(t *testing.T, fx *fixture, secrets []string) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	for _, ref := range secrets {
		ns, name, _ := strings.Cut(ref, "/")
		for _, pw := range passwords(secretConfig(t, fx.cluster, ns, name)) {
			if d, err := fx.client.APIKeyDetails(context.Background(), iam.NewSecret(pw)); err == nil {
				ids[d.ID] = true
			}
		}
	}
	return ids
}

// assertNoOrphans fails if the service ID owns a key that no secret
// references, other than the keys in allowed (keys that existed before the
// run and that the run was about to replace).
func assertNoOrphans(t *testing.T, fx *fixture, serviceID string, secrets []string, allowed map[string]bool) {
	t.Helper()
	refs := referencedKeyIDs(t, fx, secrets)
	for _, k := range keysOf(fx.srv, serviceID) {
		if !refs[k.ID] && !allowed[k.ID] {
			t.Errorf("orphan key %s (%s) of %s: no secret references it", k.Name, k.ID, serviceID)
		}
	}
}

var applySecrets = []string{"default/all-icr-io"}
var applySAs = []string{"default/default"}

func applyFaults() []fault {
	return []fault{
		iamFault(iamtest.OpGetToken, 1, 500, false),
		iamFault(iamtest.OpListServiceIDs, 1, 500, false),
		iamFault(iamtest.OpCreateServiceID, 1, 403, false),
		iamFault(iamtest.OpCreateServiceID, 1, 500, true),
		iamFault(iamtest.OpListRoles, 1, 500, false),
		iamFault(iamtest.OpCreatePolicy, 1, 403, false),
		iamFault(iamtest.OpCreatePolicy, 1, 500, false),
		iamFault(iamtest.OpCreatePolicy, 1, 500, true),
		iamFault(iamtest.OpCreateAPIKey, 1, 403, false),
		iamFault(iamtest.OpCreateAPIKey, 1, 500, true),
		kubeFault("get", "secrets"),
		kubeFault("create", "secrets"),
		kubeFault("get", "serviceaccounts"),
		kubeFault("update", "serviceaccounts"),
	}
}

// TestApplyClusterPullSecretFaults fails each IAM call and each Kubernetes
// request of ApplyClusterPullSecret in turn, on a fresh cluster and on a
// rerun whose key IAM has disabled (so a new key is minted and the secret
// updated). After every failure no key is orphaned; a rerun without the fault
// converges to the state of a clean run.
func TestApplyClusterPullSecretFaults(t *testing.T) {
	ctx := context.Background()
	opts := registry.ApplyOptions{ClusterID: "c1"}

	type scenario struct {
		name   string
		setup  func(t *testing.T, fx *fixture) map[string]bool // returns keys allowed to stay unreferenced
		faults []fault
	}
	scenarios := []scenario{
		{"fresh", func(*testing.T, *fixture) map[string]bool { return nil }, applyFaults()},
		{"disabled key", func(t *testing.T, fx *fixture) map[string]bool {
			if _, err := registry.ApplyClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, opts); err != nil {
				t.Fatalf("setup: %v", err)
			}
			allowed := map[string]bool{}
			for _, k := range keysOf(fx.srv, "cluster-c1") {
				fx.srv.DisableAPIKey(k.ID)
				allowed[k.ID] = true
			}
			return allowed
		}, []fault{
			iamFault(iamtest.OpListServiceIDs, 1, 500, false),
			iamFault(iamtest.OpListV2Policies, 1, 403, false),
			iamFault(iamtest.OpGetAPIKeysDetails, 1, 500, false),
			iamFault(iamtest.OpListAPIKeys, 1, 500, false),
			iamFault(iamtest.OpCreateAPIKey, 1, 403, false),
			iamFault(iamtest.OpCreateAPIKey, 1, 500, true),
			kubeFault("get", "secrets"),
			kubeFault("update", "secrets"),
			kubeFault("get", "serviceaccounts"),
			// Pruning the disabled key once the new one is in place.
			kubeFault("list", "secrets"),
			kubeFaultN("list", "secrets", 2),
			iamFault(iamtest.OpDeleteAPIKey, 1, 500, false),
			iamFault(iamtest.OpDeleteAPIKey, 1, 500, true),
		}},
		{"narrowed policy", func(t *testing.T, fx *fixture) map[string]bool {
			// The cluster's service ID, made by hand with a policy someone
			// narrowed to one region: the run creates the default policy,
			// then deletes the narrowed one.
			sid := fx.srv.AddServiceID("cluster-c1", "made by the CLI")
			fx.srv.AddV2Policy(iamtest.V2Policy{SubjectIAMID: sid.IAMID, RoleIDs: []string{iamtest.RoleCRN("Reader")},
				Attributes: map[string]string{"serviceName": "container-registry", "region": "us-south"}})
			return nil
		}, []fault{
			iamFault(iamtest.OpListV2Policies, 1, 500, false),
			iamFault(iamtest.OpListV2Policies, 2, 500, false),
			iamFault(iamtest.OpCreatePolicy, 1, 500, true),
			iamFault(iamtest.OpDeleteV2Policy, 1, 500, false),
			iamFault(iamtest.OpDeleteV2Policy, 1, 500, true),
		}},
	}

	for _, sc := range scenarios {
		clean := newFixture(t)
		allowed := sc.setup(t, clean)
		if _, err := registry.ApplyClusterPullSecret(ctx, &clean.cluster.Cluster, clean.client, opts); err != nil {
			t.Fatalf("%s: clean run: %v", sc.name, err)
		}
		want := snapshot(t, clean, applySecrets, applySAs)
		wantKeys := len(keysOf(clean.srv, "cluster-c1")) - len(allowed)

		for _, f := range sc.faults {
			t.Run(sc.name+"/"+f.name, func(t *testing.T) {
				fx := newFixture(t)
				allowed := sc.setup(t, fx)
				f.arm(t, fx)
				rep, err := registry.ApplyClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, opts)
				if err == nil {
					t.Fatalf("fault not reached; report:\n%s", rep)
				}
				if len(rep.Failed()) == 0 {
					t.Errorf("error %v but no failed step in report:\n%s", err, rep)
				}
				assertNoOrphans(t, fx, "cluster-c1", applySecrets, allowed)

				if _, err := registry.ApplyClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, opts); err != nil {
					t.Fatalf("rerun: %v", err)
				}
				if diff := cmp.Diff(want, snapshot(t, fx, applySecrets, applySAs)); diff != "" {
					t.Errorf("rerun state differs from a clean run (-want +got):\n%s", diff)
				}
				if got := len(keysOf(fx.srv, "cluster-c1")) - len(allowed); got != wantKeys {
					t.Errorf("keys of cluster-c1 after rerun = %d new, want %d", got, wantKeys)
				}
				assertNoOrphans(t, fx, "cluster-c1", applySecrets, allowed)
			})
		}
	}
}

var rotateNamespaces = []string{"team-a", "team-b", "team-c"}

func rotateFixture(t *testing.T) *fixture {
	t.Helper()
	var objs []runtime.Object
	for _, ns := range rotateNamespaces {
		objs = append(objs, namespaceObj(ns, nil), serviceAccountObj(ns, "default"))
	}
	fx := newFixture(t, objs...)
	ctx := context.Background()
	if _, err := registry.ApplyClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, registry.ApplyOptions{ClusterID: "c1"}); err != nil {
		t.Fatalf("apply: %v", err)
	}
	if _, err := registry.CopyICRSecret(ctx, &fx.cluster.Cluster, registry.CopyICROptions{Targets: pullsecret.Targets{Namespaces: rotateNamespaces}}); err != nil {
		t.Fatalf("copy: %v", err)
	}
	return fx
}

func rotateRefs() (secrets, sas []string) {
	secrets, sas = slices.Clone(applySecrets), slices.Clone(applySAs)
	for _, ns := range rotateNamespaces {
		secrets = append(secrets, ns+"/all-icr-io")
		sas = append(sas, ns+"/default")
	}
	return secrets, sas
}

// TestRotateAPIKeyFaults fails each IAM call and each Kubernetes request of
// RotateAPIKey in turn. After every failure: no new key is orphaned (only
// the old key may be unreferenced, when its delete failed), every copy holds
// a key that still works; a rerun converges to a clean rotation's state:
// one key, held by every copy, and not the old one.
func TestRotateAPIKeyFaults(t *testing.T) {
	ctx := context.Background()
	opts := registry.RotateOptions{ClusterID: "c1"}
	secrets, sas := rotateRefs()

	clean := rotateFixture(t)
	if _, err := registry.RotateAPIKey(ctx, &clean.cluster.Cluster, clean.client, opts); err != nil {
		t.Fatalf("clean rotation: %v", err)
	}
	want := snapshot(t, clean, secrets, sas)
	if want.Keys["cluster-c1"] != 1 {
		t.Fatalf("clean rotation left %d keys, want 1", want.Keys["cluster-c1"])
	}

	faults := []fault{
		iamFault(iamtest.OpListServiceIDs, 1, 500, false),
		iamFault(iamtest.OpGetAPIKeysDetails, 1, 500, false),
		iamFault(iamtest.OpListAPIKeys, 1, 500, false),
		iamFault(iamtest.OpCreateAPIKey, 1, 403, false),
		iamFault(iamtest.OpCreateAPIKey, 1, 500, true),
		iamFault(iamtest.OpDeleteAPIKey, 1, 500, false),
		iamFault(iamtest.OpDeleteAPIKey, 1, 500, true),
		kubeFault("list", "secrets"),
		kubeFault("get", "secrets"),
		kubeFault("update", "secrets"),
		kubeFaultN("update", "secrets", 4),
		kubeFaultN("list", "secrets", 2),
		// The pull secrets of both types, read before an old key goes.
		kubeFaultN("list", "secrets", 3),
		kubeFaultN("list", "secrets", 4),
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			fx := rotateFixture(t)
			old := map[string]bool{}
			for _, k := range keysOf(fx.srv, "cluster-c1") {
				old[k.ID] = true
			}
			f.arm(t, fx)
			rep, err := registry.RotateAPIKey(ctx, &fx.cluster.Cluster, fx.client, opts)
			if err == nil {
				t.Fatalf("fault not reached; report:\n%s", rep)
			}
			if len(rep.Failed()) == 0 {
				t.Errorf("error %v but no failed step in report:\n%s", err, rep)
			}
			assertNoOrphans(t, fx, "cluster-c1", secrets, old)
			for ref, entries := range snapshot(t, fx, secrets, nil).Secrets {
				for _, e := range entries {
					if !strings.HasSuffix(e, "cluster-c1 true") {
						t.Errorf("after the failure %s holds a key that does not work: %s", ref, e)
					}
				}
			}

			if rep, err := registry.RotateAPIKey(ctx, &fx.cluster.Cluster, fx.client, opts); err != nil {
				t.Fatalf("rerun: %v\n%s", err, rep)
			}
			if diff := cmp.Diff(want, snapshot(t, fx, secrets, sas)); diff != "" {
				t.Errorf("rerun state differs from a clean rotation (-want +got):\n%s", diff)
			}
			for id := range referencedKeyIDs(t, fx, secrets) {
				if old[id] {
					t.Errorf("a copy still holds the old key %s", id)
				}
			}
		})
	}
}
