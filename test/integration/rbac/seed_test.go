package rbac_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	routev1 "github.com/openshift/api/route/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/registrykit/registrykit/dockerconfig"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func doc(t *testing.T, server, user, pass string) []byte {
	t.Helper()
	c := &dockerconfig.Config{}
	c.Set(server, dockerconfig.Entry{Username: user, Password: pass})
	b, err := c.Marshal()
	must(t, err)
	return b
}

func pullSecret(t *testing.T, ns, name string, data []byte) *corev1.Secret {
	t.Helper()
	s, err := env.Kube.CoreV1().Secrets(ns).Create(t.Context(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: data},
	}, metav1.CreateOptions{})
	must(t, err)
	return s
}

func secret(t *testing.T, s *corev1.Secret) {
	t.Helper()
	_, err := env.Kube.CoreV1().Secrets(s.Namespace).Create(t.Context(), s, metav1.CreateOptions{})
	must(t, err)
}

func serviceAccount(t *testing.T, ns, name string, pull ...string) {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	for _, p := range pull {
		sa.ImagePullSecrets = append(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: p})
	}
	_, err := env.Kube.CoreV1().ServiceAccounts(ns).Create(t.Context(), sa, metav1.CreateOptions{})
	must(t, err)
}

// dockercfgSecret is the legacy secret OpenShift generates for a service
// account, keyed by the registry service.
func dockercfgSecret(t *testing.T, ns, sa string) {
	t.Helper()
	legacy, err := json.Marshal(map[string]any{
		"image-registry.openshift-image-registry.svc:5000": map[string]string{"username": "serviceaccount", "password": "token-" + ns},
	})
	must(t, err)
	secret(t, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: sa + "-dockercfg-abcde", Namespace: ns,
			Annotations: map[string]string{corev1.ServiceAccountNameKey: sa}},
		Type: corev1.SecretTypeDockercfg,
		Data: map[string][]byte{corev1.DockerConfigKey: legacy},
	})
}

func registryService(t *testing.T, ns, name string) {
	t.Helper()
	_, err := env.Kube.CoreV1().Services(ns).Create(t.Context(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "5000-tcp", Port: 5000, TargetPort: intstr.FromInt32(5000)}}},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// labelNamespace adds a label to a namespace (for selector cases).
func labelNamespace(t *testing.T, ns, key, value string) {
	t.Helper()
	n, err := env.Kube.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{})
	must(t, err)
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	n.Labels[key] = value
	_, err = env.Kube.CoreV1().Namespaces().Update(t.Context(), n, metav1.UpdateOptions{})
	must(t, err)
}

// route creates a route to svc; drifted leaves out what ExposeRegistry
// sets, admitted sets the status a router would.
func seedRoute(t *testing.T, ns, name, svc string, admitted bool) {
	t.Helper()
	r, err := env.Routes.RouteV1().Routes(ns).Create(t.Context(), &routev1.Route{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       routev1.RouteSpec{To: routev1.RouteTargetReference{Kind: "Service", Name: svc}},
	}, metav1.CreateOptions{})
	must(t, err)
	if admitted {
		admit(t.Context(), t, r)
	}
}

func admit(ctx context.Context, t *testing.T, r *routev1.Route) {
	t.Helper()
	r = r.DeepCopy()
	now := metav1.Now()
	r.Status.Ingress = []routev1.RouteIngress{{Host: r.Name + "-" + r.Namespace + ".apps.example.com", RouterName: "default",
		Conditions: []routev1.RouteIngressCondition{{Type: routev1.RouteAdmitted, Status: corev1.ConditionTrue, LastTransitionTime: &now}}}}
	_, err := env.Routes.RouteV1().Routes(r.Namespace).UpdateStatus(ctx, r, metav1.UpdateOptions{})
	if err != nil && ctx.Err() == nil {
		t.Errorf("admit route %s/%s: %v", r.Namespace, r.Name, err)
	}
}

// router admits route ns/name as soon as it exists, until ctx ends.
func router(ctx context.Context, t *testing.T, ns, name string) {
	go func() {
		for ctx.Err() == nil {
			r, err := env.Routes.RouteV1().Routes(ns).Get(ctx, name, metav1.GetOptions{})
			if err == nil && len(r.Status.Ingress) == 0 {
				admit(ctx, t, r)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
}

func deleteRoute(t *testing.T, ns, name string) {
	t.Helper()
	err := env.Routes.RouteV1().Routes(ns).Delete(t.Context(), name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
}

// driftRoute removes the balance annotation ExposeRegistry sets.
func driftRoute(t *testing.T, ns, name string) {
	t.Helper()
	r, err := env.Routes.RouteV1().Routes(ns).Get(t.Context(), name, metav1.GetOptions{})
	must(t, err)
	delete(r.Annotations, "haproxy.router.openshift.io/balance")
	_, err = env.Routes.RouteV1().Routes(ns).Update(t.Context(), r, metav1.UpdateOptions{})
	must(t, err)
}
