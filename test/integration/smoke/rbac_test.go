package smoke

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// RBAC is enforced: a user who may read secrets but not create them is
// Forbidden from creating one, and only in the namespaces it was granted.
func TestUserWithoutSecretsCreateIsForbidden(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	other := env.Namespace(t)
	if _, err := env.Kube.CoreV1().Secrets(ns).Create(t.Context(), pullSecret("existing", dockerConfigJSON(t, "us.icr.io", "iamapikey", "k")), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create as admin: %v", err)
	}

	cfg := env.UserConfig(t, "smoke-reader", nil, map[string][]rbacv1.PolicyRule{
		ns: {{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list"}}},
	})
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := kube.CoreV1().Secrets(ns).Get(t.Context(), "existing", metav1.GetOptions{}); err != nil {
		t.Errorf("get in granted namespace: %v", err)
	}
	_, err = kube.CoreV1().Secrets(ns).Create(t.Context(), pullSecret("new", dockerConfigJSON(t, "us.icr.io", "iamapikey", "k")), metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("create without secrets/create: got %v, want Forbidden", err)
	}
	_, err = kube.CoreV1().Secrets(other).List(t.Context(), metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("list in a namespace not granted: got %v, want Forbidden", err)
	}
}

func TestUserWithClusterRules(t *testing.T) {
	t.Parallel()
	cfg := env.UserConfig(t, "smoke-ns-lister", []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"list"}},
	}, nil)
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kube.CoreV1().Namespaces().List(t.Context(), metav1.ListOptions{}); err != nil {
		t.Errorf("list namespaces: %v", err)
	}
	if _, err := kube.CoreV1().Namespaces().Get(t.Context(), "default", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("get namespace without get: got %v, want Forbidden", err)
	}
}
