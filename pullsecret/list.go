package pullsecret

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
)

// pageSize is the List chunk size. It is twice kubectl's and client-go's
// 500 because the server returns a continue token whenever a page is full
// and more keys follow, even if none of them match: with 500, copying to
// exactly 500 namespaces would cost a second, empty page per List. Up to
// 999 matching objects, a List here is one request.
const pageSize = 1000

// listPages follows continue tokens until the list is complete. If a token
// expires (410 Gone) mid-way, it starts over once with an unpaged list, as
// client-go's pager does.
func listPages[T any](ctx context.Context, opts metav1.ListOptions, page func(context.Context, metav1.ListOptions) ([]T, string, error)) ([]T, error) {
	opts.Limit = pageSize
	var all []T
	for {
		items, cont, err := page(ctx, opts)
		if apierrors.IsResourceExpired(err) && opts.Continue != "" {
			opts.Limit, opts.Continue, all = 0, "", nil
			continue
		}
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if cont == "" {
			return all, nil
		}
		opts.Continue = cont
	}
}

func nameSelector(name string) string {
	return fields.OneTermEqualSelector("metadata.name", name).String()
}

// listSecrets lists secrets in namespace (metav1.NamespaceAll for every
// namespace) with the given field selector, following pages.
func listSecrets(ctx context.Context, kube kubernetes.Interface, namespace, fieldSelector string) ([]corev1.Secret, error) {
	return listPages(ctx, metav1.ListOptions{FieldSelector: fieldSelector}, func(ctx context.Context, o metav1.ListOptions) ([]corev1.Secret, string, error) {
		l, err := kube.CoreV1().Secrets(namespace).List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
}

func listServiceAccounts(ctx context.Context, kube kubernetes.Interface, namespace, fieldSelector string) ([]corev1.ServiceAccount, error) {
	return listPages(ctx, metav1.ListOptions{FieldSelector: fieldSelector}, func(ctx context.Context, o metav1.ListOptions) ([]corev1.ServiceAccount, string, error) {
		l, err := kube.CoreV1().ServiceAccounts(namespace).List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
}

func listPods(ctx context.Context, kube kubernetes.Interface, namespace string) ([]corev1.Pod, error) {
	return listPages(ctx, metav1.ListOptions{}, func(ctx context.Context, o metav1.ListOptions) ([]corev1.Pod, string, error) {
		l, err := kube.CoreV1().Pods(namespace).List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
}

func listNamespaces(ctx context.Context, kube kubernetes.Interface, labelSelector string) ([]corev1.Namespace, error) {
	return listPages(ctx, metav1.ListOptions{LabelSelector: labelSelector}, func(ctx context.Context, o metav1.ListOptions) ([]corev1.Namespace, string, error) {
		l, err := kube.CoreV1().Namespaces().List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
}
