package pullsecret

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"

	"github.com/registrykit/registrykit/internal/pager"
)

func nameSelector(name string) string {
	return fields.OneTermEqualSelector("metadata.name", name).String()
}

// listSecrets lists secrets in namespace (metav1.NamespaceAll for every
// namespace) with the given field selector, following pages.
func listSecrets(ctx context.Context, kube kubernetes.Interface, namespace, fieldSelector string) ([]corev1.Secret, error) {
	return pager.All(ctx, metav1.ListOptions{FieldSelector: fieldSelector}, kube.CoreV1().Secrets(namespace).List,
		func(l *corev1.SecretList) []corev1.Secret { return l.Items })
}

func listServiceAccounts(ctx context.Context, kube kubernetes.Interface, namespace, fieldSelector string) ([]corev1.ServiceAccount, error) {
	return pager.All(ctx, metav1.ListOptions{FieldSelector: fieldSelector}, kube.CoreV1().ServiceAccounts(namespace).List,
		func(l *corev1.ServiceAccountList) []corev1.ServiceAccount { return l.Items })
}

func listPods(ctx context.Context, kube kubernetes.Interface, namespace string) ([]corev1.Pod, error) {
	return pager.All(ctx, metav1.ListOptions{}, kube.CoreV1().Pods(namespace).List,
		func(l *corev1.PodList) []corev1.Pod { return l.Items })
}

func listNamespaces(ctx context.Context, kube kubernetes.Interface, labelSelector string) ([]corev1.Namespace, error) {
	return pager.All(ctx, metav1.ListOptions{LabelSelector: labelSelector}, kube.CoreV1().Namespaces().List,
		func(l *corev1.NamespaceList) []corev1.Namespace { return l.Items })
}
