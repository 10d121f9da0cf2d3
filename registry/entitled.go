package registry

import (
	"context"
	"fmt"
	"time"

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
	var p problems
	p.cluster(cluster, "Kube")
	p.label("Namespace", ns)
	p.subdomain("SecretName", name)
	p.subdomain("ServiceAccount", sa)
	cfg, err := icr.EntitledConfig(entitlementKey.Reveal())
	if err != nil {
		p.add("entitlementKey", "", "required", icr.ErrEmptyCredential)
	}
	if err := p.err(); err != nil {
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
	res, err = pullsecret.AttachToServiceAccount(ctx, cluster.Kube, ns, sa, name, pullsecret.AttachOptions{WaitForServiceAccount: opts.WaitForServiceAccount, WriteOptions: popts})
	if err != nil {
		return rep, fmt.Errorf("entitled registry: %w", rec.fail(ctx, "service account", ns+"/"+sa, err))
	}
	rec.add(ctx, stepOf("service account", ns+"/"+sa, res))
	return rep, nil
}
