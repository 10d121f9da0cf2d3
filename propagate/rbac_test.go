package propagate

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/registrykit/registrykit/internal/golden"
)

// generated are the manifests in deploy/ that are generated from the rule
// data, with the header that says so.
func generated(t *testing.T) map[string]string {
	t.Helper()
	cr, err := ClusterRole("registrykit-propagate")
	if err != nil {
		t.Fatal(err)
	}
	const header = "# Generated from propagate.RBACRules and propagate.LeaseRules; do not edit.\n" +
		"# Rewrite with: go test ./propagate -run TestDeployRBACIsGenerated -update\n"
	out := map[string]string{}
	for file, obj := range map[string]any{
		"clusterrole.yaml":          cr,
		"leader-election-role.yaml": LeaseRole("registrykit-propagate-leader-election", "registrykit"),
	} {
		b, err := yaml.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		out[file] = header + string(b)
	}
	return out
}

// deploy/clusterrole.yaml and deploy/leader-election-role.yaml hold exactly
// what the rule data generates.
func TestDeployRBACIsGenerated(t *testing.T) {
	for file, want := range generated(t) {
		golden.File(t, filepath.Join("..", "deploy", file), want)
	}
}

// The rules are those of Copy and AttachToServiceAccounts everywhere, plus
// watching, pruning and Events.
func TestRBACRules(t *testing.T) {
	rules, err := RBACRules()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, r := range rules {
		if len(r.APIGroups) != 1 || len(r.Resources) != 1 || len(r.ResourceNames) != 0 {
			t.Errorf("rule not normalised: %+v", r)
		}
		got[r.APIGroups[0]+"/"+r.Resources[0]] = r.Verbs
	}
	want := map[string][]string{
		"/events":          {"create", "patch"},
		"/namespaces":      {"list", "watch"},
		"/secrets":         {"get", "list", "watch", "create", "update", "delete"},
		"/serviceaccounts": {"get", "list", "watch", "update"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	if !slices.Equal(LeaseRules()[0].Verbs, []string{"get", "create", "update"}) {
		t.Errorf("lease rules %v", LeaseRules())
	}
}
