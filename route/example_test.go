package route_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	routev1 "github.com/openshift/api/route/v1"
	routefake "github.com/openshift/client-go/route/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/route"
)

func ExampleExposeRegistry() {
	ctx := context.Background()
	// A 4.x cluster's registry service (fake clients stand in for a cluster).
	kube := kubefake.NewClientset(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "openshift-image-registry", Name: "image-registry"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "5000-tcp", Port: 5000}}},
	})
	routes := routefake.NewClientset()

	opts := route.ExposeOptions{Hostname: "registry.apps.example.com"}
	r, res, err := route.ExposeRegistry(ctx, routes, kube, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Action, r.Namespace+"/"+r.Name, r.Spec.Host, r.Spec.TLS.Termination, r.Annotations[route.BalanceAnnotation])

	// Running it again changes nothing.
	_, res, _ = route.ExposeRegistry(ctx, routes, kube, opts)
	fmt.Println(res.Action)

	// A bad host name is refused before any API call.
	_, _, err = route.ExposeRegistry(ctx, routes, kube, route.ExposeOptions{Hostname: "https://registry"})
	var fe *field.Error
	fmt.Println(errors.Is(err, registrykit.ErrInvalid), errors.As(err, &fe) && fe.Field == "hostname")
	fmt.Println(err)
	// Output:
	// created openshift-image-registry/image-registry registry.apps.example.com reencrypt source
	// unchanged
	// true true
	// invalid route.ExposeOptions: hostname: Invalid value: "https://registry": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')
}

func ExampleWaitForHost() {
	// A route the router has already admitted.
	routes := routefake.NewClientset(&routev1.Route{
		ObjectMeta: metav1.ObjectMeta{Namespace: "openshift-image-registry", Name: "default-route"},
		Status: routev1.RouteStatus{Ingress: []routev1.RouteIngress{{
			Host:       "default-route-openshift-image-registry.apps.example.com",
			RouterName: "default",
			Conditions: []routev1.RouteIngressCondition{{Type: routev1.RouteAdmitted, Status: corev1.ConditionTrue}},
		}}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	host, err := route.WaitForHost(ctx, routes, "openshift-image-registry", "default-route")
	fmt.Println(host, err)
	// Output:
	// default-route-openshift-image-registry.apps.example.com <nil>
}
