package harness

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// cleanupTimeout bounds each API call made from t.Cleanup, where the
// test's own context is already done.
const cleanupTimeout = 30 * time.Second

// Namespace creates a fresh namespace named after the test plus a
// server-generated suffix and deletes it on t.Cleanup.
//
// There is no namespace controller in this tier: a deleted namespace stays
// Terminating (its objects remain, new ones are refused). Names never
// repeat, so that does not leak between tests.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	ns, err := e.Kube.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: namespacePrefix(t.Name()),
			Labels:       map[string]string{"registrykit.io/test": "true"},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("harness: create namespace for %s: %v", t.Name(), err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		err := e.Kube.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("harness: delete namespace %s: %v", ns.Name, err)
		}
	})
	return ns.Name
}

// NamespaceNamed makes sure a namespace with exactly this name exists
// (creating it if absent), for code that expects fixed names such as
// "default", "openshift-config" or "openshift-image-registry".
//
// It is never deleted: it is shared by every test of the package (one API
// server per package), and a deleted namespace would stay Terminating and
// refuse new objects. Tests using it must pick object names no other test
// of the package uses, or delete their objects themselves.
func (e *Env) NamespaceNamed(t testing.TB, name string) {
	t.Helper()
	_, err := e.Kube.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: name},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("harness: create namespace %s: %v", name, err)
	}
}

// namespacePrefix turns a test name into a DNS-1123 label prefix short
// enough for the server's 5-character suffix.
func namespacePrefix(testName string) string {
	var b strings.Builder
	b.WriteString("t-")
	dash := true
	for _, r := range strings.ToLower(testName) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 50 {
			break
		}
	}
	s := strings.TrimRight(b.String(), "-")
	if len(s) > 50 {
		s = strings.TrimRight(s[:50], "-")
	}
	return s + "-"
}
