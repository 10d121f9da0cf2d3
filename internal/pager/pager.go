// Package pager lists Kubernetes objects in pages with client-go's
// tools/pager semantics, typed: one generic function over a generated
// client's List call, one page size for every package.
package pager

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PageSize is the List chunk size. It is twice kubectl's and client-go's
// 500 because the server returns a continue token whenever a page is full
// and more keys follow, even if none of them match a field selector: with
// 500, copying to exactly 500 namespaces would cost a second, empty page
// per List. Up to 999 matching objects, a List is one request.
const PageSize = 1000

// A list is a generated client's list type (*corev1.SecretList, …): its
// continue token comes from the embedded ListMeta.
type list interface {
	GetContinue() string
}

// All calls list with opts (Limit set to PageSize) and follows continue
// tokens until the list is complete, returning items of every page in
// order. If a token expires (410 Gone) mid-way, it starts over once with an
// unpaged list, as client-go's pager does. A typical call:
//
//	pager.All(ctx, opts, kube.CoreV1().Secrets(ns).List,
//		func(l *corev1.SecretList) []corev1.Secret { return l.Items })
func All[T any, L list](ctx context.Context, opts metav1.ListOptions,
	list func(context.Context, metav1.ListOptions) (L, error), items func(L) []T) ([]T, error) {
	opts.Limit = PageSize
	var all []T
	for {
		l, err := list(ctx, opts)
		if apierrors.IsResourceExpired(err) && opts.Continue != "" {
			opts.Limit, opts.Continue, all = 0, "", nil
			continue
		}
		if err != nil {
			return nil, err
		}
		all = append(all, items(l)...)
		cont := l.GetContinue()
		if cont == "" {
			return all, nil
		}
		opts.Continue = cont
	}
}
