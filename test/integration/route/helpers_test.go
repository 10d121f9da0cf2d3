package route_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// registryService creates the 4.x registry service in the shared
// openshift-image-registry namespace (once per package).
func registryService(t *testing.T) {
	t.Helper()
	env.NamespaceNamed(t, "openshift-image-registry")
	_, err := env.Kube.CoreV1().Services("openshift-image-registry").Create(t.Context(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "image-registry", Labels: map[string]string{"docker-registry": "default"}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"docker-registry": "default"},
			Ports:    []corev1.ServicePort{{Name: "5000-tcp", Port: 5000, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(5000)}},
		},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create registry service: %v", err)
	}
}

// caPEM returns a freshly generated self-signed CA certificate.
func caPEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "registry test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// deleteAfter removes a route in the shared namespace when the test ends, so
// the package can be run with -count > 1 against one server.
func deleteAfter(t *testing.T, ns, name string) {
	t.Helper()
	t.Cleanup(func() {
		err := env.Routes.RouteV1().Routes(ns).Delete(context.Background(), name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("cleanup: delete route %s/%s: %v", ns, name, err)
		}
	})
}
