package pullsecret

import (
	"context"
	"fmt"
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/internal/kubewrite"
)

// DefaultConcurrency is the number of namespaces written in parallel when
// CopyOptions.Concurrency or ManyOptions.Concurrency is zero.
const DefaultConcurrency = 8

// Targets selects namespaces. The set is the union of Namespaces, the
// namespaces matching Selector, and every namespace if All is set. At least
// one must be given. Namespaces are listed (once, paged) only when Selector
// or All is set.
type Targets struct {
	// Namespaces names target namespaces explicitly. A missing one is
	// reported as a per-namespace error.
	Namespaces []string
	// Selector, if non-nil, adds the namespaces whose labels match it
	// (labels.Parse("team=a") builds one).
	Selector labels.Selector
	// All adds every namespace.
	All bool
}

// Validate reports every problem of t as field errors under path
// (nil for none). It does no I/O.
func (t Targets) Validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(t.Namespaces) == 0 && t.Selector == nil && !t.All {
		errs = append(errs, field.Required(path.Child("namespaces"), "give namespaces, selector or all"))
	}
	for i, ns := range t.Namespaces {
		errs = append(errs, validNamespace(path.Child("namespaces").Index(i), ns)...)
	}
	return errs
}

// target is one resolved namespace.
type target struct {
	namespace string
	skip      registrykit.SkipReason // non-empty: do not write, report Skipped
	missing   bool                   // known not to exist
}

// resolve turns Targets into a sorted, de-duplicated namespace list. It lists
// namespaces once when Selector or All is set; namespaces that are
// terminating are marked to be skipped.
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
			tg := &target{namespace: ns.Name}
			if ns.Status.Phase == corev1.NamespaceTerminating || ns.DeletionTimestamp != nil {
				tg.skip = registrykit.SkipTerminating
			}
			set[ns.Name] = tg
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
