package propagate_test

import (
	"bytes"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/registrykit/registrykit/propagate"
	"github.com/registrykit/registrykit/test/integration/harness"
)

// manifests reads every object of deploy/*.yaml (kustomization.yaml is not
// an object the server knows).
func manifests(t *testing.T) map[string][]*unstructured.Unstructured {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "deploy", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no deploy/*.yaml (%v)", err)
	}
	out := map[string][]*unstructured.Unstructured{}
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if len(u.Object) > 0 {
				out[filepath.Base(f)] = append(out[filepath.Base(f)], u)
			}
		}
	}
	return out
}

// Every manifest in deploy/ is accepted by the API server: a server-side
// apply with dryRun=All, which runs defaulting, validation and admission.
// The namespace is created for real (a dry-run namespace does not exist
// for the namespaced objects that follow).
func TestDeployManifestsDryRun(t *testing.T) {
	t.Parallel()
	env.NamespaceNamed(t, "registrykit")
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	all := manifests(t)
	kinds := map[string]bool{}
	for _, file := range slices.Sorted(maps.Keys(all)) {
		for _, u := range all[file] {
			gvk := u.GroupVersionKind()
			kinds[gvk.Kind] = true
			m, err := mapper.RESTMapping(schema.GroupKind{Group: gvk.Group, Kind: gvk.Kind}, gvk.Version)
			if err != nil {
				t.Fatalf("%s: %s: %v", file, gvk, err)
			}
			body, err := u.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			res := env.Dynamic.Resource(m.Resource)
			var ri dynamic.ResourceInterface = res
			if u.GetNamespace() != "" {
				ri = res.Namespace(u.GetNamespace())
			}
			_, err = ri.Patch(t.Context(), u.GetName(), types.ApplyPatchType, body, metav1.PatchOptions{
				DryRun: []string{metav1.DryRunAll}, FieldManager: "registrykit-deploy-test", Force: ptr.To(true)})
			if err != nil {
				t.Errorf("%s: server-side dry-run apply of %s %s: %v", file, gvk.Kind, u.GetName(), err)
			}
		}
	}
	for _, k := range []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment"} {
		if !kinds[k] {
			t.Errorf("deploy/ has no %s", k)
		}
	}
}

// rulesOf reads the rules of the one ClusterRole or Role in a deploy file.
func rulesOf(t *testing.T, file string) []rbacv1.PolicyRule {
	t.Helper()
	objs := manifests(t)[file]
	if len(objs) != 1 {
		t.Fatalf("%s holds %d objects", file, len(objs))
	}
	b, err := objs[0].MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var role struct {
		Rules []rbacv1.PolicyRule `json:"rules"`
	}
	if err := yaml.Unmarshal(b, &role); err != nil {
		t.Fatal(err)
	}
	return role.Rules
}

// With exactly the rules in deploy/ (the ClusterRole, and the Lease Role in
// the Lease's namespace), a Propagator with leader election converges a
// namespace: copy, reference, prune and Events included.
func TestDeployRBACIsEnough(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	s.writeSource(nil, "us.icr.io")
	leaseNS := env.Namespace(t)
	cfg := env.UserConfig(t, "propagate-deploy-rbac", rulesOf(t, "clusterrole.yaml"),
		map[string][]rbacv1.PolicyRule{leaseNS: rulesOf(t, "leader-election-role.yaml")})
	cfg, counter := harness.CountRequests(fastConfig(cfg))
	rule := s.rule()
	rule.Prune = true
	r := startWith(t, cfg, counter, propagate.Options{Rules: []propagate.Rule{rule},
		LeaderElection: &propagate.LeaderElection{Namespace: leaseNS, LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 200 * time.Millisecond}})
	ns := s.namespace(nil)
	createSA(t, ns, "default")
	s.waitConverged(ns, "default")

	nsc := env.Kube.CoreV1().Namespaces()
	got, err := nsc.Get(t.Context(), ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	delete(got.Labels, "registrykit.io/propagate-test")
	if _, err := nsc.Update(t.Context(), got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "pruned", func() error { return s.gone(ns) })
	if body := scrape(t, r.P); strings.Contains(body, "registrykit_propagate_errors_total{") {
		t.Errorf("errors with the deploy RBAC:\n%s\n%s", grep(body, "errors_total"), r.lines())
	}
}
