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
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
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
	ticker := time.NewTicker(resync)
	defer ticker.Stop()
	for {
		rv := ""
		r, err := client.Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return "", fmt.Errorf("wait for route %s/%s: %w", ns, name, err)
		default:
			if host, done, err := admittedHost(r); done {
				return host, err
			}
			rv = r.ResourceVersion
		}
		w, err := client.Watch(ctx, metav1.ListOptions{
			FieldSelector:   fields.OneTermEqualSelector("metadata.name", name).String(),
			ResourceVersion: rv,
		})
		if err != nil {
			if ctx.Err() != nil {
				return "", fmt.Errorf("wait for route %s/%s: %w", ns, name, ctx.Err())
			}
			// Fall back to polling on the ticker.
			w = watch.NewEmptyWatch()
		}
		host, done, err := drain(ctx, w, ticker.C, name)
		w.Stop()
		if done {
			return host, err
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("wait for route %s/%s to be admitted: %w", ns, name, ctx.Err())
		}
	}
}

// drain consumes watch events until the route is decided, the watch ends,
// the ticker fires or ctx ends. done=false means "re-read and watch again".
func drain(ctx context.Context, w watch.Interface, tick <-chan time.Time, name string) (string, bool, error) {
	for {
		select {
		case <-ctx.Done():
			return "", false, nil
		case <-tick:
			return "", false, nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				// An empty watch closes at once: wait for the tick instead of spinning.
				select {
				case <-ctx.Done():
				case <-tick:
				}
				return "", false, nil
			}
			r, isRoute := ev.Object.(*routev1.Route)
			if !isRoute || r.Name != name || (ev.Type != watch.Added && ev.Type != watch.Modified) {
				if ev.Type == watch.Error {
					return "", false, nil
				}
				continue
			}
			if host, done, err := admittedHost(r); done {
				return host, true, err
			}
		}
	}
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
