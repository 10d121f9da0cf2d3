package registry

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

const pageSize = 500

// secretsNamed lists every secret called name in the cluster with one paged
// List (field selector metadata.name), sorted by namespace. The name is
// checked again on the client, because fake clientsets ignore field
// selectors.
func secretsNamed(ctx context.Context, kube kubernetes.Interface, name string) ([]corev1.Secret, error) {
	opts := metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String(), Limit: pageSize}
	var out []corev1.Secret
	for {
		l, err := kube.CoreV1().Secrets("").List(ctx, opts)
		if apierrors.IsResourceExpired(err) && opts.Continue != "" {
			opts.Continue, out = "", nil
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list secrets named %s: %w", name, err)
		}
		for _, s := range l.Items {
			if s.Name == name {
				out = append(out, s)
			}
		}
		if l.Continue == "" {
			break
		}
		opts.Continue = l.Continue
	}
	slices.SortFunc(out, func(a, b corev1.Secret) int {
		if a.Namespace < b.Namespace {
			return -1
		}
		if a.Namespace > b.Namespace {
			return 1
		}
		return 0
	})
	return out, nil
}

// namespaceSet resolves explicit names and a selector to a set; nil means
// every namespace.
func namespaceSet(ctx context.Context, kube kubernetes.Interface, names []string, sel labels.Selector, all bool) (map[string]bool, error) {
	if all || (len(names) == 0 && sel == nil) {
		return nil, nil
	}
	set := map[string]bool{}
	for _, n := range names {
		set[n] = true
	}
	if sel != nil {
		opts := metav1.ListOptions{LabelSelector: sel.String(), Limit: pageSize}
		for {
			l, err := kube.CoreV1().Namespaces().List(ctx, opts)
			if err != nil {
				return nil, fmt.Errorf("list namespaces %q: %w", sel.String(), err)
			}
			for _, ns := range l.Items {
				if sel.Matches(labels.Set(ns.Labels)) {
					set[ns.Name] = true
				}
			}
			if l.Continue == "" {
				break
			}
			opts.Continue = l.Continue
		}
	}
	return set, nil
}
