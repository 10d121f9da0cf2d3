package route

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	routev1 "github.com/openshift/api/route/v1"
	routefake "github.com/openshift/client-go/route/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	k8stesting "k8s.io/client-go/testing"
)

func ingress(router, host string, status corev1.ConditionStatus, reason string) routev1.RouteIngress {
	return routev1.RouteIngress{
		Host:       host,
		RouterName: router,
		Conditions: []routev1.RouteIngressCondition{{Type: routev1.RouteAdmitted, Status: status, Reason: reason}},
	}
}

func withIngress(in ...routev1.RouteIngress) func(*routev1.Route) {
	return func(r *routev1.Route) { r.Status.Ingress = in }
}

// watchStarted makes the fake signal each time a route watch is opened.
func watchStarted(c *routefake.Clientset) <-chan struct{} {
	ch := make(chan struct{}, 10)
	c.PrependWatchReactor("routes", func(k8stesting.Action) (bool, watch.Interface, error) {
		ch <- struct{}{}
		return false, nil, nil
	})
	return ch
}

func TestWaitForHostImmediate(t *testing.T) {
	tests := []struct {
		name     string
		ingress  []routev1.RouteIngress
		wantHost string
		wantErr  error
	}{
		{
			name:     "admitted",
			ingress:  []routev1.RouteIngress{ingress("default", "r.apps.example.com", corev1.ConditionTrue, "")},
			wantHost: "r.apps.example.com",
		},
		{
			name: "one shard rejects, another admits",
			ingress: []routev1.RouteIngress{
				ingress("internal", "r.internal.example.com", corev1.ConditionFalse, "HostAlreadyClaimed"),
				ingress("default", "r.apps.example.com", corev1.ConditionTrue, ""),
			},
			wantHost: "r.apps.example.com",
		},
		{
			name:    "every router rejects",
			ingress: []routev1.RouteIngress{ingress("default", "r.apps.example.com", corev1.ConditionFalse, "HostAlreadyClaimed")},
			wantErr: ErrNotAdmitted,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routes := routefake.NewClientset(reencrypt(withIngress(tt.ingress...)))
			host, err := WaitForHost(t.Context(), routes, "openshift-image-registry", "image-registry")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if host != tt.wantHost {
				t.Errorf("host = %q, want %q", host, tt.wantHost)
			}
		})
	}
}

func TestWaitForHostNotAdmittedErrorNamesRouter(t *testing.T) {
	routes := routefake.NewClientset(reencrypt(withIngress(ingress("default", "h", corev1.ConditionFalse, "HostAlreadyClaimed"))))
	_, err := WaitForHost(t.Context(), routes, "openshift-image-registry", "image-registry")
	var nae *NotAdmittedError
	if !errors.As(err, &nae) {
		t.Fatalf("err = %v, want *NotAdmittedError", err)
	}
	if want := `route openshift-image-registry/image-registry not admitted: router "default": HostAlreadyClaimed: `; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestWaitForHostFollowsWatch(t *testing.T) {
	for _, tt := range []struct {
		name     string
		existing []runtime.Object
	}{
		{"route exists, not yet admitted", []runtime.Object{reencrypt()}},
		{"route does not exist yet", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			routes := routefake.NewClientset(tt.existing...)
			started := watchStarted(routes)
			type result struct {
				host string
				err  error
			}
			done := make(chan result, 1)
			go func() {
				h, err := WaitForHost(t.Context(), routes, "openshift-image-registry", "image-registry")
				done <- result{h, err}
			}()
			<-started
			// Another route in the namespace must not confuse the wait.
			other := reencrypt(withIngress(ingress("default", "other.example.com", corev1.ConditionTrue, "")))
			other.Name = "other"
			if _, err := routes.RouteV1().Routes(other.Namespace).Create(t.Context(), other, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			admitted := reencrypt(withIngress(ingress("default", "r.apps.example.com", corev1.ConditionTrue, "")))
			var err error
			if tt.existing == nil {
				_, err = routes.RouteV1().Routes(admitted.Namespace).Create(t.Context(), admitted, metav1.CreateOptions{})
			} else {
				_, err = routes.RouteV1().Routes(admitted.Namespace).UpdateStatus(t.Context(), admitted, metav1.UpdateOptions{})
			}
			if err != nil {
				t.Fatal(err)
			}
			select {
			case got := <-done:
				if got.err != nil {
					t.Fatalf("WaitForHost: %v", got.err)
				}
				if diff := cmp.Diff("r.apps.example.com", got.host); diff != "" {
					t.Errorf("host (-want +got):\n%s", diff)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("WaitForHost did not return")
			}
		})
	}
}

func TestWaitForHostContextBounded(t *testing.T) {
	routes := routefake.NewClientset(reencrypt())
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := WaitForHost(ctx, routes, "openshift-image-registry", "image-registry")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v after a 50ms deadline", d)
	}
}
