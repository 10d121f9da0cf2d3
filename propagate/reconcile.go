package propagate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/pullsecret"
)

// Outcome is one decision about one object, as reported to
// Options.OnOutcome.
type Outcome struct {
	// Rule is the rule's name.
	Rule string
	// Kind is "Secret" or "ServiceAccount".
	Kind string
	// Namespace and Name name the object.
	Namespace, Name string
	// Result is the action taken (for a failure, the action attempted).
	Result registrykit.Result
	// Err is the failure, if any; it names the object and never holds
	// secret data.
	Err error
}

// Object returns "<namespace>/<name>".
func (o Outcome) Object() string { return o.Namespace + "/" + o.Name }

// String formats the outcome as "<action> <kind> <namespace>/<name>
// (<reason>)", with the error when it failed.
func (o Outcome) String() string {
	s := string(o.Result.Action) + " " + o.Kind + " " + o.Object()
	if o.Result.Reason != "" {
		s += " (" + o.Result.Reason + ")"
	}
	if o.Err != nil {
		s += ": " + o.Err.Error()
	}
	return s
}

// errRequeue marks a write that lost a race with a newer object than the
// cache held (Conflict, AlreadyExists): the reconcile runs again once the
// informer has caught up. It is not a failure.
var errRequeue = errors.New("cache was stale; requeued")

const (
	kindSecret         = "Secret"
	kindServiceAccount = "ServiceAccount"
)

// reconcile brings one namespace in line with one rule, reading only the
// informers' caches (a full GET only for a foreign copy that may be
// adopted) and writing each object at most once.
func (p *Propagator) reconcile(ctx context.Context, k key) error {
	if k == buildKey(k.rule) {
		return p.build(ctx, key{k.rule, p.rules[k.rule].Source.Namespace})
	}
	r := &p.rules[k.rule]
	ns := getNamespace(p.nsInf, k.namespace)
	if ns == nil {
		p.donePending(k, false)
		return nil // deleted: its copies went with it
	}
	sel := r.selects(ns)
	if !sel.selected {
		p.donePending(k, false)
		if sel.skip == registrykit.SkipExcluded && r.Prune {
			return p.prune(ctx, k, r)
		}
		return nil
	}
	src, _ := p.getCopy(p.secrets[r.Source.Name], r.Source.Namespace, r.Source.Name)
	if src == nil {
		p.sourceMissing(k.rule, "not found")
		return nil // copies are kept
	}
	if err := pullsecret.CheckSource(src); err != nil {
		p.sourceMissing(k.rule, "is unusable: "+err.Error())
		return nil
	}
	if why := p.bearerUnusable(k.rule, src); why != "" {
		p.sourceMissing(k.rule, why)
		return nil // the renewed source enqueues every namespace again
	}
	p.sourcePresent(k.rule)

	name := r.copyName()
	want := pullsecret.DesiredCopy(src, types.NamespacedName{Namespace: k.namespace, Name: name})
	cur, err := p.currentCopy(ctx, k, r, want)
	if err != nil {
		return err
	}
	d := pullsecret.DecideCopy(cur, want, r.Adoption)
	if err := p.applyCopy(ctx, k, cur, d); err != nil {
		return err
	}
	if d.Result.Action == registrykit.Skipped {
		p.donePending(k, false)
		return nil // not ours: attach nothing
	}

	attached := true
	for _, saName := range r.serviceAccounts() {
		sa := getServiceAccount(p.sas[saName], k.namespace, saName)
		if sa == nil {
			attached = false // its creation will bring us back
			continue
		}
		upd, changed := pullsecret.WithImagePullSecret(sa, name)
		if !changed {
			continue
		}
		res := registrykit.Result{Action: registrykit.Updated, Reason: "added " + name + " to imagePullSecrets"}
		got, err := p.kube.CoreV1().ServiceAccounts(k.namespace).Update(ctx, upd, p.opts.UpdateOptions())
		switch {
		case err == nil:
			p.sawWrite(p.sas[saName], got, p.serviceAccountTransform)
			p.wrote(k, kindServiceAccount, saName, res)
		case apierrors.IsConflict(err) || apierrors.IsNotFound(err):
			return errRequeue
		default:
			return p.failed(k, kindServiceAccount, saName, res, err)
		}
	}
	if attached {
		p.donePending(k, true)
	}
	return nil
}

// currentCopy returns the copy namespace k holds (nil: none) as
// pullsecret.DecideCopy needs it. The cache holds a copy without its data
// but with the fingerprint of that data: a copy whose fingerprint is the
// desired content hash gets the source's data back (it holds exactly
// that); one whose fingerprint differs carries the fingerprint as its
// AnnotationContentHash, the hash of what it really holds, so that a copy
// whose data was edited behind its annotation is not judged current. A
// secret that AdoptForeign may take over is read in full, since adoption
// depends on its data.
func (p *Propagator) currentCopy(ctx context.Context, k key, r *Rule, want *corev1.Secret) (*corev1.Secret, error) {
	name := want.Name
	cur, fingerprint := p.getCopy(p.secrets[name], k.namespace, name)
	switch hash := want.Annotations[pullsecret.AnnotationContentHash]; {
	case cur == nil || fingerprint == "":
		return cur, nil // none, or a source of another rule: its data is cached
	case fingerprint == hash:
		cur.Data = want.Data
		return cur, nil
	case r.Adoption == pullsecret.AdoptForeign && cur.Annotations[pullsecret.AnnotationCopiedFrom] == "":
		live, err := p.kube.CoreV1().Secrets(k.namespace).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil, errRequeue
		case err != nil:
			return nil, p.failed(k, kindSecret, name, registrykit.Result{Action: registrykit.Failed, Reason: "read foreign secret"}, err)
		}
		return live, nil
	default:
		if cur.Annotations == nil {
			cur.Annotations = map[string]string{}
		}
		cur.Annotations[pullsecret.AnnotationContentHash] = fingerprint
		return cur, nil
	}
}

// applyCopy writes what d says.
func (p *Propagator) applyCopy(ctx context.Context, k key, cur *corev1.Secret, d pullsecret.CopyDecision) error {
	name := p.rules[k.rule].copyName()
	secrets := p.kube.CoreV1().Secrets(k.namespace)
	res := d.Result
	if d.Write == nil {
		if res.Action == registrykit.Skipped {
			p.report(k, kindSecret, name, res, nil)
			p.event(&corev1.ObjectReference{Kind: kindSecret, APIVersion: "v1", Namespace: k.namespace, Name: name},
				corev1.EventTypeWarning, "ForeignSecret", fmt.Sprintf("rule %s: %s", p.rules[k.rule].name(), res.Reason))
		} else {
			p.log.DebugContext(ctx, "propagate: copy is current", slog.String("secret", k.namespace+"/"+name))
		}
		return nil
	}
	var (
		got *corev1.Secret
		err error
	)
	switch {
	case cur == nil:
		got, err = secrets.Create(ctx, d.Write, p.opts.CreateOptions())
		if apierrors.IsAlreadyExists(err) {
			return errRequeue
		}
	case d.Replace:
		uid, rv := cur.UID, cur.ResourceVersion
		err = secrets.Delete(ctx, name, metav1.DeleteOptions{DryRun: p.opts.DeleteOptions().DryRun,
			Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return errRequeue
		}
		if err == nil {
			p.metrics.writes.WithLabelValues(p.rules[k.rule].name(), "secret", "deleted").Inc()
			got, err = secrets.Create(ctx, d.Write, p.opts.CreateOptions())
			if err != nil && !(p.opts.DryRun && apierrors.IsAlreadyExists(err)) {
				err = fmt.Errorf("deleted the old secret to change its type, then create failed (the namespace has no copy until the retry): %w", err)
			} else {
				err = nil
			}
		}
	default:
		got, err = secrets.Update(ctx, d.Write, p.opts.UpdateOptions())
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return errRequeue
		}
	}
	switch {
	case err == nil:
		if got != nil {
			p.sawWrite(p.secrets[name], got, p.secretTransform)
		}
		p.wrote(k, kindSecret, name, res)
		return nil
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		p.report(k, kindSecret, name, registrykit.Result{Action: registrykit.Skipped, Skip: registrykit.SkipTerminating, Reason: "namespace is terminating"}, nil)
		return nil
	case apierrors.IsNotFound(err):
		return nil // the namespace is gone
	default:
		return p.failed(k, kindSecret, name, res, err)
	}
}

// prune detaches and deletes the rule's copy in a namespace that left the
// selection, if the copy is ours (made or adopted by this rule).
func (p *Propagator) prune(ctx context.Context, k key, r *Rule) error {
	name := r.copyName()
	if k.namespace == r.Source.Namespace && name == r.Source.Name {
		return nil // never the source
	}
	cur, _ := p.getCopy(p.secrets[name], k.namespace, name)
	if cur == nil || cur.Annotations[pullsecret.AnnotationCopiedFrom] != r.Source.String() {
		return nil // none, or not ours: never touched
	}
	why := "namespace left the selection"
	if r.Retired {
		why = "rule retired"
	}
	for _, saName := range r.serviceAccounts() {
		sa := getServiceAccount(p.sas[saName], k.namespace, saName)
		if sa == nil {
			continue
		}
		upd, changed := pullsecret.WithoutImagePullSecret(sa, name)
		if !changed {
			continue
		}
		res := registrykit.Result{Action: registrykit.Updated, Reason: "removed " + name + " from imagePullSecrets: " + why}
		got, err := p.kube.CoreV1().ServiceAccounts(k.namespace).Update(ctx, upd, p.opts.UpdateOptions())
		switch {
		case err == nil:
			p.sawWrite(p.sas[saName], got, p.serviceAccountTransform)
			p.wrote(k, kindServiceAccount, saName, res)
		case apierrors.IsConflict(err) || apierrors.IsNotFound(err):
			return errRequeue
		default:
			return p.failed(k, kindServiceAccount, saName, res, err)
		}
	}
	uid, rv := cur.UID, cur.ResourceVersion
	res := registrykit.Result{Action: registrykit.Deleted, Reason: why}
	err := p.kube.CoreV1().Secrets(k.namespace).Delete(ctx, name, metav1.DeleteOptions{DryRun: p.opts.DeleteOptions().DryRun,
		Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
	switch {
	case err == nil:
		p.wrote(k, kindSecret, name, res)
		return nil
	case apierrors.IsNotFound(err):
		return nil
	case apierrors.IsConflict(err):
		return errRequeue // changed since the cache saw it: decide again
	default:
		return p.failed(k, kindSecret, name, res, err)
	}
}

// sawWrite shows a written object to the store, so that the next reconcile
// does not decide from the older one. A dry run's answer is not stored.
func (p *Propagator) sawWrite(st *store, obj runtime.Object, transform cache.TransformFunc) {
	if p.opts.DryRun || obj == nil || st == nil {
		return
	}
	st.wrote(obj, transform)
}

// wrote records a successful write.
func (p *Propagator) wrote(k key, kind, name string, res registrykit.Result) {
	if p.opts.DryRun && res.Reason != "" {
		res.Reason += " (dry run: not persisted)"
	}
	p.metrics.writes.WithLabelValues(p.rules[k.rule].name(), metricKind(kind), string(res.Action)).Inc()
	p.report(k, kind, name, res, nil)
}

// attempted names the write that failed, by the action it was to take:
// an error says "create secret …", not "created secret …".
var attempted = map[registrykit.Action]string{
	registrykit.Created: "create",
	registrykit.Updated: "update",
	registrykit.Deleted: "delete",
}

// failed records a failed write or read and returns the error to retry.
func (p *Propagator) failed(k key, kind, name string, res registrykit.Result, err error) error {
	verb, ok := attempted[res.Action]
	if !ok {
		verb = "reconcile"
	}
	err = fmt.Errorf("%s %s %s/%s for rule %s: %w", verb, metricKind(kind), k.namespace, name, p.rules[k.rule].name(), err)
	p.metrics.errors.WithLabelValues(p.rules[k.rule].name(), metricKind(kind)).Inc()
	p.report(k, kind, name, registrykit.Result{Action: registrykit.Failed, Reason: res.Reason}, err)
	p.event(&corev1.ObjectReference{Kind: "Namespace", APIVersion: "v1", Name: k.namespace},
		corev1.EventTypeWarning, "PropagateFailed", err.Error())
	return err
}

func metricKind(kind string) string {
	if kind == kindServiceAccount {
		return "serviceaccount"
	}
	return "secret"
}

// report logs one decision and hands it to OnOutcome.
func (p *Propagator) report(k key, kind, name string, res registrykit.Result, err error) {
	o := Outcome{Rule: p.rules[k.rule].name(), Kind: kind, Namespace: k.namespace, Name: name, Result: res, Err: err}
	level := slog.LevelInfo
	if err != nil || res.NeedsAttention() {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{slog.String("rule", o.Rule), slog.String("action", string(res.Action)),
		slog.String(metricKind(kind), o.Object()), slog.String("reason", res.Reason)}
	if res.Skip != "" {
		attrs = append(attrs, slog.String("skip", string(res.Skip)))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	p.log.LogAttrs(context.Background(), level, "propagate: "+string(res.Action), attrs...)
	if p.opts.OnOutcome != nil {
		p.opts.OnOutcome(o)
	}
}

// event records a Kubernetes Event, once the recorder exists.
func (p *Propagator) event(ref *corev1.ObjectReference, typ, reason, msg string) {
	if p.recorder != nil {
		p.recorder.Event(ref, typ, reason, msg)
	}
}

// sourceMissing notes that rule i's source is missing or invalid: one
// Warning Event and error count per transition, and the gauge set. Nothing
// is deleted.
func (p *Propagator) sourceMissing(i int, why string) {
	p.mu.Lock()
	prev, was := p.missing[i]
	p.missing[i] = why
	p.mu.Unlock()
	if was && prev == why {
		return
	}
	r := p.rules[i]
	p.metrics.sourceMissing.WithLabelValues(r.name()).Set(1)
	if p.quietMissing(i) || p.quietInternal(i) {
		return
	}
	p.metrics.errors.WithLabelValues(r.name(), "source").Inc()
	msg := fmt.Sprintf("rule %s: source secret %s %s; copies are kept and nothing is deleted", r.name(), r.Source, why)
	p.log.Warn("propagate: source unusable", slog.String("rule", r.name()), slog.String("source", r.Source.String()), slog.String("reason", why))
	p.event(&corev1.ObjectReference{Kind: kindSecret, APIVersion: "v1", Namespace: r.Source.Namespace, Name: r.Source.Name},
		corev1.EventTypeWarning, "SourceUnavailable", msg)
	if p.opts.OnOutcome != nil {
		p.opts.OnOutcome(Outcome{Rule: r.name(), Kind: kindSecret, Namespace: r.Source.Namespace, Name: r.Source.Name,
			Result: registrykit.Result{Action: registrykit.Skipped, Skip: registrykit.SkipNotFound, Reason: "source " + why + "; copies kept"}})
	}
}

func (p *Propagator) sourcePresent(i int) {
	p.mu.Lock()
	_, was := p.missing[i]
	delete(p.missing, i)
	p.mu.Unlock()
	if was {
		p.metrics.sourceMissing.WithLabelValues(p.rules[i].name()).Set(0)
	}
}

// donePending ends the wait of a namespace created while running; when it
// converged, the time since its creation is observed.
func (p *Propagator) donePending(k key, converged bool) {
	p.mu.Lock()
	created, ok := p.pending[k]
	delete(p.pending, k)
	p.mu.Unlock()
	if ok && converged && !p.opts.DryRun {
		p.metrics.attached.WithLabelValues(p.rules[k.rule].name()).Observe(time.Since(created).Seconds())
	}
}
