package pullsecret

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/internal/kubewrite"
)

// Annotations Copy writes on every copy.
const (
	// AnnotationCopiedFrom records the source as "<namespace>/<name>". A
	// target secret without it (or with another source) was not made by
	// this Copy and is left alone unless CopyOptions.Overwrite is set.
	AnnotationCopiedFrom = "registrykit.io/copied-from"
	// AnnotationContentHash is "sha256:<hex>" over the secret's type and
	// data. A rerun compares it (and the target's actual content) to skip
	// copies that are already current.
	AnnotationContentHash = "registrykit.io/content-hash"
)

// lastApplied is kubectl's annotation; it holds the whole object, data
// included, with the source namespace, so a copy must not carry it.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// CopyOptions tune Copy. The zero value copies under the source's name,
// leaves foreign secrets alone and writes 8 namespaces at a time.
type CopyOptions struct {
	// Name is the name of the copies; empty means the source's name.
	Name string
	// Overwrite replaces a target secret of the same name that Copy did not
	// make (no or another copied-from annotation). A target whose type
	// differs is deleted and re-created, since a secret's type is immutable.
	Overwrite bool
	// Concurrency bounds the writes in flight; zero means 8. The client's
	// QPS/Burst bound them too: client-go's default 5/10 makes 500 creates
	// take about 100 s, so set rest.Config.QPS/Burst (e.g. 100/200).
	Concurrency int
	registrykit.WriteOptions
}

// Validate reports every problem of o as field errors under path
// (nil for none). It does no I/O.
func (o CopyOptions) Validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if o.Name != "" {
		errs = append(errs, validName(path.Child("name"), o.Name)...)
	}
	return append(errs, notNegative(path.Child("concurrency"), o.Concurrency, o.Concurrency)...)
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
// Targets.All is set, and one cluster-wide paged List of secrets named like
// the copy (field selector metadata.name). If that List is forbidden (the
// caller may only read some namespaces), Copy reads each target with a GET
// before it writes: it never creates to find out whether a copy exists,
// since quota admission or a webhook can refuse a create before the server
// would answer AlreadyExists (a rerun in a namespace whose secret quota is
// used up must not fail when nothing needs writing).
//
// Per target: missing → Created; current (same type, data and hash, the
// source's labels exactly, its annotations among the copy's) → Unchanged;
// ours but stale → Updated; not ours → Skipped unless Overwrite;
// namespace terminating → Skipped; the source namespace itself (when not
// renamed) → Skipped. A missing namespace or a failed write is recorded in
// that namespace's Outcome and the others continue. A target of another
// type (or immutable) is deleted and created again; if that create fails,
// the Outcome's Result is Deleted and its error matches
// ErrDeletedNotRecreated: the namespace holds no such secret until a rerun.
//
// Errors before the first write (invalid input, missing source, a source
// that is not a pull secret, no target) are returned with an empty Report.
// Otherwise the returned error is Report.Err(): nil when no namespace failed.
func Copy(ctx context.Context, kube kubernetes.Interface, from types.NamespacedName, to Targets, opts CopyOptions) (Report, error) {
	name := opts.Name
	if name == "" {
		name = from.Name
	}
	errs := validNamespace(field.NewPath("from", "namespace"), from.Namespace)
	errs = append(errs, validName(field.NewPath("from", "name"), from.Name)...)
	errs = append(errs, to.Validate(field.NewPath("targets"))...)
	errs = append(errs, opts.Validate(nil)...)
	wrap := func(err error) error {
		return fmt.Errorf("copy secret %s/%s: %w", from.Namespace, from.Name, err)
	}
	if err := invalid("pullsecret.Copy", errs); err != nil {
		return Report{}, wrap(err)
	}

	src, err := kube.CoreV1().Secrets(from.Namespace).Get(ctx, from.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return Report{}, wrap(&NotFoundError{Kind: "secret", Namespace: from.Namespace, Name: from.Name, Err: err})
	}
	if err != nil {
		return Report{}, wrap(err)
	}
	if err := checkPullSecret(src); err != nil {
		return Report{}, wrap(err)
	}
	targets, err := to.resolve(ctx, kube)
	if err != nil {
		return Report{}, wrap(err)
	}

	existing, err := listSecrets(ctx, kube, metav1.NamespaceAll, nameSelector(name))
	listed := err == nil
	if apierrors.IsForbidden(err) {
		opts.Log().InfoContext(ctx, "pullsecret: cluster-wide secret list forbidden; reading each target before writing",
			slog.String("name", name))
	} else if err != nil {
		return Report{}, wrap(fmt.Errorf("list existing copies: %w", err))
	}
	byNS := map[string]*corev1.Secret{}
	for i := range existing {
		if existing[i].Name == name {
			byNS[existing[i].Namespace] = &existing[i]
		}
	}

	c := copier{kube: kube, from: from, name: name, src: src, opts: opts, hash: contentHash(src), listed: listed}
	rep := Report{Outcomes: make([]Outcome, len(targets))}
	forEach(ctx, len(targets), opts.Concurrency, func(ctx context.Context, i int) {
		tg := targets[i]
		o := Outcome{Namespace: tg.namespace}
		switch {
		case ctx.Err() != nil:
			o.Err = ctx.Err()
		case tg.namespace == from.Namespace && name == from.Name:
			o.Result = skip(ctx, opts.WriteOptions, registrykit.SkipSourceNamespace, "source namespace", slog.String("namespace", tg.namespace))
		case tg.skip != "":
			o.Result = skip(ctx, opts.WriteOptions, tg.skip, "namespace is terminating", slog.String("namespace", tg.namespace))
		case tg.missing:
			o.Err = &NotFoundError{Kind: "namespace", Name: tg.namespace}
		default:
			o.Result, o.Err = c.copyTo(ctx, tg.namespace, byNS[tg.namespace])
		}
		if o.Err != nil {
			o.Err = fmt.Errorf("copy secret %s/%s to %s: %w", from.Namespace, from.Name, tg.namespace, o.Err)
		}
		rep.Outcomes[i] = o
	})
	return rep, rep.Err()
}

// checkPullSecret returns an error unless s is a parseable image pull secret
// that holds at least one registry.
func checkPullSecret(s *corev1.Secret) error {
	if s.Type != corev1.SecretTypeDockerConfigJson && s.Type != corev1.SecretTypeDockercfg {
		return &NotPullSecretError{Namespace: s.Namespace, Name: s.Name, Type: string(s.Type)}
	}
	cfg, err := dockerconfig.ParseSecret(string(s.Type), s.Data)
	if err != nil {
		return fmt.Errorf("secret %s/%s: %w", s.Namespace, s.Name, err)
	}
	if len(cfg.Auths) == 0 {
		return fmt.Errorf("secret %s/%s: %w", s.Namespace, s.Name, dockerconfig.ErrNoAuths)
	}
	return nil
}

type copier struct {
	kube kubernetes.Interface
	from types.NamespacedName
	name string
	src  *corev1.Secret
	hash string
	opts CopyOptions
	// listed: the cluster-wide List succeeded, so a target it did not
	// return holds no copy (as of the List) and is created without a GET.
	listed bool
}

// desired builds the copy for namespace: the source's type, data, labels
// and annotations; no server-set metadata. An update sets the copy's labels
// to exactly these and adds these annotations to the copy's own.
func (c *copier) desired(namespace string) *corev1.Secret {
	ann := maps.Clone(c.src.Annotations)
	if ann == nil {
		ann = map[string]string{}
	}
	delete(ann, lastApplied)
	ann[AnnotationCopiedFrom] = c.from.Namespace + "/" + c.from.Name
	ann[AnnotationContentHash] = c.hash
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        c.name,
			Namespace:   namespace,
			Labels:      maps.Clone(c.src.Labels),
			Annotations: ann,
		},
		Type: c.src.Type,
		Data: c.src.Data, // shared, read-only: byte-identical to the source
	}
}

// copyTo writes the copy into namespace. cur is the existing target from
// the List (nil: none seen); without a List, and on every retry, the target
// is read first.
func (c *copier) copyTo(ctx context.Context, namespace string, cur *corev1.Secret) (registrykit.Result, error) {
	secrets := c.kube.CoreV1().Secrets(namespace)
	attrs := []any{slog.String("secret", namespace+"/"+c.name)}
	fresh := c.listed // cur reflects what the List saw
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
		if cur == nil {
			_, err := secrets.Create(ctx, c.desired(namespace), c.opts.CreateOptions())
			switch {
			case err == nil:
				res = record(ctx, c.opts.WriteOptions, registrykit.Created, "copied from "+c.from.String(), attrs...)
				return nil
			case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
				res = skip(ctx, c.opts.WriteOptions, registrykit.SkipTerminating, "namespace is terminating", attrs...)
				return nil
			case apierrors.IsNotFound(err):
				return &NotFoundError{Kind: "namespace", Name: namespace, Err: err}
			default:
				return err // AlreadyExists: created after our List, re-read and reconcile
			}
		}
		var err error
		res, err = c.reconcile(ctx, secrets, cur)
		return err
	})
	return res, err
}

// reconcile brings an existing target in line with the source.
func (c *copier) reconcile(ctx context.Context, secrets interface {
	Update(context.Context, *corev1.Secret, metav1.UpdateOptions) (*corev1.Secret, error)
	Delete(context.Context, string, metav1.DeleteOptions) error
	Create(context.Context, *corev1.Secret, metav1.CreateOptions) (*corev1.Secret, error)
}, cur *corev1.Secret) (registrykit.Result, error) {
	attrs := []any{slog.String("secret", cur.Namespace+"/"+c.name)}
	origin := c.from.Namespace + "/" + c.from.Name
	ours := cur.Annotations[AnnotationCopiedFrom] == origin
	if !ours && !c.opts.Overwrite {
		why := "exists without " + AnnotationCopiedFrom
		if o := cur.Annotations[AnnotationCopiedFrom]; o != "" {
			why = "exists, copied from " + o
		}
		return skip(ctx, c.opts.WriteOptions, registrykit.SkipForeign, why+"; left alone (set Overwrite to replace it)", attrs...), nil
	}
	want := c.desired(cur.Namespace)
	if ours && cur.Annotations[AnnotationContentHash] == c.hash && contentHash(cur) == c.hash &&
		maps.Equal(cur.Labels, want.Labels) && hasAll(cur.Annotations, want.Annotations) && cur.Annotations[lastApplied] == "" {
		return record(ctx, c.opts.WriteOptions, registrykit.Unchanged, "copy is current", attrs...), nil
	}
	if cur.Type != want.Type || (cur.Immutable != nil && *cur.Immutable) {
		// Type and immutable data cannot be updated: replace, guarded by
		// preconditions so that we never delete a newer object.
		uid, rv := cur.UID, cur.ResourceVersion
		err := secrets.Delete(ctx, c.name, metav1.DeleteOptions{
			DryRun:        c.opts.DeleteOptions().DryRun,
			Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv},
		})
		if err != nil && !apierrors.IsNotFound(err) {
			return registrykit.Result{}, err
		}
		if _, err := secrets.Create(ctx, want, c.opts.CreateOptions()); err != nil && !(c.opts.DryRun && apierrors.IsAlreadyExists(err)) {
			// The namespace now holds no secret of that name: say so.
			res := record(ctx, c.opts.WriteOptions, registrykit.Deleted, fmt.Sprintf("replaced secret of type %s deleted; the copy was not created", cur.Type), attrs...)
			return res, fmt.Errorf("%w (old type %s): %w", ErrDeletedNotRecreated, cur.Type, err)
		}
		return record(ctx, c.opts.WriteOptions, registrykit.Updated, fmt.Sprintf("replaced (type %s or immutability cannot be updated)", cur.Type), attrs...), nil
	}
	upd := cur.DeepCopy()
	upd.Data = want.Data
	upd.Labels = maps.Clone(want.Labels) // the source's labels: a label removed there goes here too
	upd.Annotations = mergeMaps(upd.Annotations, want.Annotations)
	delete(upd.Annotations, lastApplied)
	if _, err := secrets.Update(ctx, upd, c.opts.UpdateOptions()); err != nil {
		return registrykit.Result{}, err
	}
	why := "content changed at source " + origin
	if ours && contentHash(cur) == c.hash {
		why = "labels or annotations differ from the source " + origin
	}
	if !ours {
		why = "overwritten (Overwrite set)"
	}
	return record(ctx, c.opts.WriteOptions, registrykit.Updated, why, attrs...), nil
}

// hasAll reports whether m holds every key of sub with the same value.
func hasAll(m, sub map[string]string) bool {
	for k, v := range sub {
		if w, ok := m[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func mergeMaps(base, overlay map[string]string) map[string]string {
	if base == nil && len(overlay) == 0 {
		return nil
	}
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, overlay)
	return out
}

// contentHash is "sha256:<hex>" over the secret's type and data, keys
// sorted, every field length-prefixed. It fingerprints the content; the
// credentials cannot be recovered from it.
func contentHash(s *corev1.Secret) string {
	h := sha256.New()
	field := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	field([]byte(s.Type))
	for _, k := range slices.Sorted(maps.Keys(s.Data)) {
		field([]byte(k))
		field(s.Data[k])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
