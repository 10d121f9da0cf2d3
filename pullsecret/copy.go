package pullsecret

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/internal/kubewrite"
	"github.com/registrykit/registrykit/internal/redact"
	"github.com/registrykit/registrykit/internal/valid"
)

// Annotations Copy writes on every copy.
const (
	// AnnotationCopiedFrom records the source as "<namespace>/<name>". A
	// target secret without it (or with another source) was not made by
	// this Copy and is left alone unless CopyOptions.Adoption says
	// otherwise.
	AnnotationCopiedFrom = "registrykit.io/copied-from"
	// AnnotationContentHash is ContentHash of the source the copy was
	// written from: "sha256:<hex>" over the type and data. It tells that a
	// copy is current without reading its data (see DecideCopy).
	AnnotationContentHash = "registrykit.io/content-hash"
)

// CopyOptions tune Copy. The zero value copies under the source's name,
// leaves foreign secrets alone and writes 8 namespaces at a time.
type CopyOptions struct {
	// Name is the name of the copies; empty means the source's name.
	Name string
	// Adoption says what to do with a same-named secret that Copy did not
	// make (no or another copied-from annotation): leave it (the default,
	// reported Skipped with registrykit.SkipForeign, a warning), adopt it
	// when it is a pull secret for the same registries (AdoptForeign), or
	// overwrite it (OverwriteForeign). A target whose type differs is
	// deleted and re-created, since a secret's type is immutable.
	Adoption Adoption
	// Concurrency bounds the writes in flight; zero means 8. The client's
	// QPS/Burst bound them too: client-go's default 5/10 makes 500 creates
	// take about 100 s, so set rest.Config.QPS/Burst (e.g. 100/200).
	Concurrency int
	// OnOutcome, if set, is called with each namespace's Outcome as soon as
	// it is known (for a progress line per namespace). Calls do not overlap
	// but come in completion order, not namespace order; the Report has
	// them sorted. OnOutcome must not block for long: it holds up the
	// other namespaces' reports, not their writes.
	OnOutcome func(Outcome)
	registrykit.WriteOptions
}

// Validate reports every problem of o as field errors under path
// (nil for none). It does no I/O.
func (o CopyOptions) Validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if o.Name != "" {
		errs = append(errs, registrykit.ValidateName(path.Child("name"), o.Name)...)
	}
	errs = append(errs, o.Adoption.Validate(path.Child("adoption"))...)
	return append(errs, valid.NotNegative(path.Child("concurrency"), o.Concurrency, o.Concurrency)...)
}

// Copy copies the image pull secret from to the target namespaces — what the
// guide does with `oc get secret -o yaml | sed s/default/<ns>/g | oc create
// -f -`, without rewriting data. The copy keeps the source's type
// (kubernetes.io/dockerconfigjson or the legacy kubernetes.io/dockercfg),
// data byte for byte, labels and annotations (except kubectl's
// last-applied-configuration); server-set metadata (uid, resourceVersion,
// creationTimestamp, managedFields, ownerReferences, finalizers) is dropped
// and only metadata.namespace changes. Copies carry AnnotationCopiedFrom and
// AnnotationContentHash.
//
// Reads: one GET of the source, one namespace List when Targets.Selector or
// Targets.All is set, and then what the decisions need, so that the cost
// grows with the targets, not with the copies the cluster already holds:
//
//   - Up to DirectReadTargets targets: one GET per target, no List. When
//     the targets are named (Targets.Namespaces only), these GETs are sent
//     together with the source's, so the reads before the writes take one
//     round trip; if one of them fails, every target is read again.
//   - More: one cluster-wide paged List of the secrets named like the copy
//     (field selector metadata.name), metadata only — derived from kube's
//     own REST client with the API server's PartialObjectMetadataList
//     form (what k8s.io/client-go/metadata does), so no secret data
//     crosses the wire. A copy whose metadata shows it current (its
//     AnnotationContentHash, labels and annotations; see DecideCopy) is
//     not read further; a stale or foreign one is read in full with a GET
//     before it is decided and written. A clientset without a REST client
//     (a fake) gets a List in full instead.
//   - If that List is forbidden (the caller may only read some
//     namespaces), each target is read with a GET.
//
// Copy never creates to find out whether a copy exists, since quota
// admission or a webhook can refuse a create before the server would
// answer AlreadyExists (a rerun in a namespace whose secret quota is used
// up must not fail when nothing needs writing). A data edit behind an
// intact content-hash annotation is not seen by the metadata path.
//
// Per target it reads, builds the desired copy (DesiredCopy), compares
// (DecideCopy, under CopyOptions.Adoption) and writes what that decided:
// missing → Created; current → Unchanged; ours but stale → Updated; a
// foreign secret → Skipped (registrykit.SkipForeign, listed by
// Report.Warnings) unless adopted; namespace terminating, or excluded
// (Targets.Exclude) → Skipped; the
// source namespace itself (when not renamed) → Skipped. A missing namespace
// or a failed write is recorded in that namespace's Outcome and the others
// continue. A target of another type (or immutable) is deleted and created
// again; if that create fails, the Outcome's Result is Deleted and its
// error matches ErrDeletedNotRecreated: the namespace holds no such secret
// until a rerun.
//
// Errors before the first write (invalid input, missing source, a source
// that is not a pull secret, no target) are returned with an empty Report.
// Otherwise the returned error is Report.Err(): nil when no namespace failed.
func Copy(ctx context.Context, kube kubernetes.Interface, from types.NamespacedName, to Targets, opts CopyOptions) (Report, error) {
	name := opts.Name
	if name == "" {
		name = from.Name
	}
	errs := registrykit.ValidateNamespace(field.NewPath("from", "namespace"), from.Namespace)
	errs = append(errs, registrykit.ValidateName(field.NewPath("from", "name"), from.Name)...)
	errs = append(errs, to.Validate(field.NewPath("targets"))...)
	errs = append(errs, opts.Validate(nil)...)
	wrap := func(err error) error {
		return fmt.Errorf("copy secret %s/%s: %w", redact.Userinfo(from.Namespace), redact.Userinfo(from.Name), err)
	}
	if err := invalid("pullsecret.Copy", errs); err != nil {
		return Report{}, wrap(err)
	}

	// A few named targets are read while the source is (see earlyReads).
	var early <-chan map[string]*corev1.Secret
	if to.Selector == nil && !to.All && len(to.Namespaces) <= DirectReadTargets {
		ectx, cancel := context.WithCancel(ctx)
		defer cancel()
		early = earlyReads(ectx, kube, name, to.Namespaces, opts.Concurrency)
	}

	src, err := kube.CoreV1().Secrets(from.Namespace).Get(ctx, from.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return Report{}, wrap(&NotFoundError{Kind: "secret", Namespace: from.Namespace, Name: from.Name, Err: err})
	}
	if err != nil {
		return Report{}, wrap(err)
	}
	if err := CheckSource(src); err != nil {
		return Report{}, wrap(err)
	}
	targets, err := to.resolve(ctx, kube)
	if err != nil {
		return Report{}, wrap(err)
	}

	c := copier{kube: kube, name: name, src: src, opts: opts}
	var byNS map[string]*corev1.Secret
	if early != nil {
		byNS = <-early
		c.listed = byNS != nil // nil: a read failed; every target is read again
	} else if byNS, err = c.readCopies(ctx, targets); err != nil {
		return Report{}, wrap(err)
	}
	rep := Report{Outcomes: make([]Outcome, len(targets))}
	var mu sync.Mutex // serialises OnOutcome
	forEach(ctx, len(targets), opts.Concurrency, func(ctx context.Context, i int) {
		tg := targets[i]
		o := Outcome{Namespace: tg.namespace}
		switch {
		case ctx.Err() != nil:
			o.Err = ctx.Err()
		case tg.skip != "":
			o.Result = skip(ctx, opts.WriteOptions, tg.skip, tg.why, slog.String("namespace", tg.namespace))
		case tg.missing:
			o.Err = &NotFoundError{Kind: "namespace", Name: tg.namespace}
		default:
			o.Result, o.Err = c.copyTo(ctx, tg.namespace, byNS[tg.namespace])
		}
		if o.Err != nil {
			o.Err = fmt.Errorf("copy secret %s/%s to %s: %w", from.Namespace, from.Name, tg.namespace, o.Err)
		}
		rep.Outcomes[i] = o
		if opts.OnOutcome != nil {
			mu.Lock()
			defer mu.Unlock()
			opts.OnOutcome(o)
		}
	})
	return rep, rep.Err()
}

type copier struct {
	kube kubernetes.Interface
	name string
	src  *corev1.Secret
	opts CopyOptions
	// listed: the cluster-wide List succeeded, so a target it did not
	// return holds no copy (as of the List) and is created without a GET.
	listed bool
	// metadataOnly: the List returned metadata only; a copy it shows
	// current is left alone, any other is read in full before deciding.
	metadataOnly bool
}

// DirectReadTargets is the number of target namespaces up to which Copy
// reads each target with a GET instead of listing the copies cluster-wide:
// a few GETs cost less than a List whose size grows with every copy in
// the cluster.
const DirectReadTargets = 16

// earlyReads GETs the secret name in each of namespaces, concurrently with
// the source's GET: with only a few named targets and no namespace List,
// the reads before the writes then take one round trip instead of two
// (the source, then the targets). It sends the secrets found, by
// namespace, or nil if any read failed other than with NotFound (a
// missing namespace answers NotFound too, and its create reports it).
// The reads are made even if the source turns out missing or invalid:
// reads only, at most DirectReadTargets of them.
func earlyReads(ctx context.Context, kube kubernetes.Interface, name string, namespaces []string, concurrency int) <-chan map[string]*corev1.Secret {
	out := make(chan map[string]*corev1.Secret, 1)
	go func() {
		found := make([]*corev1.Secret, len(namespaces))
		var failed atomic.Bool
		forEach(ctx, len(namespaces), concurrency, func(ctx context.Context, i int) {
			if ctx.Err() != nil {
				failed.Store(true)
				return
			}
			s, err := kube.CoreV1().Secrets(namespaces[i]).Get(ctx, name, metav1.GetOptions{})
			switch {
			case err == nil:
				found[i] = s
			case !apierrors.IsNotFound(err):
				failed.Store(true)
			}
		})
		if failed.Load() {
			out <- nil
			return
		}
		byNS := map[string]*corev1.Secret{}
		for i, s := range found {
			if s != nil {
				byNS[namespaces[i]] = s
			}
		}
		out <- byNS
	}()
	return out
}

// readCopies returns the copies that exist among the targets, by
// namespace. For more than DirectReadTargets targets it lists them
// cluster-wide by name, metadata only when kube can (a real clientset);
// a forbidden List, or few targets, leave each target to be read with a
// GET before it is written.
func (c *copier) readCopies(ctx context.Context, targets []target) (map[string]*corev1.Secret, error) {
	n := 0
	for _, tg := range targets {
		if tg.skip == "" && !tg.missing {
			n++
		}
	}
	if n <= DirectReadTargets {
		return nil, nil
	}
	byNS := map[string]*corev1.Secret{}
	meta, ok, err := listSecretMetadata(ctx, c.kube, nameSelector(c.name))
	if ok && err == nil {
		for i := range meta {
			if meta[i].Name == c.name {
				byNS[meta[i].Namespace] = &corev1.Secret{ObjectMeta: meta[i].ObjectMeta}
			}
		}
		c.listed, c.metadataOnly = true, true
		return byNS, nil
	}
	var existing []corev1.Secret
	if !ok {
		existing, err = listSecrets(ctx, c.kube, metav1.NamespaceAll, nameSelector(c.name))
	}
	switch {
	case apierrors.IsForbidden(err):
		c.opts.Log().InfoContext(ctx, "pullsecret: cluster-wide secret list forbidden; reading each target before writing",
			slog.String("name", c.name))
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("list existing copies: %w", err)
	}
	for i := range existing {
		if existing[i].Name == c.name {
			byNS[existing[i].Namespace] = &existing[i]
		}
	}
	c.listed = true
	return byNS, nil
}

// copyTo reads, decides and writes the copy in namespace. cur is the
// existing target from the List (nil: none seen); without a List, and on
// every retry, the target is read first.
func (c *copier) copyTo(ctx context.Context, namespace string, cur *corev1.Secret) (registrykit.Result, error) {
	want := DesiredCopy(c.src, types.NamespacedName{Namespace: namespace, Name: c.name})
	secrets := c.kube.CoreV1().Secrets(namespace)
	attrs := []any{slog.String("secret", namespace+"/"+c.name)}
	if d := DecideCopy(nil, want, c.opts.Adoption); d.Result.Action == registrykit.Skipped {
		return kubewrite.Record(ctx, c.opts.WriteOptions, "pullsecret", d.Result, attrs...), nil // the source itself: nothing to read
	}
	fresh := c.listed // cur reflects what the List saw
	if c.metadataOnly && cur != nil {
		// The metadata says whether the copy is current (its content
		// hash covers the type and data); anything else is read in full.
		cur = cur.DeepCopy()
		cur.Type = want.Type
		if d := DecideCopy(cur, want, c.opts.Adoption); d.Result.Action == registrykit.Unchanged {
			return kubewrite.Record(ctx, c.opts.WriteOptions, "pullsecret", d.Result, attrs...), nil
		}
		fresh = false
	}
	var res registrykit.Result
	retriable := func(err error) bool { return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) }
	err := retry.OnError(kubewrite.ConflictBackoff, retriable, func() error {
		if !fresh {
			got, err := secrets.Get(ctx, c.name, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
				cur = nil
			case err != nil:
				return err
			default:
				cur = got
			}
		}
		fresh = false
		var err error
		res, err = c.write(ctx, secrets, cur, DecideCopy(cur, want, c.opts.Adoption))
		if err == nil {
			res = kubewrite.Record(ctx, c.opts.WriteOptions, "pullsecret", res, attrs...)
		}
		return err
	})
	return res, err
}

// write carries out a decision about the current target cur. A Conflict or
// AlreadyExists error is retried by the caller with a fresh read.
func (c *copier) write(ctx context.Context, secrets interface {
	Update(context.Context, *corev1.Secret, metav1.UpdateOptions) (*corev1.Secret, error)
	Delete(context.Context, string, metav1.DeleteOptions) error
	Create(context.Context, *corev1.Secret, metav1.CreateOptions) (*corev1.Secret, error)
}, cur *corev1.Secret, d CopyDecision) (registrykit.Result, error) {
	switch {
	case d.Write == nil:
		return d.Result, nil
	case cur == nil:
		_, err := secrets.Create(ctx, d.Write, c.opts.CreateOptions())
		switch {
		case err == nil:
			return d.Result, nil
		case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
			return registrykit.Result{Action: registrykit.Skipped, Skip: registrykit.SkipTerminating, Reason: "namespace is terminating"}, nil
		case apierrors.IsNotFound(err):
			return registrykit.Result{}, &NotFoundError{Kind: "namespace", Name: d.Write.Namespace, Err: err}
		default:
			return registrykit.Result{}, err // AlreadyExists: created after our read, re-read and decide again
		}
	case d.Replace:
		// Guarded by preconditions, so that a newer object is never deleted.
		uid, rv := cur.UID, cur.ResourceVersion
		do := c.opts.DeleteOptions()
		do.Preconditions = &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}
		if err := secrets.Delete(ctx, c.name, do); err != nil && !apierrors.IsNotFound(err) {
			return registrykit.Result{}, err
		}
		if _, err := secrets.Create(ctx, d.Write, c.opts.CreateOptions()); err != nil && !(c.opts.DryRun && apierrors.IsAlreadyExists(err)) {
			// The namespace now holds no secret of that name: say so.
			res := kubewrite.Record(ctx, c.opts.WriteOptions, "pullsecret", registrykit.Result{Action: registrykit.Deleted,
				Reason: fmt.Sprintf("replaced secret of type %s deleted; the copy was not created", cur.Type)},
				slog.String("secret", cur.Namespace+"/"+c.name))
			return res, fmt.Errorf("%w (old type %s): %w", ErrDeletedNotRecreated, cur.Type, err)
		}
		return d.Result, nil
	default:
		if _, err := secrets.Update(ctx, d.Write, c.opts.UpdateOptions()); err != nil {
			return registrykit.Result{}, err
		}
		return d.Result, nil
	}
}
