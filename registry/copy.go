package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/pullsecret"
)

// CopyICROptions configure CopyICRSecret. At least one of Targets'
// Namespaces, Selector or All is required.
type CopyICROptions struct {
	// From is the source secret; empty fields mean default/all-icr-io.
	From types.NamespacedName
	// Targets choose the target namespaces, exactly as for pullsecret.Copy:
	// the union of Namespaces, the namespaces matching Selector and, with
	// All, every namespace; Selector and All leave out those matching
	// Exclude (nil: pullsecret.DefaultExclude, kube-* and openshift-*).
	pullsecret.Targets
	// Name of the copies; empty means the source's name.
	Name string
	// Adoption says what happens to a same-named secret that registrykit
	// did not copy (pullsecret.Adoption): left in place by default — the
	// namespace's step is Skipped with registrykit.SkipForeign, a warning,
	// and its service account is not given the secret;
	// pullsecret.AdoptForeign takes over a pull secret for the same
	// registries (what the guide's manual copy made) and attaches it;
	// pullsecret.OverwriteForeign takes over any.
	Adoption pullsecret.Adoption
	// ServiceAccount in each target namespace that gets the copy in its
	// imagePullSecrets; empty means "default".
	ServiceAccount string
	// WaitForServiceAccount, if positive, waits that long for a missing
	// service account in a new project.
	WaitForServiceAccount time.Duration
	// Concurrency bounds the writes in flight; zero means 8.
	Concurrency int
	// OnStep, if set, is called with every Step as it is recorded (a
	// progress line per namespace on long copies). Calls do not overlap;
	// steps done in parallel come in completion order, while the Report
	// has them sorted.
	OnStep func(Step)
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
	errs = append(errs, o.Targets.Validate(path)...)
	errs = append(errs, o.copyOptions().Validate(path)...)
	return append(errs, o.attachOptions().Validate(path)...)
}

func (o CopyICROptions) copyOptions() pullsecret.CopyOptions {
	return pullsecret.CopyOptions{Name: o.Name, Adoption: o.Adoption, Concurrency: o.Concurrency}
}

func (o CopyICROptions) attachOptions() pullsecret.AttachOptions {
	return pullsecret.AttachOptions{WaitForServiceAccount: o.WaitForServiceAccount}
}

// CopyICRSecret copies the ICR pull secret (default/all-icr-io) to other
// namespaces with pullsecret.Copy and attaches each copy to the
// namespace's service account with pullsecret.AttachToServiceAccounts:
// the guide's "copy the all-icr-io secret to other projects" and "store the
// secret in the default service account" steps. The Report has one "secret"
// step per namespace and one "service account" step per namespace whose
// secret is the copy: created, updated, adopted or already current — and
// the source namespace itself, whose secret is the original.
//
// A namespace that holds a same-named secret registrykit did not copy is
// left alone unless opts.Adoption says otherwise: its secret step is
// Skipped with registrykit.SkipForeign and its service account is not
// given the secret. That is not an error, but not success either:
// Report.Warnings lists such steps and Report.String ends with them.
// A failed namespace does not stop the others; the returned error joins
// every failure.
func CopyICRSecret(ctx context.Context, cluster *Cluster, opts CopyICROptions) (Report, error) {
	var rep Report
	from := types.NamespacedName{Namespace: orDefault(opts.From.Namespace, DefaultNamespace), Name: orDefault(opts.From.Name, DefaultSecretName)}
	name := orDefault(opts.Name, from.Name)
	sa := orDefault(opts.ServiceAccount, DefaultServiceAccount)
	if err := registrykit.Invalid("registry.CopyICRSecret", append(opts.Validate(nil), clusterErrs(cluster, kubeClient)...)); err != nil {
		return rep, fmt.Errorf("copy ICR secret: %w", err)
	}
	rec := newRecorder(&rep, opts.WriteOptions)
	rec.onStep = opts.OnStep
	wrap := func(err error) error { return fmt.Errorf("copy secret %s: %w", from, err) }

	// Each namespace's step is recorded (logged, reported to OnStep) as
	// soon as Copy knows it; the Report gets them sorted afterwards.
	var attach []string
	var errs []error
	copts := opts.copyOptions()
	copts.WriteOptions = rec.lower()
	copts.OnOutcome = func(o pullsecret.Outcome) {
		ref := o.Namespace + "/" + name
		switch {
		case o.Err != nil:
			rec.add(ctx, Step{Name: "secret", Object: ref, Err: o.Err})
			errs = append(errs, o.Err)
		case o.Result.Action != registrykit.Skipped || o.Result.Skip == registrykit.SkipSourceNamespace:
			rec.add(ctx, stepOf("secret", ref, o.Result))
			attach = append(attach, o.Namespace)
		default:
			s := stepOf("secret", ref, o.Result)
			if o.Result.Skip == registrykit.SkipForeign {
				s.Reason += "; not attached to service account " + sa
			}
			rec.add(ctx, s)
		}
	}
	start := len(rep.Steps)
	cr, err := pullsecret.Copy(ctx, cluster.Kube, from, opts.Targets, copts)
	if err != nil && len(cr.Outcomes) == 0 {
		return rep, wrap(rec.fail(ctx, "secret", from.String(), err))
	}
	rec.sortFrom(start)
	if len(attach) > 0 {
		aopts := opts.attachOptions()
		aopts.WriteOptions = rec.lower()
		start := len(rep.Steps)
		ar, err := pullsecret.AttachToServiceAccounts(ctx, cluster.Kube, sa, name, pullsecret.Targets{Namespaces: attach},
			pullsecret.ManyOptions{Concurrency: opts.Concurrency, AttachOptions: aopts, OnOutcome: func(o pullsecret.Outcome) {
				ref := o.Namespace + "/" + sa
				if o.Err != nil {
					rec.add(ctx, Step{Name: "service account", Object: ref, Err: o.Err})
					errs = append(errs, o.Err)
					return
				}
				rec.add(ctx, stepOf("service account", ref, o.Result))
			}})
		if err != nil && len(ar.Outcomes) == 0 {
			errs = append(errs, rec.fail(ctx, "service account", sa, err))
		}
		rec.sortFrom(start)
	}
	if err := errors.Join(errs...); err != nil {
		return rep, wrap(err)
	}
	return rep, nil
}
