package route

import (
	"context"
	"fmt"

	imageregistryclientset "github.com/openshift/client-go/imageregistry/clientset/versioned"
	routeclientset "github.com/openshift/client-go/route/clientset/versioned"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/internal/kubewrite"
)

const (
	// OperatorConfigName is the name of the cluster-scoped imageregistry
	// operator config (configs.imageregistry.operator.openshift.io).
	OperatorConfigName = "cluster"
	// DefaultRouteNamespace and DefaultRouteName locate the route the
	// operator creates when spec.defaultRoute is true.
	DefaultRouteNamespace = "openshift-image-registry"
	DefaultRouteName      = "default-route"
)

// EnableDefaultRoute is the operator-managed alternative to ExposeRegistry
// (OpenShift 4.x only): it sets spec.defaultRoute: true on the imageregistry
// operator config "cluster" (re-reading and retrying on conflict; already
// true is Unchanged and not written), then waits with WaitForHost for the
// operator's openshift-image-registry/default-route and returns its admitted
// host. Bound the wait with ctx. In dry-run mode nothing is persisted, so it
// does not wait and returns an empty host. A cluster without the config
// (3.11) gets an error matching ErrNoOperatorConfig.
func EnableDefaultRoute(ctx context.Context, operator imageregistryclientset.Interface, routes routeclientset.Interface, opts registrykit.WriteOptions) (string, registrykit.Result, error) {
	client := operator.ImageregistryV1().Configs()
	var res registrykit.Result
	err := retry.RetryOnConflict(kubewrite.ConflictBackoff, func() error {
		cfg, err := client.Get(ctx, OperatorConfigName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("%w: %w", ErrNoOperatorConfig, err)
		}
		if err != nil {
			return err
		}
		if cfg.Spec.DefaultRoute {
			res = registrykit.Result{Action: registrykit.Unchanged, Reason: "spec.defaultRoute is already true"}
			return nil
		}
		cfg = cfg.DeepCopy()
		cfg.Spec.DefaultRoute = true
		if _, err := client.Update(ctx, cfg, opts.UpdateOptions()); err != nil {
			return err
		}
		res = registrykit.Result{Action: registrykit.Updated, Reason: "set spec.defaultRoute to true"}
		return nil
	})
	if err != nil {
		return "", registrykit.Result{}, fmt.Errorf("enable default route on imageregistry config %s: %w", OperatorConfigName, err)
	}
	res = kubewrite.Record(ctx, opts, "route", res, "config", OperatorConfigName)
	if opts.DryRun {
		return "", res, nil
	}
	host, err := WaitForHost(ctx, routes, DefaultRouteNamespace, DefaultRouteName)
	if err != nil {
		return "", res, err
	}
	return host, res, nil
}
