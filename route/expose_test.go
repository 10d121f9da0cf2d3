package route

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	routev1 "github.com/openshift/api/route/v1"
	routefake "github.com/openshift/client-go/route/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/registrykit/registrykit"
)

func service(ns, name string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"docker-registry": "default"}},
		Spec:       corev1.ServiceSpec{ClusterIP: "172.30.0.10", Ports: ports},
	}
}

var port5000 = corev1.ServicePort{Name: "5000-tcp", Port: 5000, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(5000)}

func registry4x() *corev1.Service {
	return service("openshift-image-registry", "image-registry", port5000)
}
func registry311() *corev1.Service { return service("default", "docker-registry", port5000) }

// reencrypt is the route ExposeRegistry creates for the 4.x registry.
func reencrypt(mutate ...func(*routev1.Route)) *routev1.Route {
	r := &routev1.Route{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   "openshift-image-registry",
			Name:        "image-registry",
			Labels:      map[string]string{"docker-registry": "default"},
			Annotations: map[string]string{BalanceAnnotation: BalanceSource},
		},
		Spec: routev1.RouteSpec{
			To:   routev1.RouteTargetReference{Kind: "Service", Name: "image-registry"},
			Port: &routev1.RoutePort{TargetPort: intstr.FromString("5000-tcp")},
			TLS:  &routev1.TLSConfig{Termination: routev1.TLSTerminationReencrypt},
		},
	}
	for _, m := range mutate {
		m(r)
	}
	return r
}

// writes returns the create/update/patch/delete actions a fake recorded.
func writes(t *testing.T, actions []k8stesting.Action) []string {
	t.Helper()
	var out []string
	for _, a := range actions {
		switch a.GetVerb() {
		case "create", "update", "patch", "delete":
			out = append(out, a.GetVerb()+" "+a.GetResource().Resource)
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func TestExposeRegistry(t *testing.T) {
	tests := []struct {
		name       string
		services   []runtime.Object
		routes     []runtime.Object
		opts       ExposeOptions
		want       *routev1.Route
		wantResult registrykit.Result
		wantWrites []string
	}{
		{
			name:       "4.x registry detected, route created",
			services:   []runtime.Object{registry4x(), registry311()},
			want:       reencrypt(),
			wantResult: registrykit.Result{Action: registrykit.Created, Reason: "route did not exist"},
			wantWrites: []string{"create routes"},
		},
		{
			name:     "3.11 registry detected",
			services: []runtime.Object{registry311()},
			want: reencrypt(func(r *routev1.Route) {
				r.Namespace, r.Name, r.Spec.To.Name = "default", "docker-registry", "docker-registry"
			}),
			wantResult: registrykit.Result{Action: registrykit.Created, Reason: "route did not exist"},
			wantWrites: []string{"create routes"},
		},
		{
			name:     "hostname, name, insecure policy and destination CA",
			services: []runtime.Object{registry4x()},
			opts: ExposeOptions{Hostname: "registry.apps.example.com", Name: "public",
				InsecureEdgeTerminationPolicy: routev1.InsecureEdgeTerminationPolicyRedirect,
				DestinationCACertificate:      testCA},
			want: reencrypt(func(r *routev1.Route) {
				r.Name = "public"
				r.Spec.Host = "registry.apps.example.com"
				r.Spec.TLS.InsecureEdgeTerminationPolicy = routev1.InsecureEdgeTerminationPolicyRedirect
				r.Spec.TLS.DestinationCACertificate = testCA
			}),
			wantResult: registrykit.Result{Action: registrykit.Created, Reason: "route did not exist"},
			wantWrites: []string{"create routes"},
		},
		{
			name:       "balance annotation off",
			services:   []runtime.Object{registry4x()},
			opts:       ExposeOptions{BalanceSource: ptr(false)},
			want:       reencrypt(func(r *routev1.Route) { r.Annotations = nil }),
			wantResult: registrykit.Result{Action: registrykit.Created, Reason: "route did not exist"},
			wantWrites: []string{"create routes"},
		},
		{
			name:     "unnamed single port 5000 is addressed by target port",
			services: []runtime.Object{service("openshift-image-registry", "image-registry", corev1.ServicePort{Port: 5000, TargetPort: intstr.FromInt32(5000)})},
			want: reencrypt(func(r *routev1.Route) {
				r.Spec.Port.TargetPort = intstr.FromInt32(5000)
			}),
			wantResult: registrykit.Result{Action: registrykit.Created, Reason: "route did not exist"},
			wantWrites: []string{"create routes"},
		},
		{
			name:     "explicit service",
			services: []runtime.Object{registry4x(), service("team", "my-registry", port5000)},
			opts:     ExposeOptions{Namespace: "team", Service: "my-registry"},
			want: reencrypt(func(r *routev1.Route) {
				r.Namespace, r.Name, r.Spec.To.Name = "team", "my-registry", "my-registry"
			}),
			wantResult: registrykit.Result{Action: registrykit.Created, Reason: "route did not exist"},
			wantWrites: []string{"create routes"},
		},
		{
			name:     "same spec with a router-generated host is unchanged",
			services: []runtime.Object{registry4x()},
			routes: []runtime.Object{reencrypt(func(r *routev1.Route) {
				r.Spec.Host = "image-registry-openshift-image-registry.apps.example.com"
				r.Spec.To.Weight = ptr(int32(100))
				r.Spec.WildcardPolicy = routev1.WildcardPolicyNone
			})},
			want: reencrypt(func(r *routev1.Route) {
				r.Spec.Host = "image-registry-openshift-image-registry.apps.example.com"
				r.Spec.To.Weight = ptr(int32(100))
				r.Spec.WildcardPolicy = routev1.WildcardPolicyNone
			}),
			wantResult: registrykit.Result{Action: registrykit.Unchanged, Reason: "route matches"},
		},
		{
			name:     "drifted route is repaired, others' labels and annotations kept",
			services: []runtime.Object{registry4x()},
			opts:     ExposeOptions{Hostname: "registry.apps.example.com"},
			routes: []runtime.Object{reencrypt(func(r *routev1.Route) {
				r.Labels = map[string]string{"team": "platform"}
				r.Annotations = map[string]string{"owner": "ops", BalanceAnnotation: "roundrobin"}
				r.Spec.Host = "old.apps.example.com"
				r.Spec.Port = &routev1.RoutePort{TargetPort: intstr.FromInt32(443)}
				r.Spec.TLS = &routev1.TLSConfig{Termination: routev1.TLSTerminationEdge, InsecureEdgeTerminationPolicy: routev1.InsecureEdgeTerminationPolicyAllow}
			})},
			want: reencrypt(func(r *routev1.Route) {
				r.Labels = map[string]string{"team": "platform"}
				r.Annotations = map[string]string{"owner": "ops", BalanceAnnotation: BalanceSource}
				r.Spec.Host = "registry.apps.example.com"
				r.Spec.TLS.InsecureEdgeTerminationPolicy = routev1.InsecureEdgeTerminationPolicyAllow
			}),
			wantResult: registrykit.Result{Action: registrykit.Updated, Reason: "drifted: spec.port, spec.host, spec.tls.termination, annotation " + BalanceAnnotation},
			wantWrites: []string{"update routes"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := kubefake.NewClientset(tt.services...)
			routes := routefake.NewClientset(tt.routes...)
			got, res, err := ExposeRegistry(t.Context(), routes, kube, tt.opts)
			if err != nil {
				t.Fatalf("ExposeRegistry: %v", err)
			}
			if diff := cmp.Diff(tt.wantResult, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			stored, err := routes.RouteV1().Routes(tt.want.Namespace).Get(t.Context(), tt.want.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("get stored route: %v", err)
			}
			for what, r := range map[string]*routev1.Route{"returned": &got, "stored": stored} {
				if diff := cmp.Diff(tt.want.ObjectMeta.Labels, r.Labels); diff != "" {
					t.Errorf("%s labels (-want +got):\n%s", what, diff)
				}
				if diff := cmp.Diff(tt.want.ObjectMeta.Annotations, r.Annotations); diff != "" {
					t.Errorf("%s annotations (-want +got):\n%s", what, diff)
				}
				if diff := cmp.Diff(tt.want.Spec, r.Spec); diff != "" {
					t.Errorf("%s spec (-want +got):\n%s", what, diff)
				}
			}
			if diff := cmp.Diff(tt.wantWrites, writes(t, routes.Actions())); diff != "" {
				t.Errorf("route writes (-want +got):\n%s", diff)
			}
			if w := writes(t, kube.Actions()); len(w) > 0 {
				t.Errorf("unexpected kube writes: %v", w)
			}
		})
	}
}

const testCA = `-----BEGIN CERTIFICATE-----
MIIBhTCCASugAwIBAgIQIRi6zePL6mKjOipn+dNuaTAKBggqhkjOPQQDAjASMRAw
DgYDVQQKEwdBY21lIENvMB4XDTE3MTAyMDE5NDMwNloXDTE4MTAyMDE5NDMwNlow
-----END CERTIFICATE-----
`

func TestExposeRegistryRejectsBadInputBeforeAnyCall(t *testing.T) {
	tests := []struct {
		name       string
		opts       ExposeOptions
		wantFields []string
	}{
		{"upper-case host", ExposeOptions{Hostname: "Registry.example.com"}, []string{"hostname"}},
		{"scheme in host", ExposeOptions{Hostname: "https://registry.example.com"}, []string{"hostname"}},
		{"wildcard host", ExposeOptions{Hostname: "*.apps.example.com"}, []string{"hostname"}},
		{"label over 63", ExposeOptions{Hostname: strings.Repeat("a", 64) + ".example.com"}, []string{"hostname"}},
		{"trailing dot", ExposeOptions{Hostname: "registry.example.com."}, []string{"hostname"}},
		{"service without namespace", ExposeOptions{Service: "image-registry"}, []string{"namespace"}},
		{"bad names", ExposeOptions{Namespace: "Bad_NS", Service: "9svc", Name: "x/y"}, []string{"namespace", "service", "name"}},
		{"bad insecure policy", ExposeOptions{InsecureEdgeTerminationPolicy: "redirect"}, []string{"insecureEdgeTerminationPolicy"}},
		{"CA not PEM", ExposeOptions{DestinationCACertificate: "not a cert"}, []string{"destinationCACertificate"}},
		{"every problem at once", ExposeOptions{Hostname: "A..b", InsecureEdgeTerminationPolicy: "x"}, []string{"hostname", "insecureEdgeTerminationPolicy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := kubefake.NewClientset(registry4x())
			routes := routefake.NewClientset()
			_, _, err := ExposeRegistry(t.Context(), routes, kube, tt.opts)
			if !errors.Is(err, registrykit.ErrInvalid) {
				t.Fatalf("err = %v, want registrykit.ErrInvalid", err)
			}
			var ie *registrykit.InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("%v is not a *registrykit.InvalidError", err)
			}
			var fields []string
			for _, fe := range ie.Errs {
				if len(fields) == 0 || fields[len(fields)-1] != fe.Field {
					fields = append(fields, fe.Field)
				}
			}
			if diff := cmp.Diff(tt.wantFields, fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if n := len(kube.Actions()) + len(routes.Actions()); n != 0 {
				t.Errorf("%d API calls made, want none", n)
			}
		})
	}
}

func TestExposeRegistryServiceProblems(t *testing.T) {
	tests := []struct {
		name     string
		services []runtime.Object
		opts     ExposeOptions
		wantIs   error
		check    func(t *testing.T, err error)
	}{
		{
			name:     "no registry service",
			services: nil,
			wantIs:   ErrNoRegistryService,
		},
		{
			name:     "named service missing is also NotFound",
			services: []runtime.Object{registry4x()},
			opts:     ExposeOptions{Namespace: "team", Service: "nope"},
			wantIs:   ErrNoRegistryService,
			check: func(t *testing.T, err error) {
				if !apierrors.IsNotFound(err) {
					t.Errorf("apierrors.IsNotFound(%v) = false", err)
				}
			},
		},
		{
			name:     "service without the registry port",
			services: []runtime.Object{service("openshift-image-registry", "image-registry", corev1.ServicePort{Name: "https", Port: 443}, corev1.ServicePort{Name: "metrics", Port: 5000})},
			wantIs:   ErrNoRegistryPort,
			check: func(t *testing.T, err error) {
				var pe *PortError
				if !errors.As(err, &pe) {
					t.Fatalf("%v is not a *PortError", err)
				}
				want := &PortError{Namespace: "openshift-image-registry", Service: "image-registry", Ports: []string{"https/443", "metrics/5000"}}
				if diff := cmp.Diff(want, pe); diff != "" {
					t.Errorf("PortError (-want +got):\n%s", diff)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := kubefake.NewClientset(tt.services...)
			routes := routefake.NewClientset()
			_, _, err := ExposeRegistry(t.Context(), routes, kube, tt.opts)
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("err = %v, want %v", err, tt.wantIs)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
			if n := len(routes.Actions()); n != 0 {
				t.Errorf("%d route calls made, want none", n)
			}
		})
	}
}

func TestExposeRegistryRetriesOnConflict(t *testing.T) {
	kube := kubefake.NewClientset(registry4x())
	routes := routefake.NewClientset(reencrypt(func(r *routev1.Route) { r.Annotations = nil }))
	conflicts := 2
	routes.PrependReactor("update", "routes", func(k8stesting.Action) (bool, runtime.Object, error) {
		if conflicts == 0 {
			return false, nil, nil
		}
		conflicts--
		return true, nil, apierrors.NewConflict(schema.GroupResource{Group: "route.openshift.io", Resource: "routes"}, "image-registry", errors.New("the object has been modified"))
	})
	_, res, err := ExposeRegistry(t.Context(), routes, kube, ExposeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != registrykit.Updated {
		t.Errorf("action = %v, want %v", res.Action, registrykit.Updated)
	}
	var verbs []string
	for _, a := range routes.Actions() {
		verbs = append(verbs, a.GetVerb())
	}
	if diff := cmp.Diff([]string{"get", "update", "get", "update", "get", "update"}, verbs); diff != "" {
		t.Errorf("route calls (-want +got):\n%s", diff)
	}
}

func TestExposeRegistryCreateRaceRetries(t *testing.T) {
	kube := kubefake.NewClientset(registry4x())
	routes := routefake.NewClientset()
	raced := false
	routes.PrependReactor("create", "routes", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if raced {
			return false, nil, nil
		}
		raced = true
		// Someone else creates the same route first.
		if err := routes.Tracker().Add(reencrypt()); err != nil {
			t.Fatal(err)
		}
		return true, nil, apierrors.NewAlreadyExists(schema.GroupResource{Group: "route.openshift.io", Resource: "routes"}, "image-registry")
	})
	_, res, err := ExposeRegistry(t.Context(), routes, kube, ExposeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(registrykit.Result{Action: registrykit.Unchanged, Reason: "route matches"}, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
}

func TestExposeRegistryDryRunAndFieldManager(t *testing.T) {
	for _, tt := range []struct {
		name        string
		opts        registrykit.WriteOptions
		wantDryRun  []string
		wantManager string
	}{
		{"defaults", registrykit.WriteOptions{}, nil, "registrykit"},
		{"dry run with manager", registrykit.WriteOptions{DryRun: true, FieldManager: "me"}, []string{metav1.DryRunAll}, "me"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			kube := kubefake.NewClientset(registry4x())
			routes := routefake.NewClientset()
			if _, _, err := ExposeRegistry(t.Context(), routes, kube, ExposeOptions{WriteOptions: tt.opts}); err != nil {
				t.Fatal(err)
			}
			var got *metav1.CreateOptions
			for _, a := range routes.Actions() {
				if c, ok := a.(k8stesting.CreateActionImpl); ok {
					got = &c.CreateOptions
				}
			}
			if got == nil {
				t.Fatal("no create recorded")
			}
			if diff := cmp.Diff(metav1.CreateOptions{DryRun: tt.wantDryRun, FieldManager: tt.wantManager}, *got); diff != "" {
				t.Errorf("create options (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExposeRegistryHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	kube := kubefake.NewClientset(registry4x())
	kube.PrependReactor("get", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, ctx.Err()
	})
	_, _, err := ExposeRegistry(ctx, routefake.NewClientset(), kube, ExposeOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// On 3.11 the caller may have no rights in openshift-image-registry (which
// does not exist there): the probe goes on to default/docker-registry. When
// no candidate is readable, the error carries the Forbidden.
func TestFindRegistryServiceProbesPastForbidden(t *testing.T) {
	forbidIn := func(kube *kubefake.Clientset, ns string) {
		kube.PrependReactor("get", "services", func(a k8stesting.Action) (bool, runtime.Object, error) {
			if a.GetNamespace() != ns {
				return false, nil, nil
			}
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "services"}, "x", errors.New("no access"))
		})
	}
	kube := kubefake.NewClientset(registry311())
	forbidIn(kube, "openshift-image-registry")
	svc, _, err := FindRegistryService(context.Background(), kube, "", "")
	if err != nil || svc.Name != "docker-registry" {
		t.Fatalf("FindRegistryService = %v, %v; want default/docker-registry", svc, err)
	}

	kube = kubefake.NewClientset()
	forbidIn(kube, "openshift-image-registry")
	_, _, err = FindRegistryService(context.Background(), kube, "", "")
	if !errors.Is(err, ErrNoRegistryService) || !apierrors.IsForbidden(err) {
		t.Errorf("err = %v; want ErrNoRegistryService carrying the Forbidden", err)
	}

	// Asked for one service by name, Forbidden is the answer, not a probe.
	kube = kubefake.NewClientset(registry4x())
	forbidIn(kube, "openshift-image-registry")
	_, _, err = FindRegistryService(context.Background(), kube, "openshift-image-registry", "image-registry")
	if !apierrors.IsForbidden(err) || errors.Is(err, ErrNoRegistryService) {
		t.Errorf("named service: err = %v; want plain Forbidden", err)
	}
}
