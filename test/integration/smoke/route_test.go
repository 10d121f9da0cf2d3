package smoke

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	routev1 "github.com/openshift/api/route/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func registryRoute(name string) *routev1.Route {
	return &routev1.Route{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{"haproxy.router.openshift.io/balance": "source"},
		},
		Spec: routev1.RouteSpec{
			Host: "registry.apps.example.com",
			To:   routev1.RouteTargetReference{Kind: "Service", Name: "image-registry"},
			TLS:  &routev1.TLSConfig{Termination: routev1.TLSTerminationReencrypt},
		},
	}
}

// The Route CRD shipped in github.com/openshift/api serves the typed
// client, and its defaults are applied by the server.
func TestTypedRouteIsAccepted(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	routes := env.Routes.RouteV1().Routes(ns)
	created, err := routes.Create(t.Context(), registryRoute("default-route"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	got, err := routes.Get(t.Context(), created.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	want := routev1.RouteSpec{
		Host:           "registry.apps.example.com",
		To:             routev1.RouteTargetReference{Kind: "Service", Name: "image-registry", Weight: ptr(int32(100))},
		TLS:            &routev1.TLSConfig{Termination: routev1.TLSTerminationReencrypt},
		WildcardPolicy: routev1.WildcardPolicyNone,
	}
	if diff := cmp.Diff(want, got.Spec); diff != "" {
		t.Errorf("spec after server defaulting (-want +got):\n%s", diff)
	}

	got.Status.Ingress = []routev1.RouteIngress{{Host: got.Spec.Host, RouterName: "default"}}
	if _, err := routes.UpdateStatus(t.Context(), got, metav1.UpdateOptions{}); err != nil {
		t.Errorf("update status: %v", err)
	}
}

// The CRD's OpenAPI schema and CEL rules (x-kubernetes-validations) run on
// this kube-apiserver.
func TestRouteForbiddenByCRDValidationIsRejected(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	tests := []struct {
		name    string
		mutate  func(*routev1.Route)
		message string // part of the server's message
	}{
		{
			name: "CEL: passthrough with insecure Allow",
			mutate: func(r *routev1.Route) {
				r.Spec.TLS = &routev1.TLSConfig{
					Termination:                   routev1.TLSTerminationPassthrough,
					InsecureEdgeTerminationPolicy: routev1.InsecureEdgeTerminationPolicyAllow,
				}
			},
			message: "cannot have both spec.tls.termination: passthrough and spec.tls.insecureEdgeTerminationPolicy: Allow",
		},
		{
			name: "CEL: header actions with passthrough",
			mutate: func(r *routev1.Route) {
				r.Spec.TLS = &routev1.TLSConfig{Termination: routev1.TLSTerminationPassthrough}
				r.Spec.HTTPHeaders = &routev1.RouteHTTPHeaders{Actions: routev1.RouteHTTPHeaderActions{
					Request: []routev1.RouteHTTPHeader{{Name: "X-Registry", Action: routev1.RouteHTTPHeaderActionUnion{
						Type: routev1.Set, Set: &routev1.RouteSetHTTPHeader{Value: "yes"},
					}}},
				}}
			},
			message: "header actions are not permitted when tls termination is passthrough",
		},
		{
			name:    "enum: target kind",
			mutate:  func(r *routev1.Route) { r.Spec.To.Kind = "Deployment" },
			message: `spec.to.kind: Unsupported value: "Deployment"`,
		},
		{
			name:    "pattern: host",
			mutate:  func(r *routev1.Route) { r.Spec.Host = "Not_A_Host" },
			message: "spec.host",
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := registryRoute("invalid-" + string(rune('a'+i)))
			tt.mutate(r)
			_, err := env.Routes.RouteV1().Routes(ns).Create(t.Context(), r, metav1.CreateOptions{})
			if !apierrors.IsInvalid(err) {
				t.Fatalf("got %v, want Invalid", err)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q does not mention %q", err, tt.message)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
