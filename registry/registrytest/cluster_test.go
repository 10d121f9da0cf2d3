package registrytest_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	routev1 "github.com/openshift/api/route/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/registry/registrytest"
)

// notServed is a runtime.Object that no fake clientset's scheme knows.
type notServed struct{ metav1.TypeMeta }

func (n *notServed) DeepCopyObject() runtime.Object { c := *n; return &c }

func TestNewClusterRoutesObjectsToTheirClientset(t *testing.T) {
	ctx := context.Background()
	c, err := registrytest.NewCluster(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "s"}},
		&routev1.Route{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "r"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Kube.CoreV1().Secrets("a").Get(ctx, "s", metav1.GetOptions{}); err != nil {
		t.Errorf("secret not in the Kubernetes fake: %v", err)
	}
	if _, err := c.Routes.RouteV1().Routes("a").Get(ctx, "r", metav1.GetOptions{}); err != nil {
		t.Errorf("route not in the route fake: %v", err)
	}
	if got := len(c.KubeFake.Actions()); got != 1 {
		t.Errorf("Kubernetes fake recorded %d actions, want 1", got)
	}
}

func TestNewClusterRejectsUnservedObject(t *testing.T) {
	if _, err := registrytest.NewCluster(&notServed{}); err == nil {
		t.Fatal("NewCluster accepted an object no fake serves")
	}
}

func TestOpenShiftClusterHasRedHatGlobalPullSecret(t *testing.T) {
	c, err := registrytest.NewOpenShiftCluster()
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Kube.CoreV1().Secrets("openshift-config").Get(context.Background(), "pull-secret", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := dockerconfig.ParseSecret(string(s.Type), s.Data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(registrytest.RedHatRegistries, cfg.Servers()); diff != "" {
		t.Errorf("global pull secret registries (-want +got):\n%s", diff)
	}

	d, err := c.Kube.CoreV1().Secrets("default").Get(context.Background(), registrytest.DefaultDockercfgSecret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := dockerconfig.ParseSecret(string(d.Type), d.Data)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := legacy.Get("image-registry.openshift-image-registry.svc:5000"); !ok {
		t.Errorf("default-dockercfg secret lacks the internal registry service; has %v", legacy.Servers())
	}
	if _, err := c.Operator.ImageregistryV1().Configs().Get(context.Background(), "cluster", metav1.GetOptions{}); err != nil {
		t.Errorf("image registry operator config: %v", err)
	}
}
