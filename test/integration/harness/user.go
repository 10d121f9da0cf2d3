package harness

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// rbacSettleTimeout bounds the wait for new RBAC rules to reach the
// API server's authorizer cache.
const rbacSettleTimeout = 30 * time.Second

// UserConfig provisions an envtest user (client certificate, no groups
// other than system:authenticated) allowed exactly the given rules: cluster
// through a ClusterRole + ClusterRoleBinding, namespaced[ns] through a Role +
// RoleBinding in ns (the namespace must exist). It waits until the server
// enforces every rule, and deletes the RBAC objects on t.Cleanup.
//
// A user name may be held by one test at a time (the bindings of two tests
// would add up); use distinct names for parallel tests.
func (e *Env) UserConfig(t testing.TB, user string, cluster []rbacv1.PolicyRule, namespaced map[string][]rbacv1.PolicyRule) *rest.Config {
	t.Helper()
	e.mu.Lock()
	if e.users[user] {
		e.mu.Unlock()
		t.Fatalf("harness: user %q is already bound by a running test; use a distinct name", user)
	}
	e.users[user] = true
	e.mu.Unlock()
	t.Cleanup(func() {
		e.mu.Lock()
		delete(e.users, user)
		e.mu.Unlock()
	})

	ctx := t.Context()
	name := "harness-user-" + strings.NewReplacer("/", "-", "%", "-").Replace(user)
	subjects := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}
	rbac := e.Kube.RbacV1()
	cleanupCtx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), cleanupTimeout)
	}

	if len(cluster) > 0 {
		_, err := rbac.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Rules:      cluster,
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("harness: create ClusterRole %s: %v", name, err)
		}
		t.Cleanup(func() {
			ctx, cancel := cleanupCtx()
			defer cancel()
			if err := rbac.ClusterRoles().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("harness: delete ClusterRole %s: %v", name, err)
			}
		})
		_, err = rbac.ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Subjects:   subjects,
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("harness: create ClusterRoleBinding %s: %v", name, err)
		}
		t.Cleanup(func() {
			ctx, cancel := cleanupCtx()
			defer cancel()
			if err := rbac.ClusterRoleBindings().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("harness: delete ClusterRoleBinding %s: %v", name, err)
			}
		})
	}

	namespaces := make([]string, 0, len(namespaced))
	for ns := range namespaced {
		namespaces = append(namespaces, ns)
	}
	sort.Strings(namespaces)
	for _, ns := range namespaces {
		_, err := rbac.Roles(ns).Create(ctx, &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Rules:      namespaced[ns],
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("harness: create Role %s/%s: %v", ns, name, err)
		}
		t.Cleanup(func() {
			ctx, cancel := cleanupCtx()
			defer cancel()
			if err := rbac.Roles(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("harness: delete Role %s/%s: %v", ns, name, err)
			}
		})
		_, err = rbac.RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Subjects:   subjects,
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("harness: create RoleBinding %s/%s: %v", ns, name, err)
		}
		t.Cleanup(func() {
			ctx, cancel := cleanupCtx()
			defer cancel()
			if err := rbac.RoleBindings(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("harness: delete RoleBinding %s/%s: %v", ns, name, err)
			}
		})
	}

	// Wait for the authorizer (fed by informers) to see every rule.
	var reviews []authorizationv1.SubjectAccessReviewSpec
	for _, r := range cluster {
		reviews = append(reviews, ruleReviews(user, "", r)...)
	}
	for _, ns := range namespaces {
		for _, r := range namespaced[ns] {
			reviews = append(reviews, ruleReviews(user, ns, r)...)
		}
	}
	for _, spec := range reviews {
		err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, rbacSettleTimeout, true, func(ctx context.Context) (bool, error) {
			sar, err := e.Kube.AuthorizationV1().SubjectAccessReviews().Create(ctx,
				&authorizationv1.SubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
			if err != nil {
				return false, err
			}
			return sar.Status.Allowed, nil
		})
		if err != nil {
			t.Fatalf("harness: RBAC for user %s not effective (%s): %v", user, describeReview(spec), err)
		}
	}

	e.addUserMu.Lock()
	u, err := e.Testenv.AddUser(envtest.User{Name: user}, e.Config)
	e.addUserMu.Unlock()
	if err != nil {
		t.Fatalf("harness: provision user %s: %v", user, err)
	}
	return u.Config()
}

// ruleReviews lists one access review per verb × group × resource (×
// resourceName) or verb × nonResourceURL the rule grants. The rule's own
// values, wildcards included, are always matched by the rule itself.
func ruleReviews(user, ns string, r rbacv1.PolicyRule) []authorizationv1.SubjectAccessReviewSpec {
	var specs []authorizationv1.SubjectAccessReviewSpec
	for _, verb := range r.Verbs {
		for _, url := range r.NonResourceURLs {
			specs = append(specs, authorizationv1.SubjectAccessReviewSpec{
				User:                  user,
				Groups:                []string{"system:authenticated"},
				NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: url, Verb: verb},
			})
		}
		names := r.ResourceNames
		if len(names) == 0 {
			names = []string{""}
		}
		for _, group := range r.APIGroups {
			for _, res := range r.Resources {
				resource, sub, _ := strings.Cut(res, "/")
				for _, n := range names {
					specs = append(specs, authorizationv1.SubjectAccessReviewSpec{
						User:   user,
						Groups: []string{"system:authenticated"},
						ResourceAttributes: &authorizationv1.ResourceAttributes{
							Namespace: ns, Verb: verb, Group: group,
							Resource: resource, Subresource: sub, Name: n,
						},
					})
				}
			}
		}
	}
	return specs
}

func describeReview(s authorizationv1.SubjectAccessReviewSpec) string {
	if a := s.NonResourceAttributes; a != nil {
		return a.Verb + " " + a.Path
	}
	a := s.ResourceAttributes
	res := a.Resource
	if a.Subresource != "" {
		res += "/" + a.Subresource
	}
	if a.Group != "" {
		res += "." + a.Group
	}
	return fmt.Sprintf("%s %s name=%q namespace=%q", a.Verb, res, a.Name, a.Namespace)
}
