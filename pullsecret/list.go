package pullsecret

import (
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

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

// metadataOnly asks the API server for a list of objects' metadata
// (what k8s.io/client-go/metadata asks for), JSON whatever the client's
// content type.
const metadataOnly = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"

// listSecretMetadata lists the metadata of the secrets in every namespace
// matching fieldSelector, following pages, through kube's own REST client:
// no data crosses the wire. ok is false when kube has no REST client (a
// fake clientset); then nothing was read.
func listSecretMetadata(ctx context.Context, kube kubernetes.Interface, fieldSelector string) (_ []metav1.PartialObjectMetadata, ok bool, _ error) {
	rc, isREST := kube.CoreV1().RESTClient().(*rest.RESTClient)
	if !isREST || rc == nil {
		return nil, false, nil
	}
	items, err := pager.All(ctx, metav1.ListOptions{FieldSelector: fieldSelector},
		func(ctx context.Context, o metav1.ListOptions) (*metav1.PartialObjectMetadataList, error) {
			raw, err := rc.Get().Resource("secrets").VersionedParams(&o, scheme.ParameterCodec).
				SetHeader("Accept", metadataOnly).Do(ctx).Raw()
			if err != nil {
				return nil, err
			}
			l := &metav1.PartialObjectMetadataList{}
			return l, json.Unmarshal(raw, l)
		},
		func(l *metav1.PartialObjectMetadataList) []metav1.PartialObjectMetadata { return l.Items })
	return items, true, err
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
