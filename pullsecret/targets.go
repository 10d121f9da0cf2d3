package pullsecret

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/internal/kubewrite"
	"github.com/registrykit/registrykit/internal/valid"
)

// DefaultConcurrency is the number of namespaces written in parallel when
// CopyOptions.Concurrency or ManyOptions.Concurrency is zero.
const DefaultConcurrency = 8

// DefaultExclude are the namespace globs that Targets.All and
// Targets.Selector leave out when Targets.Exclude is nil: the system
// namespaces of Kubernetes and OpenShift, which run no workloads that pull
// from the user's registries (and kube-public and kube-node-lease refuse
// most writes). The propagate controller uses the same default.
var DefaultExclude = []string{"kube-*", "openshift-*"}

// ExcludedNamespace reports whether namespace matches one of the globs
// (path.Match syntax) of exclude; nil exclude means DefaultExclude, an
// empty non-nil one excludes nothing. A malformed glob matches nothing.
func ExcludedNamespace(namespace string, exclude []string) bool {
	if exclude == nil {
		exclude = DefaultExclude
	}
	for _, g := range exclude {
		if ok, _ := path.Match(g, namespace); ok {
			return true
		}
	}
	return false
}

// Targets selects namespaces. The set is the union of Namespaces, the
// namespaces matching Selector, and every namespace if All is set, less
// those of Selector and All that match Exclude. At least one must be given.
// Namespaces are listed (once, paged) only when Selector or All is set.
type Targets struct {
	// Namespaces names target namespaces explicitly, whatever Exclude says.
	// A missing one is reported as a per-namespace error.
	Namespaces []string
	// Selector, if non-nil, adds the namespaces whose labels match it
	// (labels.Parse("team=a") builds one).
	Selector labels.Selector
	// All adds every namespace.
	All bool
	// Exclude are globs (path.Match syntax, e.g. "kube-*") of namespaces
	// that Selector and All do not add. Nil means DefaultExclude; an empty,
	// non-nil slice excludes nothing (to include the system namespaces).
	// An excluded namespace is reported Skipped with
	// registrykit.SkipExcluded, so that a report shows what "all" left out.
	Exclude []string
}

// Validate reports every problem of t as field errors under path
// (nil for none). It does no I/O.
func (t Targets) Validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(t.Namespaces) == 0 && t.Selector == nil && !t.All {
		errs = append(errs, field.Required(path.Child("namespaces"), "give namespaces, selector or all"))
	}
	for i, ns := range t.Namespaces {
		errs = append(errs, registrykit.ValidateNamespace(path.Child("namespaces").Index(i), ns)...)
	}
	return append(errs, valid.Globs(path.Child("exclude"), t.Exclude)...)
}

// target is one resolved namespace.
type target struct {
	namespace string
	skip      registrykit.SkipReason // non-empty: do not write, report Skipped
	why       string                 // the Reason of the skip
	missing   bool                   // known not to exist
}

func (t Targets) excludedReason() string {
	if t.Exclude == nil {
		return "system namespace, excluded by default (" + strings.Join(DefaultExclude, ", ") +
			"); name it in Targets.Namespaces or set Targets.Exclude to include it"
	}
	return "excluded by Targets.Exclude (" + strings.Join(t.Exclude, ", ") + ")"
}

// resolve turns Targets into a sorted, de-duplicated namespace list. It lists
// namespaces once when Selector or All is set; namespaces that are
// terminating, and those the list adds that Exclude matches, are marked to
// be skipped.
func (t Targets) resolve(ctx context.Context, kube kubernetes.Interface) ([]target, error) {
	set := map[string]*target{}
	for _, ns := range t.Namespaces {
		set[ns] = &target{namespace: ns}
	}
	if t.Selector != nil || t.All {
		sel := ""
		if !t.All && !t.Selector.Empty() {
			sel = t.Selector.String()
		}
		list, err := listNamespaces(ctx, kube, sel)
		if err != nil {
			return nil, fmt.Errorf("list namespaces: %w", err)
		}
		listed := map[string]bool{}
		for i := range list {
			ns := &list[i]
			listed[ns.Name] = true
			tg, named := set[ns.Name] // named explicitly: never excluded
			if !named {
				tg = &target{namespace: ns.Name}
				set[ns.Name] = tg
			}
			switch {
			case ns.Status.Phase == corev1.NamespaceTerminating || ns.DeletionTimestamp != nil:
				tg.skip, tg.why = registrykit.SkipTerminating, "namespace is terminating"
			case !named && ExcludedNamespace(ns.Name, t.Exclude):
				tg.skip, tg.why = registrykit.SkipExcluded, t.excludedReason()
			}
		}
		if t.All || sel == "" {
			// The list was complete: an explicit name not in it is missing.
			for _, tg := range set {
				if !listed[tg.namespace] {
					tg.missing = true
				}
			}
		}
	}
	if len(set) == 0 {
		return nil, fmt.Errorf("%w: selector %q matched no namespace", ErrNoTargets, t.Selector)
	}
	out := make([]target, 0, len(set))
	for _, tg := range set {
		out = append(out, *tg)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].namespace < out[j].namespace })
	return out, nil
}

// forEach runs fn for every index in [0,n) with at most concurrency calls
// in flight. Once ctx is done, the remaining indexes get ctx's error through
// fn's caller (fn is still called so that it can record the outcome).
func forEach(ctx context.Context, n, concurrency int, fn func(ctx context.Context, i int)) {
	if concurrency <= 0 {
		concurrency = DefaultConcurrency
	}
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(ctx, i)
		}()
	}
	wg.Wait()
}

// record logs one decision through the shared write log and returns its
// Result.
func record(ctx context.Context, o registrykit.WriteOptions, a registrykit.Action, reason string, attrs ...any) registrykit.Result {
	return kubewrite.Record(ctx, o, "pullsecret", registrykit.Result{Action: a, Reason: reason}, attrs...)
}

// skip logs a Skipped decision with its typed reason and returns its Result.
func skip(ctx context.Context, o registrykit.WriteOptions, why registrykit.SkipReason, reason string, attrs ...any) registrykit.Result {
	return kubewrite.Record(ctx, o, "pullsecret", registrykit.Result{Action: registrykit.Skipped, Skip: why, Reason: reason}, attrs...)
}
