package route

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	imageregistryv1 "github.com/openshift/api/imageregistry/v1"
	routev1 "github.com/openshift/api/route/v1"
	imageregistryfake "github.com/openshift/client-go/imageregistry/clientset/versioned/fake"
	routefake "github.com/openshift/client-go/route/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/registrykit/registrykit"
)

func operatorConfig(defaultRoute bool) *imageregistryv1.Config {
	return &imageregistryv1.Config{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster"},
		Spec:       imageregistryv1.ImageRegistrySpec{DefaultRoute: defaultRoute, Replicas: 2},
	}
}

func defaultRoute() *routev1.Route {
	r := reencrypt(withIngress(ingress("default", "default-route-openshift-image-registry.apps.example.com", corev1.ConditionTrue, "")))
	r.Name = "default-route"
	return r
}

func TestEnableDefaultRoute(t *testing.T) {
	tests := []struct {
		name       string
		config     *imageregistryv1.Config
		opts       registrykit.WriteOptions
		wantHost   string
		wantResult registrykit.Result
		wantWrites []string
	}{
		{
			name:       "turns it on and waits for the route",
			config:     operatorConfig(false),
			wantHost:   "default-route-openshift-image-registry.apps.example.com",
			wantResult: registrykit.Result{Action: registrykit.Updated, Reason: "set spec.defaultRoute to true"},
			wantWrites: []string{"update configs"},
		},
		{
			name:       "already on",
			config:     operatorConfig(true),
			wantHost:   "default-route-openshift-image-registry.apps.example.com",
			wantResult: registrykit.Result{Action: registrykit.Unchanged, Reason: "spec.defaultRoute is already true"},
		},
		{
			name:       "dry run does not wait",
			config:     operatorConfig(false),
			opts:       registrykit.WriteOptions{DryRun: true},
			wantResult: registrykit.Result{Action: registrykit.Updated, Reason: "set spec.defaultRoute to true (dry run: not persisted)"},
			wantWrites: []string{"update configs"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			operator := imageregistryfake.NewClientset(tt.config)
			routes := routefake.NewClientset(defaultRoute())
			host, res, err := EnableDefaultRoute(t.Context(), operator, routes, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if host != tt.wantHost {
				t.Errorf("host = %q, want %q", host, tt.wantHost)
			}
			if diff := cmp.Diff(tt.wantResult, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantWrites, writes(t, operator.Actions())); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			if tt.opts.DryRun {
				if n := len(routes.Actions()); n != 0 {
					t.Errorf("dry run made %d route calls", n)
				}
				for _, a := range operator.Actions() {
					if u, ok := a.(k8stesting.UpdateActionImpl); ok && !cmp.Equal(u.UpdateOptions.DryRun, []string{metav1.DryRunAll}) {
						t.Errorf("update DryRun = %v", u.UpdateOptions.DryRun)
					}
				}
				return
			}
			cfg, err := operator.ImageregistryV1().Configs().Get(t.Context(), "cluster", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !cfg.Spec.DefaultRoute || cfg.Spec.Replicas != 2 {
				t.Errorf("stored spec = %+v, want defaultRoute true and replicas kept", cfg.Spec)
			}
		})
	}
}

func TestEnableDefaultRouteRetriesOnConflict(t *testing.T) {
	operator := imageregistryfake.NewClientset(operatorConfig(false))
	first := true
	operator.PrependReactor("update", "configs", func(k8stesting.Action) (bool, runtime.Object, error) {
		if !first {
			return false, nil, nil
		}
		first = false
		return true, nil, apierrors.NewConflict(schema.GroupResource{Group: "imageregistry.operator.openshift.io", Resource: "configs"}, "cluster", errors.New("modified"))
	})
	_, res, err := EnableDefaultRoute(t.Context(), operator, routefake.NewClientset(defaultRoute()), registrykit.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != registrykit.Updated {
		t.Errorf("action = %v", res.Action)
	}
	if got := len(writes(t, operator.Actions())); got != 2 {
		t.Errorf("%d updates, want 2 (conflict then success)", got)
	}
}

func TestEnableDefaultRouteWithoutOperator(t *testing.T) {
	operator := imageregistryfake.NewClientset()
	routes := routefake.NewClientset()
	_, _, err := EnableDefaultRoute(t.Context(), operator, routes, registrykit.WriteOptions{})
	if !errors.Is(err, ErrNoOperatorConfig) || !apierrors.IsNotFound(err) {
		t.Fatalf("err = %v, want ErrNoOperatorConfig and NotFound", err)
	}
	if len(writes(t, operator.Actions())) != 0 || len(routes.Actions()) != 0 {
		t.Error("unexpected calls")
	}
}
