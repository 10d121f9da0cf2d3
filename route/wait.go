package route

import (
	"context"
	"fmt"
	"time"

	routev1 "github.com/openshift/api/route/v1"
	routeclientset "github.com/openshift/client-go/route/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/registrykit/registrykit/internal/watchwait"
)

// resync bounds how long a missed watch event can delay WaitForHost: the
// route is re-read at least this often.
const resync = 5 * time.Second

// WaitForHost waits until a router admits the route ns/name and returns the
// admitted host (status.ingress[].host of an entry whose Admitted condition is
// True). The route need not exist yet: a missing route is waited for (the
// operator creates default-route asynchronously). It returns a
// *NotAdmittedError as soon as every router that reported on the route
// rejected it (for example HostAlreadyClaimed), and ctx's error wrapped when
// ctx ends first. It watches the single route and re-reads it every few
// seconds, so it never misses an update.
func WaitForHost(ctx context.Context, routes routeclientset.Interface, ns, name string) (string, error) {
	client := routes.RouteV1().Routes(ns)
	var host string
	var verdict error
	err := watchwait.Until(ctx, resync, name,
		func(ctx context.Context) (*routev1.Route, bool, error) {
			r, err := client.Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil, false, nil
			}
			return r, err == nil, err
		},
		client.Watch,
		func(r *routev1.Route, deleted bool) bool {
			if deleted {
				return false // wait for it to come back
			}
			var done bool
			host, done, verdict = admittedHost(r)
			return done
		})
	switch {
	case err != nil && ctx.Err() != nil:
		return "", fmt.Errorf("wait for route %s/%s to be admitted: %w", ns, name, err)
	case err != nil:
		return "", fmt.Errorf("wait for route %s/%s: %w", ns, name, err)
	}
	return host, verdict
}

// admittedHost decides a route: the first admitted host, or a
// *NotAdmittedError when every reporting router rejected it.
func admittedHost(r *routev1.Route) (string, bool, error) {
	var rejected []routev1.RouteIngress
	for _, in := range r.Status.Ingress {
		for _, c := range in.Conditions {
			if c.Type != routev1.RouteAdmitted {
				continue
			}
			switch c.Status {
			case corev1.ConditionTrue:
				if in.Host != "" {
					return in.Host, true, nil
				}
			case corev1.ConditionFalse:
				rejected = append(rejected, in)
			}
		}
	}
	if len(rejected) > 0 && len(rejected) == len(r.Status.Ingress) {
		return "", true, &NotAdmittedError{Namespace: r.Namespace, Name: r.Name, Ingress: rejected}
	}
	return "", false, nil
}
