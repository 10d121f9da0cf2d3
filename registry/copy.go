package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/pullsecret"
)

// CopyICROptions configure CopyICRSecret. At least one of Namespaces,
// Selector or All is required.
type CopyICROptions struct {
	// From is the source secret; empty fields mean default/all-icr-io.
	From types.NamespacedName
	// Namespaces, Selector and All choose the target namespaces (their
	// union), as pullsecret.Targets.
	Namespaces []string
	Selector   labels.Selector
	All        bool
	// Name of the copies; empty means the source's name.
	Name string
	// Overwrite replaces same-named secrets that Copy did not make.
	Overwrite bool
	// ServiceAccount in each target namespace that gets the copy in its
	// imagePullSecrets; empty means "default".
	ServiceAccount string
	// WaitForServiceAccount, if positive, waits that long for a missing
	// service account in a new project.
	WaitForServiceAccount time.Duration
	// Concurrency bounds the writes in flight; zero means 8.
	Concurrency int
	// WriteOptions: DryRun sends every write with dryRun=All. FieldManager
	// names the writer of every Kubernetes write. Logger receives one record
	// per step; nil means silent; no record contains a credential.
	registrykit.WriteOptions
}

// Validate reports every problem of o as field errors under path (nil for
// none). It does no I/O.
func (o CopyICROptions) Validate(path *field.Path) field.ErrorList {
	errs := validLabel(path.Child("from", "namespace"), orDefault(o.From.Namespace, DefaultNamespace))
	errs = append(errs, validSubdomain(path.Child("from", "name"), orDefault(o.From.Name, DefaultSecretName))...)
	errs = append(errs, validSubdomain(path.Child("serviceAccount"), orDefault(o.ServiceAccount, DefaultServiceAccount))...)
	errs = append(errs, o.targets().Validate(path)...)
	errs = append(errs, o.copyOptions().Validate(path)...)
	return append(errs, o.attachOptions().Validate(path)...)
}

func (o CopyICROptions) targets() pullsecret.Targets {
	return pullsecret.Targets{Namespaces: o.Namespaces, Selector: o.Selector, All: o.All}
}

func (o CopyICROptions) copyOptions() pullsecret.CopyOptions {
	return pullsecret.CopyOptions{Name: o.Name, Overwrite: o.Overwrite, Concurrency: o.Concurrency}
}

func (o CopyICROptions) attachOptions() pullsecret.AttachOptions {
	return pullsecret.AttachOptions{WaitForServiceAccount: o.WaitForServiceAccount}
}

// CopyICRSecret copies the ICR pull secret (default/all-icr-io) to other
// namespaces with pullsecret.Copy and attaches each copy to the
// namespace's service account with pullsecret.AttachToServiceAccounts:
// the guide's "copy the all-icr-io secret to other projects" and "store the
// secret in the default service account" steps. The Report has one "secret"
// and one "service account" step per namespace. A namespace whose copy
// failed or was skipped is not attached — except the source namespace
// itself, whose secret is the original and is attached there too; a failed
// namespace does not stop the others, and the returned error joins every
// failure.
func CopyICRSecret(ctx context.Context, cluster *Cluster, opts CopyICROptions) (Report, error) {
	var rep Report
	from := types.NamespacedName{Namespace: orDefault(opts.From.Namespace, DefaultNamespace), Name: orDefault(opts.From.Name, DefaultSecretName)}
	name := orDefault(opts.Name, from.Name)
	sa := orDefault(opts.ServiceAccount, DefaultServiceAccount)
	if err := registrykit.Invalid("registry.CopyICRSecret", append(opts.Validate(nil), clusterErrs(cluster, kubeClient)...)); err != nil {
		return rep, fmt.Errorf("copy ICR secret: %w", err)
	}
	rec := newRecorder(&rep, opts.WriteOptions)
	popts := rec.lower()
	wrap := func(err error) error { return fmt.Errorf("copy secret %s: %w", from, err) }

	copts := opts.copyOptions()
	copts.WriteOptions = popts
	cr, err := pullsecret.Copy(ctx, cluster.Kube, from, opts.targets(), copts)
	if err != nil && len(cr.Outcomes) == 0 {
		return rep, wrap(rec.fail(ctx, "secret", from.String(), err))
	}
	var attach []string
	var errs []error
	for _, o := range cr.Outcomes {
		ref := o.Namespace + "/" + name
		if o.Err != nil {
			rec.add(ctx, Step{Name: "secret", Object: ref, Err: o.Err})
			errs = append(errs, o.Err)
			continue
		}
		rec.add(ctx, stepOf("secret", ref, o.Result))
		if o.Result.Action != registrykit.Skipped || o.Namespace == from.Namespace && name == from.Name {
			attach = append(attach, o.Namespace)
		}
	}
	if len(attach) > 0 {
		aopts := opts.attachOptions()
		aopts.WriteOptions = popts
		ar, err := pullsecret.AttachToServiceAccounts(ctx, cluster.Kube, sa, name, pullsecret.Targets{Namespaces: attach},
			pullsecret.ManyOptions{Concurrency: opts.Concurrency, AttachOptions: aopts})
		if err != nil && len(ar.Outcomes) == 0 {
			errs = append(errs, rec.fail(ctx, "service account", sa, err))
		}
		for _, o := range ar.Outcomes {
			ref := o.Namespace + "/" + sa
			if o.Err != nil {
				rec.add(ctx, Step{Name: "service account", Object: ref, Err: o.Err})
				errs = append(errs, o.Err)
				continue
			}
			rec.add(ctx, stepOf("service account", ref, o.Result))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return rep, wrap(err)
	}
	return rep, nil
}
