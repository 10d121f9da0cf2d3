package route_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	imageregistryv1 "github.com/openshift/api/imageregistry/v1"
	operatorv1 "github.com/openshift/api/operator/v1"
	routev1 "github.com/openshift/api/route/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/route"
)

func TestExposeRegistryIsAcceptedAndIdempotent(t *testing.T) {
	registryService(t)
	c, counter := env.Counted(t)
	kube, routes := c.Kube, c.Routes
	ca := caPEM(t)
	tests := []struct {
		name string
		opts route.ExposeOptions
		want routev1.RouteSpec
	}{
		{
			name: "generated host",
			opts: route.ExposeOptions{Name: "expose-generated"},
			want: routev1.RouteSpec{
				To:             routev1.RouteTargetReference{Kind: "Service", Name: "image-registry", Weight: new(int32(100))},
				Port:           &routev1.RoutePort{TargetPort: intstr.FromString("5000-tcp")},
				TLS:            &routev1.TLSConfig{Termination: routev1.TLSTerminationReencrypt},
				WildcardPolicy: routev1.WildcardPolicyNone,
			},
		},
		{
			name: "host, redirect and destination CA",
			opts: route.ExposeOptions{Name: "expose-full", Hostname: "registry.apps.example.com",
				InsecureEdgeTerminationPolicy: routev1.InsecureEdgeTerminationPolicyRedirect, DestinationCACertificate: ca},
			want: routev1.RouteSpec{
				Host:           "registry.apps.example.com",
				To:             routev1.RouteTargetReference{Kind: "Service", Name: "image-registry", Weight: new(int32(100))},
				Port:           &routev1.RoutePort{TargetPort: intstr.FromString("5000-tcp")},
				TLS:            &routev1.TLSConfig{Termination: routev1.TLSTerminationReencrypt, InsecureEdgeTerminationPolicy: routev1.InsecureEdgeTerminationPolicyRedirect, DestinationCACertificate: ca},
				WildcardPolicy: routev1.WildcardPolicyNone,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			deleteAfter(t, "openshift-image-registry", tt.opts.Name)
			counter.Reset()
			_, res, err := route.ExposeRegistry(t.Context(), routes, kube, tt.opts)
			if err != nil {
				t.Fatalf("ExposeRegistry: %v", err)
			}
			if res.Action != registrykit.Created {
				t.Errorf("first call: %v, want created", res)
			}
			got, err := env.Routes.RouteV1().Routes("openshift-image-registry").Get(t.Context(), tt.opts.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.Spec); diff != "" {
				t.Errorf("stored spec (-want +got):\n%s", diff)
			}
			if got.Annotations[route.BalanceAnnotation] != "source" || got.Labels["docker-registry"] != "default" {
				t.Errorf("metadata: labels %v annotations %v", got.Labels, got.Annotations)
			}

			// The server's defaults (weight, wildcardPolicy) are not drift.
			counter.Reset()
			_, res, err = route.ExposeRegistry(t.Context(), routes, kube, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.Action != registrykit.Unchanged {
				t.Errorf("second call: %v, want unchanged", res)
			}
			if w := counter.Writes(); len(w) != 0 {
				t.Errorf("second call wrote %v", w)
			}
		})
	}
}

func TestExposeRegistryRepairsDriftKeepingOthersEdits(t *testing.T) {
	registryService(t)
	c, _ := env.Counted(t)
	kube, routes := c.Kube, c.Routes
	opts := route.ExposeOptions{Name: "expose-drift", Hostname: "drift.apps.example.com"}
	deleteAfter(t, "openshift-image-registry", opts.Name)
	if _, _, err := route.ExposeRegistry(t.Context(), routes, kube, opts); err != nil {
		t.Fatal(err)
	}
	client := env.Routes.RouteV1().Routes("openshift-image-registry")
	r, err := client.Get(t.Context(), opts.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.Labels["team"] = "platform"
	r.Annotations["haproxy.router.openshift.io/timeout"] = "5m"
	delete(r.Annotations, route.BalanceAnnotation)
	r.Spec.TLS = &routev1.TLSConfig{Termination: routev1.TLSTerminationEdge, InsecureEdgeTerminationPolicy: routev1.InsecureEdgeTerminationPolicyRedirect}
	if _, err := client.Update(t.Context(), r, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	_, res, err := route.ExposeRegistry(t.Context(), routes, kube, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := registrykit.Result{Action: registrykit.Updated, Reason: "drifted: spec.tls.termination, annotation " + route.BalanceAnnotation}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	got, err := client.Get(t.Context(), opts.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Labels["team"] != "platform" || got.Annotations["haproxy.router.openshift.io/timeout"] != "5m" || got.Annotations[route.BalanceAnnotation] != "source" {
		t.Errorf("metadata not kept/repaired: labels %v annotations %v", got.Labels, got.Annotations)
	}
	wantTLS := &routev1.TLSConfig{Termination: routev1.TLSTerminationReencrypt, InsecureEdgeTerminationPolicy: routev1.InsecureEdgeTerminationPolicyRedirect}
	if diff := cmp.Diff(wantTLS, got.Spec.TLS); diff != "" {
		t.Errorf("tls (-want +got):\n%s", diff)
	}
}

func TestExposeRegistryDryRunPersistsNothing(t *testing.T) {
	registryService(t)
	c, _ := env.Counted(t)
	kube, routes := c.Kube, c.Routes
	opts := route.ExposeOptions{Name: "expose-dry", WriteOptions: registrykit.WriteOptions{DryRun: true}}
	r, res, err := route.ExposeRegistry(t.Context(), routes, kube, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != registrykit.Created || r.Spec.WildcardPolicy != routev1.WildcardPolicyNone {
		t.Errorf("dry run: %v, server-defaulted spec %+v", res, r.Spec)
	}
	if _, err := env.Routes.RouteV1().Routes("openshift-image-registry").Get(t.Context(), opts.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("dry run persisted the route: %v", err)
	}
}

func TestExposeRegistryBadInputMakesNoRequest(t *testing.T) {
	c, counter := env.Counted(t)
	kube, routes := c.Kube, c.Routes
	for _, h := range []string{"Registry.Apps.Example.com", "https://registry.example.com", "*.apps.example.com"} {
		if _, _, err := route.ExposeRegistry(t.Context(), routes, kube, route.ExposeOptions{Hostname: h}); !errors.Is(err, registrykit.ErrInvalid) {
			t.Errorf("%q: err = %v, want ErrInvalid", h, err)
		}
	}
	if n := counter.Total(); n != 0 {
		t.Errorf("%d requests made for invalid input: %v", n, counter.Snapshot())
	}
}

func TestExposeRegistryServiceWithoutPort(t *testing.T) {
	ns := env.Namespace(t)
	c, counter := env.Counted(t)
	kube, routes := c.Kube, c.Routes
	_, err := env.Kube.CoreV1().Services(ns).Create(t.Context(), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "my-registry"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "https", Port: 443}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = route.ExposeRegistry(t.Context(), routes, kube, route.ExposeOptions{Namespace: ns, Service: "my-registry"})
	var pe *route.PortError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want *route.PortError", err)
	}
	if w := counter.Writes(); len(w) != 0 {
		t.Errorf("wrote %v", w)
	}
}

// admit plays the router: it waits for the route to exist and writes an
// admitted ingress entry to its status.
func admit(ctx context.Context, t *testing.T, ns, name, host string) {
	t.Helper()
	client := env.Routes.RouteV1().Routes(ns)
	for ctx.Err() == nil {
		r, err := client.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if err != nil {
			t.Errorf("router: get: %v", err)
			return
		}
		r.Status.Ingress = []routev1.RouteIngress{{
			Host: host, RouterName: "default",
			Conditions: []routev1.RouteIngressCondition{{Type: routev1.RouteAdmitted, Status: corev1.ConditionTrue}},
		}}
		if _, err := client.UpdateStatus(ctx, r, metav1.UpdateOptions{}); err != nil && !apierrors.IsConflict(err) {
			t.Errorf("router: update status: %v", err)
			return
		} else if err == nil {
			return
		}
	}
}

func TestWaitForHostWatchesTheRealServer(t *testing.T) {
	ns := env.Namespace(t)
	c, _ := env.Counted(t)
	routes := c.Routes
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	done := make(chan struct{})
	defer func() { <-done }() // runs before cancel: the router's writes are answered
	go func() {
		defer close(done)
		time.Sleep(300 * time.Millisecond) // let WaitForHost start watching a route that does not exist yet
		if _, err := env.Routes.RouteV1().Routes(ns).Create(ctx, &routev1.Route{
			ObjectMeta: metav1.ObjectMeta{Name: "later"},
			Spec:       routev1.RouteSpec{To: routev1.RouteTargetReference{Kind: "Service", Name: "x"}},
		}, metav1.CreateOptions{}); err != nil {
			t.Errorf("create: %v", err)
			return
		}
		time.Sleep(300 * time.Millisecond)
		admit(ctx, t, ns, "later", "later.apps.example.com")
	}()
	start := time.Now()
	host, err := route.WaitForHost(ctx, routes, ns, "later")
	if err != nil {
		t.Fatal(err)
	}
	if host != "later.apps.example.com" {
		t.Errorf("host = %q", host)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("took %v: the watch, not the resync poll, should have seen it", d)
	}
}

func TestEnableDefaultRoute(t *testing.T) {
	env.NamespaceNamed(t, route.DefaultRouteNamespace)
	configs := env.ImageRegistry.ImageregistryV1().Configs()
	_, err := configs.Create(t.Context(), &imageregistryv1.Config{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster"},
		Spec:       imageregistryv1.ImageRegistrySpec{Replicas: 2, OperatorSpec: operatorv1.OperatorSpec{ManagementState: operatorv1.Managed}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := configs.Delete(context.Background(), "cluster", metav1.DeleteOptions{}); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	deleteAfter(t, route.DefaultRouteNamespace, route.DefaultRouteName)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	// Play the operator and the router.
	done := make(chan struct{})
	defer func() { <-done }() // runs before cancel: their writes are answered
	go func() {
		defer close(done)
		if _, err := env.Routes.RouteV1().Routes(route.DefaultRouteNamespace).Create(ctx, &routev1.Route{
			ObjectMeta: metav1.ObjectMeta{Name: route.DefaultRouteName},
			Spec: routev1.RouteSpec{
				To:  routev1.RouteTargetReference{Kind: "Service", Name: "image-registry"},
				TLS: &routev1.TLSConfig{Termination: routev1.TLSTerminationReencrypt},
			},
		}, metav1.CreateOptions{}); err != nil {
			t.Errorf("operator: %v", err)
			return
		}
		admit(ctx, t, route.DefaultRouteNamespace, route.DefaultRouteName, "default-route-openshift-image-registry.apps.example.com")
	}()
	host, res, err := route.EnableDefaultRoute(ctx, env.ImageRegistry, env.Routes, registrykit.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if host != "default-route-openshift-image-registry.apps.example.com" || res.Action != registrykit.Updated {
		t.Errorf("got %q, %v", host, res)
	}
	got, err := configs.Get(t.Context(), "cluster", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Spec.DefaultRoute || got.Spec.Replicas != 2 {
		t.Errorf("config spec = %+v", got.Spec)
	}

	// Again: no write, same host.
	host, res, err = route.EnableDefaultRoute(ctx, env.ImageRegistry, env.Routes, registrykit.WriteOptions{})
	if err != nil || res.Action != registrykit.Unchanged || host == "" {
		t.Errorf("second call: %q, %v, %v", host, res, err)
	}
}
