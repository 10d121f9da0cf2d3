package registry

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/icr"
	"github.com/registrykit/registrykit/pullsecret"
)

// DefaultEntitledSecretName is the secret EntitledRegistry writes unless told.
const DefaultEntitledSecretName = "entitled-cp-icr-io"

// EntitledOptions configure EntitledRegistry.
type EntitledOptions struct {
	// Namespace of the secret; empty means "default".
	Namespace string
	// SecretName; empty means "entitled-cp-icr-io".
	SecretName string
	// ServiceAccount that gets the secret in its imagePullSecrets; empty
	// means "default".
	ServiceAccount string
	// WaitForServiceAccount, if positive, waits that long for a missing
	// service account.
	WaitForServiceAccount time.Duration
	// WriteOptions: DryRun sends every write with dryRun=All. FieldManager
	// names the writer of every Kubernetes write. Logger receives one record
	// per step; nil means silent; no record contains a credential.
	registrykit.WriteOptions
}

// Validate reports every problem of o as field errors under path (nil for
// none). It does no I/O.
func (o EntitledOptions) Validate(path *field.Path) field.ErrorList {
	errs := validLabel(path.Child("namespace"), orDefault(o.Namespace, DefaultNamespace))
	errs = append(errs, validSubdomain(path.Child("secretName"), orDefault(o.SecretName, DefaultEntitledSecretName))...)
	errs = append(errs, validSubdomain(path.Child("serviceAccount"), orDefault(o.ServiceAccount, DefaultServiceAccount))...)
	return append(errs, pullsecret.AttachOptions{WaitForServiceAccount: o.WaitForServiceAccount}.Validate(path)...)
}

// EntitledRegistry writes the pull secret for the IBM Cloud entitled
// registry cp.icr.io (username "cp", the entitlement key as password) and
// attaches it to the service account: the guide's "set up access to
// entitled software" step. The key is validated as non-empty; it is not
// checked against the registry.
func EntitledRegistry(ctx context.Context, cluster *Cluster, entitlementKey iam.Secret, opts EntitledOptions) (Report, error) {
	var rep Report
	ns := orDefault(opts.Namespace, DefaultNamespace)
	name := orDefault(opts.SecretName, DefaultEntitledSecretName)
	sa := orDefault(opts.ServiceAccount, DefaultServiceAccount)
	errs := append(opts.Validate(nil), clusterErrs(cluster, kubeClient)...)
	cfg, err := icr.EntitledConfig(entitlementKey.Reveal())
	if err != nil {
		errs = append(errs, field.Required(field.NewPath("entitlementKey"), "")) // never the key itself
	}
	if err := registrykit.Invalid("registry.EntitledRegistry", errs); err != nil {
		return rep, fmt.Errorf("entitled registry: %w", err)
	}
	rec := newRecorder(&rep, opts.WriteOptions)
	popts := rec.lower()
	ref := ns + "/" + name
	res, err := pullsecret.Apply(ctx, cluster.Kube, ns, name, cfg, popts)
	if err != nil {
		return rep, fmt.Errorf("entitled registry: %w", rec.fail(ctx, "secret", ref, err))
	}
	rec.add(ctx, stepOf("secret", ref, res))
	res, err = pullsecret.AttachToServiceAccount(ctx, cluster.Kube, types.NamespacedName{Namespace: ns, Name: sa}, name, pullsecret.AttachOptions{WaitForServiceAccount: opts.WaitForServiceAccount, WriteOptions: popts})
	if err != nil {
		return rep, fmt.Errorf("entitled registry: %w", rec.fail(ctx, "service account", ns+"/"+sa, err))
	}
	rec.add(ctx, stepOf("service account", ns+"/"+sa, res))
	return rep, nil
}
