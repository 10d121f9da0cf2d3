package registry

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/icr"
	"github.com/registrykit/registrykit/pullsecret"
)

// ProjectOptions configure ProjectCredentials. ClusterName and Project are
// required.
type ProjectOptions struct {
	// ClusterName and Project name the service ID "<cluster>-<project>-id"
	// and the API key "<cluster>-<project>-key". DNS-1123 labels.
	ClusterName string
	Project     string
	// Role on container-registry: iam.Reader (the default), iam.Writer or
	// iam.Manager.
	Role string
	// Regions the access covers, one policy per region (names or aliases,
	// icr.GlobalRegion for icr.io). Empty means one policy without a region
	// attribute, which covers every region (including ones IBM adds later).
	Regions []string
	// RegistryNamespace limits the policies to one registry namespace;
	// empty means every namespace.
	RegistryNamespace string
	// Domains in the pull secret; empty means the public and private
	// domains of Regions.
	Domains []string
	// SecretName; empty means "<project>-icr-io".
	SecretName string
	// ServiceAccount of the project that gets the secret in its
	// imagePullSecrets; empty means "default".
	ServiceAccount string
	// WaitForServiceAccount, if positive, waits that long for a missing
	// service account (a new project's "default" appears shortly after it).
	WaitForServiceAccount time.Duration
	// KeepExtraPolicies and PruneUnmarkedKeys: as in ApplyOptions. By
	// default the project's service ID holds exactly the asked-for policies
	// and unused keys that registrykit made are deleted.
	KeepExtraPolicies bool
	PruneUnmarkedKeys bool
	// WriteOptions: DryRun sends no IAM write and every Kubernetes write with
	// dryRun=All.
	// FieldManager names the writer of every Kubernetes write. Logger receives
	// one record per step; nil means silent; no record contains a credential.
	registrykit.WriteOptions
}

// ProjectServiceIDName and ProjectKeyName return the names ProjectCredentials
// uses: "<cluster>-<project>-id" and "<cluster>-<project>-key".
func ProjectServiceIDName(cluster, project string) string { return cluster + "-" + project + "-id" }

// ProjectKeyName: see ProjectServiceIDName.
func ProjectKeyName(cluster, project string) string { return cluster + "-" + project + "-key" }

// Validate reports every problem of o as field errors under path (nil for
// none). It does no I/O.
func (o ProjectOptions) Validate(path *field.Path) field.ErrorList {
	_, errs := o.plan(path)
	return errs
}

func (o ProjectOptions) plan(path *field.Path) (provisionPlan, field.ErrorList) {
	errs := validLabel(path.Child("clusterName"), o.ClusterName)
	errs = append(errs, validLabel(path.Child("project"), o.Project)...)
	errs = append(errs, validRegions(path.Child("regions"), o.Regions)...)
	errs = append(errs, validDomains(path.Child("domains"), o.Domains)...)
	secret := orDefault(o.SecretName, o.Project+"-icr-io")
	if o.Project != "" {
		errs = append(errs, validSubdomain(path.Child("secretName"), secret)...)
	}
	sa := orDefault(o.ServiceAccount, DefaultServiceAccount)
	errs = append(errs, validSubdomain(path.Child("serviceAccount"), sa)...)
	errs = append(errs, pullsecret.AttachOptions{WaitForServiceAccount: o.WaitForServiceAccount}.Validate(path)...)
	role := orDefault(o.Role, iam.Reader)
	for _, fe := range (iam.Access{Role: role, Namespace: o.RegistryNamespace}).Validate(path) {
		if fe.Field == path.Child("namespace").String() {
			fe.Field = path.Child("registryNamespace").String() // iam's name; here "namespace" is Kubernetes'
		}
		errs = append(errs, fe)
	}
	accesses := registryAccesses(role, o.Regions, o.RegistryNamespace)
	if len(errs) > 0 {
		return provisionPlan{}, errs
	}
	domains := o.Domains
	if len(domains) == 0 {
		domains, _ = icr.Domains(icr.DomainOptions{Regions: o.Regions})
	}
	return provisionPlan{
		serviceID: ProjectServiceIDName(o.ClusterName, o.Project),
		serviceIDDescription: fmt.Sprintf("Service ID for project %s of cluster %s: %s access to IBM Cloud Container Registry",
			o.Project, o.ClusterName, role),
		accesses:          accesses,
		keyName:           ProjectKeyName(o.ClusterName, o.Project),
		keyDescription:    fmt.Sprintf("API key for project %s of cluster %s access to IBM Cloud Container Registry", o.Project, o.ClusterName),
		namespace:         o.Project,
		secretName:        secret,
		domains:           domains,
		serviceAccount:    sa,
		waitForSA:         o.WaitForServiceAccount,
		keepExtraPolicies: o.KeepExtraPolicies,
		pruneUnmarked:     o.PruneUnmarkedKeys,
		write:             o.WriteOptions,
	}, nil
}

// ProjectCredentials is the guide's "different IAM API key credentials"
// flow for one project: a service ID "<cluster>-<project>-id" described as
// naming the cluster and project, one container-registry policy with the
// role (Reader by default) and optional registry namespace — for every
// region, or one per region of ProjectOptions.Regions — an API key
// "<cluster>-<project>-key", a pull secret in the project for the chosen
// domains (username iamapikey), attached to the project's default service
// account (or ServiceAccount).
//
// Like ApplyClusterPullSecret, a rerun reuses the secret's key if IAM says it
// is valid and belongs to the service ID, a key minted by a failed run is
// deleted before returning, the service ID is converged to exactly the
// asked-for policies (unless KeepExtraPolicies), unused keys registrykit made
// are deleted once the new key is in place, and the key limit fails before
// minting (iam.ErrKeyLimit).
func ProjectCredentials(ctx context.Context, cluster *Cluster, iamClient *iam.Client, opts ProjectOptions) (Report, error) {
	plan, errs := opts.plan(nil)
	return runIAMWorkflow(cluster, iamClient, errs, plan.write, "registry.ProjectCredentials", "project credentials", "for "+opts.ClusterName+"/"+opts.Project,
		func(rec *recorder) error { _, err := provision(ctx, cluster, iamClient, plan, rec); return err })
}
