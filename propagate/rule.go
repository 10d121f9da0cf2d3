package propagate

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/internal/valid"
	"github.com/registrykit/registrykit/pullsecret"
)

// DefaultServiceAccount is the service account a Rule attaches its copy to
// when ServiceAccounts is nil.
const DefaultServiceAccount = "default"

// Rule is one source secret kept copied into a set of namespaces and
// attached to service accounts there.
//
// A namespace is selected when it is named in Namespaces, or when it
// matches Selector (every namespace when Selector is nil and Namespaces is
// empty) and no Exclude glob. Terminating namespaces are never selected,
// and neither is the source itself.
type Rule struct {
	// Name identifies the rule in metrics, Events and Outcomes. Empty means
	// the source as "<namespace>/<name>". Names are unique within a
	// Propagator.
	Name string
	// Source is the secret to copy, a kubernetes.io/dockerconfigjson or
	// kubernetes.io/dockercfg secret.
	Source types.NamespacedName
	// CopyName is the name of the copies; empty means Source.Name.
	CopyName string
	// Selector selects namespaces by label. Nil selects every namespace
	// when Namespaces is empty, and none beyond Namespaces otherwise.
	Selector labels.Selector
	// Namespaces are selected by name, whatever their labels and Exclude.
	Namespaces []string
	// Exclude are globs (path.Match syntax, e.g. "kube-*") of namespaces
	// that Selector does not select. Nil means pullsecret.DefaultExclude
	// (kube-*, openshift-*: the same default as pullsecret.Targets); an
	// empty, non-nil slice excludes nothing.
	Exclude []string
	// ServiceAccounts get the copy in their imagePullSecrets. Nil means
	// []string{"default"}; an empty, non-nil slice attaches to none.
	ServiceAccounts []string
	// Adoption says what to do with a same-named secret in a target that
	// registrykit did not make. The zero value leaves it alone.
	Adoption pullsecret.Adoption
	// Prune deletes the copies this rule made or adopted from namespaces
	// that leave the selection (relabelled, newly excluded), after removing
	// them from the service accounts' imagePullSecrets. Without Prune they
	// stay. Copies are never deleted because the source is missing.
	Prune bool
	// Retired marks a rule being removed: it selects no namespace, so with
	// Prune every copy it made or adopted is detached and deleted; without
	// Prune nothing is done. Keep a retired rule until its copies are gone.
	Retired bool
	// Bearer, when set, puts the rule in refresher mode: the Propagator
	// writes Source itself, an iambearer credential renewed before it
	// expires, and copies it only while its token is valid. See Bearer.
	Bearer *Bearer
	// InternalRegistry, when set, puts the rule in builder mode: the
	// Propagator writes Source itself from a service account's rotated
	// internal-registry token. See InternalRegistry. It excludes Bearer.
	InternalRegistry *InternalRegistry
}

// name returns the rule's identity.
func (r Rule) name() string {
	if r.Name != "" {
		return r.Name
	}
	return r.Source.String()
}

func (r Rule) copyName() string {
	if r.CopyName != "" {
		return r.CopyName
	}
	return r.Source.Name
}

func (r Rule) serviceAccounts() []string {
	if r.ServiceAccounts == nil {
		return []string{DefaultServiceAccount}
	}
	return r.ServiceAccounts
}

// validate reports every problem of the rule at path p.
func (r Rule) validate(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, registrykit.ValidateNamespace(p.Child("source", "namespace"), r.Source.Namespace)...)
	errs = append(errs, registrykit.ValidateName(p.Child("source", "name"), r.Source.Name)...)
	if r.CopyName != "" {
		errs = append(errs, registrykit.ValidateName(p.Child("copyName"), r.CopyName)...)
	}
	for i, ns := range r.Namespaces {
		errs = append(errs, registrykit.ValidateNamespace(p.Child("namespaces").Index(i), ns)...)
	}
	errs = append(errs, valid.Globs(p.Child("exclude"), r.Exclude)...)
	for i, sa := range r.ServiceAccounts {
		errs = append(errs, registrykit.ValidateName(p.Child("serviceAccounts").Index(i), sa)...)
	}
	errs = append(errs, r.Adoption.Validate(p.Child("adoption"))...)
	if r.Bearer != nil {
		errs = append(errs, r.Bearer.validate(p.Child("bearer"))...)
	}
	if r.InternalRegistry != nil {
		errs = append(errs, r.InternalRegistry.validate(&r, p.Child("internalRegistry"))...)
		if r.Bearer != nil {
			errs = append(errs, field.Forbidden(p.Child("internalRegistry"), "a rule has at most one of bearer and internalRegistry"))
		}
	}
	return errs
}

// selection is a rule's verdict on one namespace.
type selection struct {
	selected bool
	// skip says why an unselected namespace is not served; SkipExcluded
	// for namespaces outside the selection (these are pruned),
	// SkipTerminating and SkipSourceNamespace for the others.
	skip registrykit.SkipReason
}

// selects decides whether the rule serves ns.
func (r Rule) selects(ns *corev1.Namespace) selection {
	switch {
	case terminating(&ns.ObjectMeta, ns.Status.Phase):
		return selection{skip: registrykit.SkipTerminating}
	case ns.Name == r.Source.Namespace && r.copyName() == r.Source.Name:
		return selection{skip: registrykit.SkipSourceNamespace}
	case r.Retired:
		return selection{skip: registrykit.SkipExcluded}
	case slices.Contains(r.Namespaces, ns.Name):
		return selection{selected: true}
	}
	if r.Selector == nil && len(r.Namespaces) > 0 {
		return selection{skip: registrykit.SkipExcluded}
	}
	if r.Selector != nil && !r.Selector.Matches(namespaceLabels{ns}) {
		return selection{skip: registrykit.SkipExcluded}
	}
	if pullsecret.ExcludedNamespace(ns.Name, r.Exclude) {
		return selection{skip: registrykit.SkipExcluded}
	}
	return selection{selected: true}
}

func terminating(m *metav1.ObjectMeta, phase corev1.NamespacePhase) bool {
	return m.DeletionTimestamp != nil || phase == corev1.NamespaceTerminating
}
