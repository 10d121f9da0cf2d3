package registry

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/registrykit/registrykit/internal/pager"
	"github.com/registrykit/registrykit/pullsecret"
)

// secretsNamed lists every secret called name in the cluster with one paged
// List (field selector metadata.name), sorted by namespace. The name is
// checked again on the client, because fake clientsets ignore field
// selectors.
func secretsNamed(ctx context.Context, kube kubernetes.Interface, name string) ([]corev1.Secret, error) {
	out, err := listSecrets(ctx, kube, fields.OneTermEqualSelector("metadata.name", name), func(s *corev1.Secret) bool { return s.Name == name })
	if err != nil {
		return nil, fmt.Errorf("list secrets named %s: %w", name, err)
	}
	return out, nil
}

// pullSecrets lists every image pull secret in the cluster — type
// kubernetes.io/dockerconfigjson and the legacy kubernetes.io/dockercfg,
// both of which the kubelet reads — sorted by namespace and name: where the
// keys of a service ID can be in use. Field selectors cannot express "either
// type", so it is one paged List per type, each with a field selector on
// type (the API server filters; the Secrets of every other type are never
// sent). Only entries with username iamapikey are ever looked at (apiKeysIn),
// so the service account tokens in OpenShift's dockercfg secrets are never
// sent to IAM.
func pullSecrets(ctx context.Context, kube kubernetes.Interface) ([]corev1.Secret, error) {
	var out []corev1.Secret
	for _, t := range []corev1.SecretType{corev1.SecretTypeDockerConfigJson, corev1.SecretTypeDockercfg} {
		l, err := listSecrets(ctx, kube, fields.OneTermEqualSelector("type", string(t)),
			func(s *corev1.Secret) bool { return s.Type == t })
		if err != nil {
			return nil, fmt.Errorf("list %s secrets: %w", t, err)
		}
		out = append(out, l...)
	}
	slices.SortFunc(out, func(a, b corev1.Secret) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out, nil
}

// listSecrets lists every secret of the cluster with the field selector
// (pager.All), keeps those keep accepts (fake clientsets ignore field
// selectors) and sorts them by namespace and name.
func listSecrets(ctx context.Context, kube kubernetes.Interface, sel fields.Selector, keep func(*corev1.Secret) bool) ([]corev1.Secret, error) {
	all, err := pager.All(ctx, metav1.ListOptions{FieldSelector: sel.String()}, kube.CoreV1().Secrets("").List,
		func(l *corev1.SecretList) []corev1.Secret { return l.Items })
	if err != nil {
		return nil, err
	}
	out := slices.DeleteFunc(all, func(s corev1.Secret) bool { return !keep(&s) })
	slices.SortFunc(out, func(a, b corev1.Secret) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out, nil
}

// namespaceSet resolves the Namespaces and Selector of t to a set of
// namespaces (listing namespaces only for a Selector); nil means every
// namespace (All). Exclude is left to the caller.
func namespaceSet(ctx context.Context, kube kubernetes.Interface, t pullsecret.Targets) (map[string]bool, error) {
	if t.All {
		return nil, nil
	}
	set := map[string]bool{}
	for _, n := range t.Namespaces {
		set[n] = true
	}
	if sel := t.Selector; sel != nil {
		l, err := pager.All(ctx, metav1.ListOptions{LabelSelector: sel.String()}, kube.CoreV1().Namespaces().List,
			func(l *corev1.NamespaceList) []corev1.Namespace { return l.Items })
		if err != nil {
			return nil, fmt.Errorf("list namespaces %q: %w", sel.String(), err)
		}
		for _, ns := range l {
			if sel.Matches(labels.Set(ns.Labels)) {
				set[ns.Name] = true
			}
		}
	}
	return set, nil
}
