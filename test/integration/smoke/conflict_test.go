package smoke

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Two writers that read the same resourceVersion: the second update must
// get a Conflict, which is what retry.RetryOnConflict is for.
func TestStaleResourceVersionUpdateConflicts(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	secrets := env.Kube.CoreV1().Secrets(ns)
	if _, err := secrets.Create(t.Context(), pullSecret("shared", dockerConfigJSON(t, "us.icr.io", "iamapikey", "one")), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create: %v", err)
	}
	first, err := secrets.Get(t.Context(), "shared", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	second := first.DeepCopy()

	first.Data[corev1.DockerConfigJsonKey] = dockerConfigJSON(t, "us.icr.io", "iamapikey", "two")
	if _, err := secrets.Update(t.Context(), first, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("first update: %v", err)
	}
	second.Data[corev1.DockerConfigJsonKey] = dockerConfigJSON(t, "de.icr.io", "iamapikey", "three")
	_, err = secrets.Update(t.Context(), second, metav1.UpdateOptions{})
	if !apierrors.IsConflict(err) {
		t.Fatalf("update with stale resourceVersion %s: got %v, want Conflict", second.ResourceVersion, err)
	}
}
