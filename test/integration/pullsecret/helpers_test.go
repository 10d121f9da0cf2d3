package pullsecret_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/test/integration/harness"
)

const password = "pw-for-default-registry" // contains "default" on purpose

func icr(t *testing.T, servers ...string) *dockerconfig.Config {
	t.Helper()
	c := &dockerconfig.Config{}
	for _, s := range servers {
		c.Set(s, dockerconfig.Entry{Username: "iamapikey", Password: password})
	}
	return c
}

func docBytes(t *testing.T, c *dockerconfig.Config) []byte {
	t.Helper()
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fastConfig lifts client-go's default 5 QPS / 10 burst so that the client
// rate limiter is not what a test measures.
func fastConfig(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = 1000, 1000
	return c
}

// counted returns a clientset whose requests are counted.
func counted(t *testing.T) (kubernetes.Interface, *harness.RequestCounter) {
	t.Helper()
	cfg, counter := harness.CountRequests(fastConfig(env.Config))
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return kube, counter
}

func getSecret(t *testing.T, ns, name string) *corev1.Secret {
	t.Helper()
	s, err := env.Kube.CoreV1().Secrets(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get secret %s/%s: %v", ns, name, err)
	}
	return s
}

func createSecret(t *testing.T, s *corev1.Secret) *corev1.Secret {
	t.Helper()
	got, err := env.Kube.CoreV1().Secrets(s.Namespace).Create(t.Context(), s, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create secret %s/%s: %v", s.Namespace, s.Name, err)
	}
	return got
}

func createSA(t *testing.T, ns, name string, pull ...string) *corev1.ServiceAccount {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	for _, p := range pull {
		sa.ImagePullSecrets = append(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: p})
	}
	got, err := env.Kube.CoreV1().ServiceAccounts(ns).Create(t.Context(), sa, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create serviceaccount %s/%s: %v", ns, name, err)
	}
	return got
}

// writes sums the mutating requests a counter saw on a resource.
func writes(c *harness.RequestCounter, resource string) int {
	return c.Count("create", resource) + c.Count("update", resource) + c.Count("patch", resource) + c.Count("delete", resource)
}

// reads sums the get and list requests on a resource.
func reads(c *harness.RequestCounter, resources ...string) int {
	n := 0
	for _, r := range resources {
		n += c.Count("get", r) + c.Count("list", r)
	}
	return n
}
