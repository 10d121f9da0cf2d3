package propagate

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/pullsecret"
)

// InternalRegistry puts a rule in builder mode: the Propagator writes the
// rule's source itself, the secret pullsecret.InternalRegistrySecret builds
// in Source.Namespace from the service account's "<sa>-dockercfg-*"
// secret (re-keyed to Host, named Source.Name), and builds it again
// whenever that changes: when OpenShift rotates the token (a new
// dockercfg secret the service account now references, or a new token in
// the same secret), when the service account's references change, and
// when someone edits or deletes the built secret. The copies follow the
// source as in any rule.
//
// While the service account or its dockercfg secret is missing, or holds
// no entry for the internal registry, the source is unusable: reported
// like a missing source (a SourceUnavailable Event, source_missing 1),
// and nothing is deleted.
type InternalRegistry struct {
	// ServiceAccount in Source.Namespace whose dockercfg secret holds the
	// token; empty means "default".
	ServiceAccount string
	// Host is the exposed registry route, "host" or "host:port"
	// (required), e.g. "default-route-openshift-image-registry.apps.example.com".
	Host string
}

// options are the one-shot call's options that build rule r's source.
func (ir *InternalRegistry) options(r *Rule, w registrykit.WriteOptions) pullsecret.InternalOptions {
	return pullsecret.InternalOptions{ServiceAccount: ir.serviceAccount(), Host: ir.Host, Name: r.Source.Name, WriteOptions: w}
}

func (ir *InternalRegistry) serviceAccount() string {
	if ir.ServiceAccount == "" {
		return DefaultServiceAccount
	}
	return ir.ServiceAccount
}

// validate checks ir with the one-shot call's own validation, so that
// both accept the same input.
func (ir *InternalRegistry) validate(r *Rule, p *field.Path) field.ErrorList {
	return ir.options(r, registrykit.WriteOptions{}).Validate(p)
}

// buildInformers adds, per namespace holding the source of a rule in
// builder mode, an informer of that namespace's kubernetes.io/dockercfg
// secrets (by field selector on the type): a rotation adds or changes one.
// The service account is watched by the service account informers.
func (p *Propagator) buildInternalInformers() error {
	seen := map[string]bool{}
	for _, r := range p.rules {
		if r.InternalRegistry == nil || r.Retired || seen[r.Source.Namespace] {
			continue
		}
		ns := r.Source.Namespace
		seen[ns] = true
		f := informers.NewSharedInformerFactoryWithOptions(p.kube, 0, informers.WithNamespace(ns),
			informers.WithTweakListOptions(func(o *metav1.ListOptions) {
				o.FieldSelector = fields.OneTermEqualSelector("type", string(corev1.SecretTypeDockercfg)).String()
			}),
			// The trigger needs no content: the build reads what it uses.
			informers.WithTransform(func(obj any) (any, error) {
				if s, ok := obj.(*corev1.Secret); ok {
					s.ManagedFields, s.Data, s.StringData = nil, nil, nil
				}
				return obj, nil
			}))
		inf := f.Core().V1().Secrets().Informer()
		h := func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if s, ok := obj.(*corev1.Secret); ok && s.Type == corev1.SecretTypeDockercfg {
				p.kickInternal(s.Namespace, "")
			}
		}
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    h,
			UpdateFunc: func(old, obj any) { h(obj) },
			DeleteFunc: h,
		}); err != nil {
			return fmt.Errorf("propagate: dockercfg secret informer: %w", err)
		}
		p.internalInf = append(p.internalInf, inf)
		p.factories = append(p.factories, f)
	}
	return nil
}

// kickInternal queues the build of every builder-mode rule whose source is
// in namespace (and, when sa is set, whose service account is sa).
func (p *Propagator) kickInternal(namespace, sa string) {
	for i, r := range p.rules {
		ir := r.InternalRegistry
		if ir == nil || r.Retired || r.Source.Namespace != namespace || (sa != "" && ir.serviceAccount() != sa) {
			continue
		}
		p.queue.Add(buildKey(i))
	}
}

// buildKey is the queue key of the building of rule i's source.
func buildKey(i int) key { return key{rule: i} }

// build writes rule k.rule's source from the service account's current
// dockercfg secret with pullsecret.InternalRegistrySecret: the one-shot
// call itself, so the controller and the call build the same secret. It
// reads the service account and the secret it references (rotations are
// rare) and writes only when the content changed. The write is seen by
// the source's informer, which brings every copy along.
func (p *Propagator) build(ctx context.Context, k key) error {
	r := &p.rules[k.rule]
	res, err := pullsecret.InternalRegistrySecret(ctx, p.kube, r.Source.Namespace, r.InternalRegistry.options(r, p.opts.WriteOptions))
	var status apierrors.APIStatus
	switch {
	case err == nil:
	case errors.Is(err, pullsecret.ErrNotFound) || !errors.As(err, &status):
		// Nothing to build from (yet): no service account, no dockercfg
		// secret, no internal-registry entry. Their informers bring the
		// build back; the copies are kept.
		p.internalFailed(k.rule, err)
		return nil
	case apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err):
		return errRequeue
	default:
		return p.failed(k, kindSecret, r.Source.Name, registrykit.Result{Action: registrykit.Failed, Reason: "build from the service account's dockercfg secret"}, err)
	}
	p.mu.Lock()
	p.built[k.rule] = true
	p.mu.Unlock()
	if res.Action != registrykit.Unchanged {
		res.Reason = "built from serviceaccount " + r.Source.Namespace + "/" + r.InternalRegistry.serviceAccount() + "'s dockercfg secret: " + res.Reason
		p.wrote(k, kindSecret, r.Source.Name, res)
	}
	return nil
}

// internalFailed reports a source that cannot be built as unusable.
func (p *Propagator) internalFailed(i int, err error) {
	p.mu.Lock()
	p.built[i] = true // from now on a missing source is worth reporting
	p.mu.Unlock()
	p.sourceMissing(i, "cannot be built: "+err.Error())
}

// quietInternal reports whether rule i's source is still to be built for
// the first time, so that its absence is expected.
func (p *Propagator) quietInternal(i int) bool {
	if p.rules[i].InternalRegistry == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.built[i]
}
