package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/internal/valid"
	"github.com/registrykit/registrykit/pullsecret"
	"github.com/registrykit/registrykit/route"
)

// ExposeInternalOptions configure ExposeInternalRegistry.
type ExposeInternalOptions struct {
	// Hostname of the route; empty lets the router generate one.
	Hostname string
	// Projects that get an internal-registry pull secret for the route
	// host, attached to ServiceAccount. May be empty (only the route).
	Projects []string
	// ServiceAccount whose generated dockercfg credential goes into each
	// project's secret, and which gets the secret attached; empty means
	// "default".
	ServiceAccount string
	// SecretName; empty means "<ServiceAccount>-registry-route".
	SecretName string
	// BalanceSource: nil means true (haproxy source balancing, as the guide
	// sets).
	BalanceSource *bool
	// Timeout bounds the wait for a router to admit the route; zero means
	// DefaultWaitTimeout. ctx bounds it too.
	Timeout time.Duration
	// WriteOptions: DryRun sends writes with dryRun=All; the route then does
	// not exist, so without Hostname the project secrets are skipped.
	// FieldManager names the writer of every Kubernetes write. Logger receives
	// one record per step; nil means silent; no record contains a credential.
	registrykit.WriteOptions
}

// Validate reports every problem of o as field errors under path (nil for
// none). It does no I/O.
func (o ExposeInternalOptions) Validate(path *field.Path) field.ErrorList {
	errs := o.exposeOptions().Validate(path)
	for i, ns := range o.Projects {
		errs = append(errs, validLabel(path.Child("projects").Index(i), ns)...)
	}
	sa := orDefault(o.ServiceAccount, DefaultServiceAccount)
	errs = append(errs, validSubdomain(path.Child("serviceAccount"), sa)...)
	errs = append(errs, validSubdomain(path.Child("secretName"), orDefault(o.SecretName, sa+"-registry-route"))...)
	return append(errs, valid.NotNegative(path.Child("timeout"), o.Timeout, o.Timeout.String())...)
}

// exposeOptions are the route.ExposeOptions of the route this workflow makes.
func (o ExposeInternalOptions) exposeOptions() route.ExposeOptions {
	return route.ExposeOptions{Hostname: o.Hostname, BalanceSource: o.BalanceSource}
}

// ExposeInternalRegistry exposes the integrated registry with a reencrypt
// route (route.ExposeRegistry), waits for a router to admit it
// (route.WaitForHost), then writes in each project a pull secret for the
// route host made from the service account's own registry credential
// (pullsecret.InternalRegistrySecret) and attaches it to that service
// account. It returns the admitted host. A failed project does not stop the
// others; the error joins every failure.
//
// Limits: the credential is a service-account token that OpenShift rotates;
// rerun to refresh the secrets.
func ExposeInternalRegistry(ctx context.Context, cluster *Cluster, opts ExposeInternalOptions) (string, Report, error) {
	var rep Report
	sa := orDefault(opts.ServiceAccount, DefaultServiceAccount)
	secret := orDefault(opts.SecretName, sa+"-registry-route")
	eopts := opts.exposeOptions()
	if err := registrykit.Invalid("registry.ExposeInternalRegistry", append(opts.Validate(nil), clusterErrs(cluster, kubeClient, routesClient)...)); err != nil {
		return "", rep, fmt.Errorf("expose internal registry: %w", err)
	}
	rec := newRecorder(&rep, opts.WriteOptions)
	wrap := func(err error) error { return fmt.Errorf("expose internal registry: %w", err) }

	eopts.WriteOptions = rec.lower()
	rt, res, err := route.ExposeRegistry(ctx, cluster.Routes, cluster.Kube, eopts)
	routeRef := rt.Namespace + "/" + rt.Name
	if err != nil {
		return "", rep, wrap(rec.fail(ctx, "route", routeRef, err))
	}
	rec.add(ctx, stepOf("route", routeRef, res))

	host := opts.Hostname
	if opts.DryRun {
		rec.add(ctx, Step{Name: "route host", Object: routeRef, Action: registrykit.Skipped, Skip: registrykit.SkipDryRun, Reason: "dry run: the route is not stored, not waiting"})
	} else {
		wctx, cancel := context.WithTimeout(ctx, orDuration(opts.Timeout, DefaultWaitTimeout))
		host, err = route.WaitForHost(wctx, cluster.Routes, rt.Namespace, rt.Name)
		cancel()
		if err != nil {
			return "", rep, wrap(rec.fail(ctx, "route host", routeRef, fmt.Errorf("wait for route %s: %w", routeRef, err)))
		}
		rec.add(ctx, Step{Name: "route host", Object: routeRef, Action: registrykit.Unchanged, Reason: "admitted as " + host})
	}

	popts := rec.lower()
	var errs []error
	for _, ns := range opts.Projects {
		ref := ns + "/" + secret
		if host == "" {
			rec.add(ctx, Step{Name: "secret", Object: ref, Action: registrykit.Skipped, Skip: registrykit.SkipDryRun, Reason: "dry run: route host unknown"})
			continue
		}
		res, err := pullsecret.InternalRegistrySecret(ctx, cluster.Kube, ns, pullsecret.InternalOptions{ServiceAccount: sa, Host: host, Name: secret, WriteOptions: popts})
		if err != nil {
			errs = append(errs, rec.fail(ctx, "secret", ref, err))
			continue
		}
		rec.add(ctx, stepOf("secret", ref, res))
		res, err = pullsecret.AttachToServiceAccount(ctx, cluster.Kube, types.NamespacedName{Namespace: ns, Name: sa}, secret, pullsecret.AttachOptions{WriteOptions: popts})
		if err != nil {
			errs = append(errs, rec.fail(ctx, "service account", ns+"/"+sa, err))
			continue
		}
		rec.add(ctx, stepOf("service account", ns+"/"+sa, res))
	}
	if err := errors.Join(errs...); err != nil {
		return host, rep, wrap(err)
	}
	return host, rep, nil
}
