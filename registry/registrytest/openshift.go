package registrytest

import (
	imageregistryv1 "github.com/openshift/api/imageregistry/v1"
	operatorv1 "github.com/openshift/api/operator/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// RedHatRegistries are the registries of a fresh cluster's global pull
// secret (openshift-config/pull-secret).
var RedHatRegistries = []string{"cloud.openshift.com", "quay.io", "registry.connect.redhat.com", "registry.redhat.io"}

// globalPullSecret is a fresh cluster's global pull secret with placeholder
// credentials ("placeholder:<registry>") for RedHatRegistries.
const globalPullSecret = `{"auths":{"cloud.openshift.com":{"auth":"cGxhY2Vob2xkZXI6Y2xvdWQub3BlbnNoaWZ0LmNvbQ==","email":"someone@example.com"},"quay.io":{"auth":"cGxhY2Vob2xkZXI6cXVheS5pbw==","email":"someone@example.com"},"registry.connect.redhat.com":{"auth":"cGxhY2Vob2xkZXI6cmVnaXN0cnkuY29ubmVjdC5yZWRoYXQuY29t","email":"someone@example.com"},"registry.redhat.io":{"auth":"cGxhY2Vob2xkZXI6cmVnaXN0cnkucmVkaGF0Lmlv","email":"someone@example.com"}}}`

// defaultDockercfg is the legacy .dockercfg that OpenShift's service account
// controller writes for default/default: the service account's token for
// every name of the internal registry service.
const defaultDockercfg = `{"172.30.0.10:5000":{"auth":"PHRva2VuPjpwbGFjZWhvbGRlci1zZXJ2aWNlLWFjY291bnQtdG9rZW4=","email":"serviceaccount@example.org","password":"placeholder-service-account-token","username":"<token>"},"image-registry.openshift-image-registry.svc.cluster.local:5000":{"auth":"PHRva2VuPjpwbGFjZWhvbGRlci1zZXJ2aWNlLWFjY291bnQtdG9rZW4=","email":"serviceaccount@example.org","password":"placeholder-service-account-token","username":"<token>"},"image-registry.openshift-image-registry.svc:5000":{"auth":"PHRva2VuPjpwbGFjZWhvbGRlci1zZXJ2aWNlLWFjY291bnQtdG9rZW4=","email":"serviceaccount@example.org","password":"placeholder-service-account-token","username":"<token>"}}`

// DefaultDockercfgSecret is the name of default/default's generated
// registry secret in the objects of OpenShiftObjects.
const DefaultDockercfgSecret = "default-dockercfg-x7k2p"

// OpenShiftObjects returns the objects of a fresh OpenShift 4 cluster that
// the workflows read: the default, openshift-config and
// openshift-image-registry namespaces, a default service account in each
// (default's with its generated default-dockercfg-* secret), the global pull secret with placeholder credentials for
// RedHatRegistries, the internal registry service
// (openshift-image-registry/image-registry, port 5000-tcp) and the image
// registry operator config "cluster".
func OpenShiftObjects() []runtime.Object {
	ns := func(name string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/metadata.name": name}}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
	}
	return []runtime.Object{
		ns("default"), ns("openshift-config"), ns("openshift-image-registry"),
		// Every namespace has a default service account; default's has its
		// generated registry secret.
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "openshift-config", Name: "default"}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "openshift-image-registry", Name: "default"}},
		&corev1.ServiceAccount{
			ObjectMeta:       metav1.ObjectMeta{Namespace: "default", Name: "default"},
			Secrets:          []corev1.ObjectReference{{Name: DefaultDockercfgSecret}},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: DefaultDockercfgSecret}},
		},
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{
				Namespace:   "default",
				Name:        DefaultDockercfgSecret,
				Annotations: map[string]string{"openshift.io/internal-registry-auth-token.service-account": "default"},
			},
			Type: corev1.SecretTypeDockercfg,
			Data: map[string][]byte{corev1.DockerConfigKey: []byte(defaultDockercfg)},
		},
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: "openshift-config", Name: "pull-secret"},
			Type:       corev1.SecretTypeDockerConfigJson,
			Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(globalPullSecret)},
		},
		&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: "openshift-image-registry", Name: "image-registry"},
			Spec: corev1.ServiceSpec{
				ClusterIP: "172.30.0.10",
				Ports:     []corev1.ServicePort{{Name: "5000-tcp", Port: 5000, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(5000)}},
			},
		},
		&imageregistryv1.Config{
			ObjectMeta: metav1.ObjectMeta{Name: "cluster"},
			Spec: imageregistryv1.ImageRegistrySpec{
				OperatorSpec: operatorv1.OperatorSpec{ManagementState: operatorv1.Managed},
				Storage:      imageregistryv1.ImageRegistryConfigStorage{PVC: &imageregistryv1.ImageRegistryConfigStoragePVC{Claim: "image-registry-storage"}},
			},
		},
	}
}

// NewOpenShiftCluster returns NewCluster(OpenShiftObjects()..., objs...).
func NewOpenShiftCluster(objs ...runtime.Object) (*Cluster, error) {
	return NewCluster(append(OpenShiftObjects(), objs...)...)
}
