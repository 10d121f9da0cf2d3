package rbac_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/registrykit/registrykit/internal/golden"
	"github.com/registrykit/registrykit/rbac"
)

const (
	tableStart = "<!-- rbac-table:start -->"
	tableEnd   = "<!-- rbac-table:end -->"
)

// docs/rbac.md holds exactly the table RBACTable generates, between its
// markers. Rewrite it with
//
//	go test ./rbac -run TestRBACTableInREADME -update
func TestRBACTableInREADME(t *testing.T) {
	path := filepath.Join("..", "docs", "rbac.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok := strings.Cut(string(doc), tableStart+"\n")
	_, after, ok2 := strings.Cut(rest, tableEnd)
	if !ok || !ok2 {
		t.Fatalf("docs/rbac.md lacks the markers %s and %s (each on its own line)", tableStart, tableEnd)
	}
	golden.File(t, path, before+tableStart+"\n"+rbac.Table()+tableEnd+after)
}

// Every exported function of the Kubernetes-facing packages that takes a
// client (kubernetes.Interface, an OpenShift clientset or *Cluster) has an
// Operation, and every Operation names such a function.
func TestOperationsCoverEveryExportedClientFunction(t *testing.T) {
	var exported []string
	for _, dir := range []string{"pullsecret", "route", "imagestream", "build", "registry"} {
		exported = append(exported, clientFunctions(t, filepath.Join("..", dir), dir)...)
	}
	slices.Sort(exported)
	var ops []string
	for _, op := range rbac.Operations() {
		ops = append(ops, string(op))
	}
	slices.Sort(ops)
	if diff := cmp.Diff(exported, ops); diff != "" {
		t.Errorf("exported client functions (-) vs Operations() (+):\n%s", diff)
	}
}

// clientFunctions parses dir's non-test files and returns "pkg.Func" for
// every exported top-level function with a client parameter.
func clientFunctions(t *testing.T, dir, pkg string) []string {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !fn.Name.IsExported() || fn.Name.Name == "NewCluster" {
				continue
			}
			for _, p := range fn.Type.Params.List {
				if isClient(p.Type) {
					out = append(out, pkg+"."+fn.Name.Name)
					break
				}
			}
		}
	}
	return out
}

func isClient(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.StarExpr:
		id, ok := x.X.(*ast.Ident)
		return ok && id.Name == "Cluster"
	case *ast.SelectorExpr:
		return x.Sel.Name == "Interface"
	}
	return false
}

func TestRulesFor(t *testing.T) {
	for _, op := range rbac.Operations() {
		r, err := rbac.RulesFor(op)
		if err != nil {
			t.Fatalf("RulesFor(%s): %v", op, err)
		}
		if len(r.Cluster) == 0 && len(r.Namespaced) == 0 {
			t.Errorf("RulesFor(%s): no rule", op)
		}
		for _, p := range r.Cluster {
			checkRule(t, op, p)
		}
		for _, ps := range r.Namespaced {
			for _, p := range ps {
				checkRule(t, op, p)
			}
		}
		for _, c := range r.Conditional {
			checkRule(t, op, c.Rule)
		}
		for _, o := range r.Optional {
			checkRule(t, op, o.Rule)
			if o.Benefit == "" {
				t.Errorf("%s: optional rule %v says nothing about what it buys", op, o.Rule)
			}
		}
	}
	if _, err := rbac.RulesFor("pullsecret.Nope"); err == nil {
		t.Error("RBACRules of an unknown operation: no error")
	}
}

func checkRule(t *testing.T, op rbac.Operation, p rbacv1.PolicyRule) {
	t.Helper()
	if len(p.APIGroups) != 1 || len(p.Resources) != 1 || len(p.Verbs) == 0 {
		t.Errorf("%s: rule %v is not one group, one resource, some verbs", op, p)
	}
	for _, v := range p.Verbs {
		if v == "*" || v == "patch" {
			t.Errorf("%s: rule %v has verb %q; no operation patches or needs a wildcard", op, p, v)
		}
	}
}

// A workflow needs the union of its steps' rules, computed, not re-typed.
func TestWorkflowRulesAreTheUnionOfTheirSteps(t *testing.T) {
	type want struct {
		cluster    []rbacv1.PolicyRule
		namespaced map[rbac.Scope][]rbacv1.PolicyRule
	}
	secrets := func(verbs ...string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: verbs}
	}
	sas := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"get", "update"}}
	tests := []struct {
		op   rbac.Operation
		want want
	}{
		{rbac.OpApplyClusterPullSecret, want{namespaced: map[rbac.Scope][]rbacv1.PolicyRule{
			rbac.ScopeTarget: {secrets("get", "create", "update"), sas},
		}}},
		{rbac.OpCopyICRSecret, want{namespaced: map[rbac.Scope][]rbacv1.PolicyRule{
			rbac.ScopeSource: {secrets("get")},
			rbac.ScopeTarget: {secrets("get", "create", "update"), sas},
		}}},
		{rbac.OpExposeInternalRegistry, want{namespaced: map[rbac.Scope][]rbacv1.PolicyRule{
			rbac.ScopeTarget: {secrets("get", "create", "update"), {APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"get", "update"}}},
			rbac.ScopeRegistry: {
				{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"get"}},
				{APIGroups: []string{"route.openshift.io"}, Resources: []string{"routes"}, Verbs: []string{"get", "create", "update"}},
			},
		}}},
		{rbac.OpRotateAPIKey, want{cluster: []rbacv1.PolicyRule{secrets("list")}, namespaced: map[rbac.Scope][]rbacv1.PolicyRule{
			rbac.ScopeTarget: {secrets("get", "update")},
		}}},
	}
	for _, tt := range tests {
		t.Run(string(tt.op), func(t *testing.T) {
			r, err := rbac.RulesFor(tt.op)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want.cluster, r.Cluster); diff != "" {
				t.Errorf("Cluster (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want.namespaced, r.Namespaced); diff != "" {
				t.Errorf("Namespaced (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRulesWith(t *testing.T) {
	r, err := rbac.RulesFor(rbac.OpCopy)
	if err != nil {
		t.Fatal(err)
	}
	w := r.With(rbac.WhenSelector)
	wantCluster := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"list"}}}
	if diff := cmp.Diff(wantCluster, w.Cluster); diff != "" {
		t.Errorf("With(selector).Cluster (-want +got):\n%s", diff)
	}
	if len(w.Conditional) != 1 || w.Conditional[0].When != rbac.WhenReplace {
		t.Errorf("With(selector).Conditional = %v, want only the replace rule", w.Conditional)
	}
	w = r.With(rbac.WhenReplace)
	wantTarget := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "create", "update", "delete"}}}
	if diff := cmp.Diff(wantTarget, w.Namespaced[rbac.ScopeTarget]); diff != "" {
		t.Errorf("With(replace) target rules (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(r.Optional, w.Optional); diff != "" {
		t.Errorf("With changed the optional rules (-want +got):\n%s", diff)
	}
}

func ExampleRulesFor() {
	r, err := rbac.RulesFor(rbac.OpMergeGlobal)
	if err != nil {
		fmt.Println(err)
		return
	}
	role := r.Role("registrykit-merge-global", "openshift-config", rbac.ScopeOpenShiftConfig)
	for _, p := range role.Rules {
		fmt.Println(role.Namespace, p.Resources, p.ResourceNames, p.Verbs)
	}
	fmt.Println(r.ClusterRole("registrykit-merge-global") == nil)
	// Output:
	// openshift-config [secrets] [pull-secret] [get update]
	// true
}
