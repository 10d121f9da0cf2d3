package propagate

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/registrykit/registrykit/rbac"
)

// The Propagator's permissions are the rules of the one-shot operations it
// runs continuously — pullsecret.Copy (replacing a copy of another type,
// listing namespaces), pullsecret.AttachToServiceAccounts and, for
// Rule.InternalRegistry, pullsecret.InternalRegistrySecret — granted in
// every namespace, since any namespace may be selected, plus what watching
// and reporting need. deploy/clusterrole.yaml is generated from RBACRules.

// operations are the one-shot operations whose rules the Propagator needs,
// with the conditions it meets.
var operations = []struct {
	op    rbac.Operation
	conds []rbac.Condition
}{
	{rbac.OpCopy, []rbac.Condition{rbac.WhenSelector, rbac.WhenReplace}},
	{rbac.OpAttachToServiceAccounts, []rbac.Condition{rbac.WhenSelector}},
	// Builder mode (Rule.InternalRegistry) runs the call itself.
	{rbac.OpInternalRegistrySecret, []rbac.Condition{rbac.WhenUnreferenced}},
}

// controllerRules are what the controller needs beyond the operations:
// its informers list and watch; prune deletes copies; Events are created,
// or patched when they repeat.
var controllerRules = []rbacv1.PolicyRule{
	{APIGroups: []string{""}, Resources: []string{"namespaces", "secrets", "serviceaccounts"}, Verbs: []string{"list", "watch"}},
	{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"delete"}},
	{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
}

// RBACRules returns the cluster-wide rules a Propagator needs: one rule per
// resource, sorted by API group and resource. The Lease needs LeaseRules
// too, in the Lease's namespace.
//
// Secrets are listed and watched cluster-wide (by field selector on the
// names, which RBAC cannot express): the ClusterRole lets the controller
// read every secret. Run it in a namespace of its own, with its own service
// account.
func RBACRules() ([]rbacv1.PolicyRule, error) {
	var all []rbacv1.PolicyRule
	for _, o := range operations {
		r, err := rbac.RulesFor(o.op)
		if err != nil {
			return nil, fmt.Errorf("propagate: rules of %s: %w", o.op, err)
		}
		r = r.With(o.conds...)
		all = append(all, r.Cluster...)
		for _, scope := range slices.Sorted(maps.Keys(r.Namespaced)) {
			all = append(all, r.Namespaced[scope]...)
		}
		for _, opt := range r.Optional {
			all = append(all, opt.Rule)
		}
		for _, c := range r.Conditional {
			return nil, fmt.Errorf("propagate: %s has a conditional rule (%s) the Propagator does not decide on", o.op, c.When)
		}
	}
	return normalize(append(all, controllerRules...)), nil
}

// LeaseRules are the rules of leader election, granted in the Lease's
// namespace.
func LeaseRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{{
		APIGroups: []string{coordinationv1.GroupName},
		Resources: []string{"leases"},
		Verbs:     []string{"get", "create", "update"},
	}}
}

// ClusterRole returns a ClusterRole named name holding RBACRules.
func ClusterRole(name string) (*rbacv1.ClusterRole, error) {
	rules, err := RBACRules()
	if err != nil {
		return nil, err
	}
	return &rbacv1.ClusterRole{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRole"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules:      rules,
	}, nil
}

// LeaseRole returns a Role named name in namespace holding LeaseRules.
func LeaseRole(name, namespace string) *rbacv1.Role {
	return &rbacv1.Role{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "Role"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Rules:      LeaseRules(),
	}
}

// verbOrder is the order verbs are written in.
var verbOrder = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}

// normalize merges rules into one per API group, resource and resource
// names, with verbs in verbOrder.
func normalize(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	type id struct{ group, resource, names string }
	verbs := map[id]map[string]bool{}
	for _, r := range rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				k := id{g, res, strings.Join(r.ResourceNames, ",")}
				if verbs[k] == nil {
					verbs[k] = map[string]bool{}
				}
				for _, v := range r.Verbs {
					verbs[k][v] = true
				}
			}
		}
	}
	ids := slices.SortedFunc(maps.Keys(verbs), func(a, b id) int {
		return cmp.Or(cmp.Compare(a.group, b.group), cmp.Compare(a.resource, b.resource), cmp.Compare(a.names, b.names))
	})
	out := make([]rbacv1.PolicyRule, 0, len(ids))
	for _, k := range ids {
		var vs []string
		for _, v := range verbOrder {
			if verbs[k][v] {
				vs = append(vs, v)
				delete(verbs[k], v)
			}
		}
		vs = append(vs, slices.Sorted(maps.Keys(verbs[k]))...)
		r := rbacv1.PolicyRule{APIGroups: []string{k.group}, Resources: []string{k.resource}, Verbs: vs}
		if k.names != "" {
			r.ResourceNames = strings.Split(k.names, ",")
		}
		out = append(out, r)
	}
	return out
}
