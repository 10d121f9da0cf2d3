package rbac_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/registrykit/registrykit/rbac"
	"github.com/registrykit/registrykit/registry"
)

// scenario is one case of an operation: setup seeds, as admin, a fresh
// state and returns the namespaces of each scope and the call to make as
// the user. conds are the conditional rules the case needs.
type scenario struct {
	conds []rbac.Condition
	// lock serialises scenarios that share fixed objects across operations
	// (openshift-config/pull-secret, the imageregistry config, ...).
	lock  *sync.Mutex
	setup func(t *testing.T) (map[rbac.Scope][]string, call)
}

type call func(ctx context.Context, c *registry.Cluster) error

var scenarios = map[rbac.Operation]scenario{}

// unit is one verb of one rule: what a removal run takes away.
type unit struct {
	scope Scope
	rule  int
	verb  string
}

type Scope = rbac.Scope

var userSeq atomic.Int64

// TestLeastPrivilege: every operation succeeds with exactly its rules and
// fails with Forbidden, naming the verb and resource, without any one verb.
func TestLeastPrivilege(t *testing.T) {
	for _, op := range rbac.Operations() {
		t.Run(string(op), func(t *testing.T) {
			t.Parallel()
			sc, ok := scenarios[op]
			if !ok {
				t.Fatalf("no scenario for %s", op)
			}
			rules, err := rbac.RulesFor(op)
			if err != nil {
				t.Fatal(err)
			}
			rules = rules.With(sc.conds...)
			var units []unit
			for i, p := range rules.Cluster {
				for _, v := range p.Verbs {
					units = append(units, unit{"", i, v})
				}
			}
			for s, ps := range rules.Namespaced {
				for i, p := range ps {
					for _, v := range p.Verbs {
						units = append(units, unit{s, i, v})
					}
				}
			}
			slices.SortFunc(units, func(a, b unit) int {
				return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
			})
			t.Run("all rules", func(t *testing.T) {
				if err := runAs(t, op, sc, rules, nil); err != nil {
					t.Fatalf("with exactly its rules: %v", err)
				}
			})
			for _, u := range units {
				p := rule(rules, u)
				name := fmt.Sprintf("without %s %s", u.verb, p.Resources[0])
				if u.scope != "" {
					name += " in " + string(u.scope)
				}
				t.Run(name, func(t *testing.T) {
					err := runAs(t, op, sc, rules, &u)
					if err == nil {
						t.Fatalf("succeeded without %s on %s: that verb is not least privilege", u.verb, p.Resources[0])
					}
					if !apierrors.IsForbidden(err) {
						t.Fatalf("error is not Forbidden: %v", err)
					}
					want := forbiddenPattern(u.verb, p)
					if !want.MatchString(err.Error()) {
						t.Fatalf("error does not name %s on %s (%s): %v", u.verb, p.Resources[0], want, err)
					}
				})
			}
		})
	}
}

func rule(r rbac.Rules, u unit) rbacv1.PolicyRule {
	if u.scope == "" {
		return r.Cluster[u.rule]
	}
	return r.Namespaced[u.scope][u.rule]
}

// forbiddenPattern matches the API server's message, e.g. `User "u" cannot
// update resource "secrets" in API group "" in the namespace "x"`.
func forbiddenPattern(verb string, p rbacv1.PolicyRule) *regexp.Regexp {
	return regexp.MustCompile(fmt.Sprintf(`cannot %s resource %q in API group %q`,
		regexp.QuoteMeta(verb), p.Resources[0], p.APIGroups[0]))
}

// runAs seeds a fresh state, binds a new user to rules (minus the verb of
// without, if any) in the scenario's namespaces and runs the call as that
// user.
func runAs(t *testing.T, op rbac.Operation, sc scenario, rules rbac.Rules, without *unit) error {
	t.Helper()
	if sc.lock != nil {
		sc.lock.Lock()
		defer sc.lock.Unlock()
	}
	nss, do := sc.setup(t)
	drop := func(scope Scope, ps []rbacv1.PolicyRule) []rbacv1.PolicyRule {
		var out []rbacv1.PolicyRule
		for i, p := range ps {
			if without != nil && without.scope == scope && without.rule == i {
				p = *p.DeepCopy()
				p.Verbs = slices.DeleteFunc(p.Verbs, func(v string) bool { return v == without.verb })
				if len(p.Verbs) == 0 {
					continue
				}
			}
			out = append(out, p)
		}
		return out
	}
	cluster := drop("", rules.Cluster)
	namespaced := map[string][]rbacv1.PolicyRule{}
	for s, ps := range rules.Namespaced {
		if len(nss[s]) == 0 {
			t.Fatalf("scenario of %s names no namespace for scope %s", op, s)
		}
		for _, ns := range nss[s] {
			namespaced[ns] = append(namespaced[ns], drop(s, ps)...)
		}
	}
	user := fmt.Sprintf("rbac-%d", userSeq.Add(1))
	cfg := env.UserConfig(t, user, cluster, namespaced)
	cfg.QPS, cfg.Burst = 1000, 1000
	c, err := registry.NewCluster(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	return do(ctx, c)
}
