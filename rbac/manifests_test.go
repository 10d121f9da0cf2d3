package rbac_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/registrykit/registrykit/internal/golden"
	"github.com/registrykit/registrykit/rbac"
)

// manifestName is the file and object name of op's manifest:
// pullsecret.Copy → registrykit-pullsecret-copy.
func manifestName(op rbac.Operation) string {
	return "registrykit-" + strings.ToLower(strings.ReplaceAll(string(op), ".", "-"))
}

// manifest is op's ClusterRole and one Role per scope, for Helm and
// kustomize users, as rbac.Rules.ClusterRole and Role build them (the way
// propagate generates deploy/clusterrole.yaml). Roles have no namespace:
// kustomize's namespace (or a Helm template) places each in the namespaces
// of its scope. Conditional and optional rules are listed as comments.
func manifest(t *testing.T, op rbac.Operation) string {
	t.Helper()
	rules, err := rbac.RulesFor(op)
	if err != nil {
		t.Fatal(err)
	}
	name := manifestName(op)
	var b strings.Builder
	fmt.Fprintf(&b, "# Least-privilege RBAC of %s, generated from rbac.RulesFor; do not edit.\n", op)
	b.WriteString("# Rewrite with: go test ./rbac -run TestRBACManifests -update\n")
	b.WriteString("# Bind the ClusterRole with a ClusterRoleBinding; create each Role (and a\n")
	b.WriteString("# RoleBinding) in every namespace of its scope (the registrykit.io/scope label).\n")
	for _, c := range rules.Conditional {
		fmt.Fprintf(&b, "# Only when %s: %s%s\n", c.When, scopeNote(c.Scope), ruleNote(c.Rule))
	}
	for _, o := range rules.Optional {
		fmt.Fprintf(&b, "# Optional (%s): %s%s\n", o.Benefit, scopeNote(o.Scope), ruleNote(o.Rule))
	}
	var objs []any
	if cr := rules.ClusterRole(name); cr != nil {
		objs = append(objs, cr)
	}
	var scopes []rbac.Scope
	for s := range rules.Namespaced {
		scopes = append(scopes, s)
	}
	slices.Sort(scopes)
	for _, s := range scopes {
		r := rules.Role(name+"-"+strings.ReplaceAll(string(s), "-", ""), "", s)
		r.Labels = map[string]string{"registrykit.io/scope": string(s)}
		objs = append(objs, r)
	}
	for _, o := range objs {
		y, err := yaml.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return b.String()
}

func scopeNote(s rbac.Scope) string {
	if s == "" {
		return "cluster-wide "
	}
	return "in each " + string(s) + " namespace "
}

func ruleNote(r rbacv1.PolicyRule) string {
	res := strings.Join(r.Resources, ",")
	if len(r.APIGroups) > 0 && r.APIGroups[0] != "" {
		res += "." + r.APIGroups[0]
	}
	if len(r.ResourceNames) > 0 {
		res += " named " + strings.Join(r.ResourceNames, ",")
	}
	return res + ": " + strings.Join(r.Verbs, ", ")
}

// rbac/manifests/ holds exactly one generated manifest per operation, and
// nothing else.
func TestRBACManifests(t *testing.T) {
	want := map[string]string{}
	for _, op := range rbac.Operations() {
		want[manifestName(op)+".yaml"] = manifest(t, op)
	}
	golden.Dir(t, "manifests", want)
}

// Each manifest parses back into the rules it was generated from.
func TestRBACManifestsRoundTrip(t *testing.T) {
	rules, err := rbac.RulesFor(rbac.OpCopy)
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(manifest(t, rbac.OpCopy), "---\n")[1:]
	var got []rbacv1.PolicyRule
	for _, d := range docs {
		var r rbacv1.Role
		if err := yaml.Unmarshal([]byte(d), &r); err != nil {
			t.Fatal(err)
		}
		got = append(got, r.Rules...)
	}
	var want []rbacv1.PolicyRule
	want = append(want, rules.Cluster...)
	for _, s := range []rbac.Scope{rbac.ScopeSource, rbac.ScopeTarget} {
		want = append(want, rules.Namespaced[s]...)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
}
