package registry

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/build"
	"github.com/registrykit/registrykit/iam"
)

// BuildPushOptions configure BuildPushSecret. ClusterName, Project and
// BuildConfig are required.
type BuildPushOptions struct {
	// ClusterName and Project name the service ID
	// "<cluster>-<project>-push-id" and its key "<cluster>-<project>-push-key".
	ClusterName string
	Project     string
	// BuildConfig in Project whose output push secret is set.
	BuildConfig string
	// Regions the Writer access covers, one policy per region; empty means
	// one policy without a region, which covers every region.
	Regions []string
	// RegistryNamespace limits the policies to one registry namespace.
	RegistryNamespace string
	// Domains in the secret; empty means the domains of Regions.
	Domains []string
	// SecretName; empty means "<project>-icr-push".
	SecretName string
	// Pull also makes the secret the build strategy's pull secret and links
	// it to the builder service account for pulling.
	Pull bool
	// KeepExtraPolicies: as in ApplyOptions. By default the push service ID
	// holds exactly the Writer policies asked for.
	KeepExtraPolicies bool
	// WriteOptions: DryRun sends no IAM write and every Kubernetes write with
	// dryRun=All.
	// FieldManager names the writer of every Kubernetes write. Logger receives
	// one record per step; nil means silent; no record contains a credential.
	registrykit.WriteOptions
}

// Validate reports every problem of o as field errors under path (nil for
// none). It does no I/O.
func (o BuildPushOptions) Validate(path *field.Path) field.ErrorList {
	_, errs := o.plan(path)
	return errs
}

// plan is the provisioning of ProjectCredentials with a Writer role, named
// for pushing.
func (o BuildPushOptions) plan(path *field.Path) (provisionPlan, field.ErrorList) {
	secret := o.SecretName
	if secret == "" && o.Project != "" {
		secret = o.Project + "-icr-push"
	}
	plan, errs := ProjectOptions{
		ClusterName: o.ClusterName, Project: o.Project, Role: iam.Writer, Regions: o.Regions,
		RegistryNamespace: o.RegistryNamespace, Domains: o.Domains, SecretName: secret,
		KeepExtraPolicies: o.KeepExtraPolicies, WriteOptions: o.WriteOptions,
	}.plan(path)
	errs = append(errs, validSubdomain(path.Child("buildConfig"), o.BuildConfig)...)
	return plan, errs
}

// BuildPushSecret gives a BuildConfig push access to IBM Cloud Container
// Registry, as the guide's build section does by hand: a service ID with a
// Writer policy (for every region, or one per region of Regions), an API
// key, a pull secret in the project (username iamapikey), `oc secrets link builder <secret>`
// (build.LinkBuilder) and `oc set build-secret --push bc/<name> <secret>`
// (build.SetSecrets). Key reuse, rollback and policy convergence are as in
// ApplyClusterPullSecret.
func BuildPushSecret(ctx context.Context, cluster *Cluster, iamClient *iam.Client, opts BuildPushOptions) (Report, error) {
	var rep Report
	plan, errs := opts.plan(nil)
	errs = append(errs, clusterErrs(cluster, kubeClient, buildsClient)...)
	if iamClient == nil {
		errs = append(errs, field.Required(field.NewPath("iamClient"), ""))
	}
	if err := registrykit.Invalid("registry.BuildPushSecret", errs); err != nil {
		return rep, fmt.Errorf("build push secret: %w", err)
	}
	secret := plan.secretName
	plan.serviceID = opts.ClusterName + "-" + opts.Project + "-push-id"
	plan.keyName = opts.ClusterName + "-" + opts.Project + "-push-key"
	plan.serviceIDDescription = fmt.Sprintf("Service ID for builds in project %s of cluster %s: Writer access to IBM Cloud Container Registry", opts.Project, opts.ClusterName)
	plan.keyDescription = fmt.Sprintf("API key for builds in project %s of cluster %s to push to IBM Cloud Container Registry", opts.Project, opts.ClusterName)
	plan.serviceAccount = "" // linked below for mount (and pull)

	wrap := func(err error) error {
		return fmt.Errorf("build push secret for %s/%s: %w", opts.Project, opts.BuildConfig, err)
	}
	rec := newRecorder(&rep, opts.WriteOptions)
	bcRef := opts.Project + "/" + opts.BuildConfig
	// A wrong BuildConfig must fail before a service ID, policy and key exist.
	if err := build.CheckBuildConfig(ctx, cluster.Builds, opts.Project, opts.BuildConfig); err != nil {
		return rep, wrap(rec.fail(ctx, "build config", bcRef, err))
	}
	if _, err := provision(ctx, cluster, iamClient, plan, rec); err != nil {
		return rep, wrap(err)
	}
	saRef := opts.Project + "/" + build.BuilderServiceAccount
	res, err := build.LinkBuilder(ctx, cluster.Kube, opts.Project, secret, build.LinkOptions{Mount: true, Pull: opts.Pull, WriteOptions: rec.lower()})
	switch {
	case err != nil && opts.DryRun && errors.Is(err, build.ErrNotFound) && secretMissing(ctx, cluster, opts.Project, secret):
		// The dry run created the secret only on paper, so there is
		// nothing to link yet; the real run links it.
		rec.add(ctx, Step{Name: "service account", Object: saRef, Action: registrykit.Updated, Reason: "dry run: would link " + secret + " (the secret this run would create)"})
	case err != nil:
		return rep, wrap(rec.fail(ctx, "service account", saRef, err))
	default:
		rec.add(ctx, stepOf("service account", saRef, res))
	}
	s := build.Secrets{Push: secret}
	if opts.Pull {
		s.Pull = secret
	}
	res, err = build.SetSecrets(ctx, cluster.Builds, opts.Project, opts.BuildConfig, s, rec.lower())
	if err != nil {
		return rep, wrap(rec.fail(ctx, "build config", bcRef, err))
	}
	rec.add(ctx, stepOf("build config", bcRef, res))
	return rep, nil
}

// secretMissing reports whether ns/name is known not to exist.
func secretMissing(ctx context.Context, cluster *Cluster, ns, name string) bool {
	_, err := cluster.Kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	return apierrors.IsNotFound(err)
}
