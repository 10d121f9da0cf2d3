package registry

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/icr"
	"github.com/registrykit/registrykit/internal/redact"
	"github.com/registrykit/registrykit/pullsecret"
)

// Defaults of the workflows' options.
const (
	DefaultNamespace      = "default"
	DefaultSecretName     = "all-icr-io"
	DefaultServiceAccount = "default"
)

// ApplyOptions configure ApplyClusterPullSecret. Only ClusterID is required.
type ApplyOptions struct {
	// ClusterID is the cluster's ID (or name): the service ID and the API key
	// are both named "cluster-<ClusterID>". Required; a DNS-1123 label.
	ClusterID string
	// Namespace of the pull secret; empty means "default".
	Namespace string
	// SecretName; empty means "all-icr-io".
	SecretName string
	// ServiceAccount that gets the secret in its imagePullSecrets; empty
	// means "default".
	ServiceAccount string
	// Regions scopes the Reader access: one policy per region (names or
	// aliases; icr.GlobalRegion is the global registry icr.io, written as
	// geography=global). Empty means what the CLI makes: one policy on
	// container-registry with no region or geography attribute, which covers
	// the global and every regional registry, including regions IBM adds
	// later, and spends one of the account's policies instead of 14.
	Regions []string
	// Domains in the secret; empty means the public and private domains of
	// Regions (every icr.io domain when Regions is empty).
	Domains []string
	// WaitForServiceAccount, if positive, waits that long for a missing
	// service account (OpenShift creates "default" shortly after a project).
	WaitForServiceAccount time.Duration
	// KeepExtraPolicies keeps the service ID's policies beyond the desired
	// ones. By default the service ID is converged like the CLI does it:
	// every policy that does not grant a desired access exactly (one
	// someone narrowed to a region, scoped otherwise, made conditional, or
	// on another service) is deleted after the desired ones exist, each a
	// step. A policy on exactly the desired resource that grants more roles
	// than asked is kept: IAM refuses a second policy for the same role and
	// resource, and replacing it would interrupt access. Only the cluster's
	// own service ID is ever read or changed.
	KeepExtraPolicies bool
	// PruneUnmarkedKeys lets the run delete unused keys of the service ID
	// that registrykit did not make (no iam.Marker in their description:
	// made by hand, by the CLI, or by a release before the marker). By
	// default only keys registrykit made are deleted.
	PruneUnmarkedKeys bool
	// WriteOptions: DryRun sends no IAM write (IAM is only read; the Report
	// says what would be created) and sends every Kubernetes write with
	// dryRun=All. FieldManager names the writer of every Kubernetes write.
	// Logger receives one record per step; nil means silent; no record
	// contains a credential.
	registrykit.WriteOptions
}

// ServiceIDName returns the name of the service ID (and of the API key) that
// ApplyClusterPullSecret uses for a cluster: "cluster-<clusterID>".
func ServiceIDName(clusterID string) string { return "cluster-" + clusterID }

// Validate reports every problem of o as field errors under path (nil for
// none). It does no I/O.
func (o ApplyOptions) Validate(path *field.Path) field.ErrorList {
	_, errs := o.plan(path)
	return errs
}

// clusterNames validates what ApplyOptions and RemoveOptions both name
// (the cluster, whose service ID is "cluster-<clusterID>", and the secret
// and service account of the cluster pull secret) and resolves the
// defaults, so that teardown finds exactly what provisioning made.
func clusterNames(path *field.Path, clusterID, namespace, secretName, serviceAccount string) (ns, secret, sa string, errs field.ErrorList) {
	errs = validLabel(path.Child("clusterID"), clusterID)
	if clusterID != "" && len(ServiceIDName(clusterID)) > 100 {
		errs = append(errs, field.Invalid(path.Child("clusterID"), redact.Userinfo(clusterID), "service ID name would exceed 100 characters"))
	}
	ns = orDefault(namespace, DefaultNamespace)
	errs = append(errs, validLabel(path.Child("namespace"), ns)...)
	secret = orDefault(secretName, DefaultSecretName)
	errs = append(errs, validSubdomain(path.Child("secretName"), secret)...)
	sa = orDefault(serviceAccount, DefaultServiceAccount)
	errs = append(errs, validSubdomain(path.Child("serviceAccount"), sa)...)
	return ns, secret, sa, errs
}

func (o ApplyOptions) plan(path *field.Path) (provisionPlan, field.ErrorList) {
	ns, secret, sa, errs := clusterNames(path, o.ClusterID, o.Namespace, o.SecretName, o.ServiceAccount)
	errs = append(errs, validRegions(path.Child("regions"), o.Regions)...)
	errs = append(errs, validDomains(path.Child("domains"), o.Domains)...)
	errs = append(errs, pullsecret.AttachOptions{WaitForServiceAccount: o.WaitForServiceAccount}.Validate(path)...)
	if len(errs) > 0 {
		return provisionPlan{}, errs
	}
	domains := o.Domains
	if len(domains) == 0 {
		domains, _ = icr.Domains(icr.DomainOptions{Regions: o.Regions})
	}
	accesses := registryAccesses(iam.Reader, o.Regions, "")
	name := ServiceIDName(o.ClusterID)
	return provisionPlan{
		serviceID:            name,
		serviceIDDescription: fmt.Sprintf("Service ID for cluster %s access to IBM Cloud Container Registry", o.ClusterID),
		accesses:             accesses,
		keyName:              name,
		keyDescription:       fmt.Sprintf("API key for cluster %s access to IBM Cloud Container Registry", o.ClusterID),
		namespace:            ns,
		secretName:           secret,
		domains:              domains,
		serviceAccount:       sa,
		waitForSA:            o.WaitForServiceAccount,
		keepExtraPolicies:    o.KeepExtraPolicies,
		pruneUnmarked:        o.PruneUnmarkedKeys,
		write:                o.WriteOptions,
	}, nil
}

// ApplyClusterPullSecret does what `ibmcloud oc cluster pull-secret apply`
// does for a cluster:
//
//  1. service ID "cluster-<ClusterID>" (found by exact name, else created;
//     its description carries iam.Marker);
//  2. exactly the desired policies: one Reader policy on container-registry
//     with no region attribute (it covers every region, as the CLI's does),
//     or one per region of ApplyOptions.Regions; missing ones are created,
//     then every other policy of the service ID is deleted unless
//     KeepExtraPolicies;
//  3. an API key "cluster-<ClusterID>" (described with iam.Marker) — unless
//     the existing secret already holds a key that IAM says is valid, not
//     locked, and owned by that service ID: then that key is reused (Action
//     Reused) and none is minted. At IAM's limit of 20 keys per identity it
//     first deletes the keys registrykit made that no pull secret holds; if
//     that frees none, it fails before minting with an error matching
//     iam.ErrKeyLimit;
//  4. the kubernetes.io/dockerconfigjson secret default/all-icr-io with
//     username iamapikey for every domain (pullsecret.Apply);
//  5. the secret in the imagePullSecrets of the default service account
//     (pullsecret.AttachToServiceAccount);
//  6. once the key is in place: the other keys of the service ID that
//     registrykit made (iam.Marker; any key with PruneUnmarkedKeys) and that
//     no image pull secret in the cluster holds (of either type) are
//     deleted, so re-mints (a lost secret, a disabled key) do not pile up
//     keys. Finding them takes a listing of the service ID's keys and, only
//     when there is such a key, a cluster-wide List of pull secrets per type
//     (field selector on type) and an IAM lookup per key value not known
//     yet. Without the right to list secrets cluster-wide (an optional RBAC
//     rule) the keys stay and a warning step says so.
//
// Every step is in the Report. If a step fails after a key was minted and
// before the secret holds it, the key is deleted before returning (also when
// ctx has ended), so no key is left that nothing uses; a rerun converges.
// Options are validated before any call and every problem is reported at
// once (errors matching ErrInvalid).
//
// It does not copy the secret to other namespaces (see CopyICRSecret).
func ApplyClusterPullSecret(ctx context.Context, cluster *Cluster, iamClient *iam.Client, opts ApplyOptions) (Report, error) {
	plan, errs := opts.plan(nil)
	return runIAMWorkflow(cluster, iamClient, errs, plan.write, "registry.ApplyClusterPullSecret", "apply cluster pull secret", "for cluster "+opts.ClusterID,
		func(rec *recorder) error { _, err := provision(ctx, cluster, iamClient, plan, rec); return err })
}

// runIAMWorkflow is the body of the credential workflows, provisioning
// and teardown: check the plan and the clients (every problem at once,
// before any call), then run. Errors start with what, and once past
// validation name the object too.
func runIAMWorkflow(cluster *Cluster, iamClient *iam.Client, planErrs field.ErrorList, write registrykit.WriteOptions, call, what, object string,
	run func(*recorder) error) (Report, error) {
	var rep Report
	errs := append(planErrs, clusterErrs(cluster, kubeClient)...)
	if iamClient == nil {
		errs = append(errs, field.Required(field.NewPath("iamClient"), ""))
	}
	if err := registrykit.Invalid(call, errs); err != nil {
		return rep, fmt.Errorf("%s: %w", what, err)
	}
	if err := run(newRecorder(&rep, write)); err != nil {
		return rep, fmt.Errorf("%s %s: %w", what, object, err)
	}
	return rep, nil
}
