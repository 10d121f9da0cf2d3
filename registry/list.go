package registry

import (
	"cmp"
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

// listSecrets pages through a cluster-wide List of secrets with the field
// selector, keeps those keep accepts (fake clientsets ignore field
// selectors) and sorts them by namespace and name. An expired continue
// token restarts the listing.
func listSecrets(ctx context.Context, kube kubernetes.Interface, sel fields.Selector, keep func(*corev1.Secret) bool) ([]corev1.Secret, error) {
	opts := metav1.ListOptions{FieldSelector: sel.String(), Limit: pageSize}
	var out []corev1.Secret
	for {
		l, err := kube.CoreV1().Secrets("").List(ctx, opts)
		if apierrors.IsResourceExpired(err) && opts.Continue != "" {
			opts.Continue, out = "", nil
			continue
		}
		if err != nil {
			return nil, err
		}
		for i := range l.Items {
			if keep(&l.Items[i]) {
				out = append(out, l.Items[i])
			}
		}
		if l.Continue == "" {
			break
		}
		opts.Continue = l.Continue
	}
	slices.SortFunc(out, func(a, b corev1.Secret) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
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
