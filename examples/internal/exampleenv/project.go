package exampleenv

import (
	"encoding/json"
	"maps"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// projectServiceAccounts are the service accounts OpenShift creates in
// every project.
var projectServiceAccounts = []string{"default", "builder", "deployer"}

// placeholderToken stands in for a service account's token in the
// embedded cluster's generated dockercfg secrets.
const placeholderToken = DemoServiceAccountToken

// internalRegistryHosts are the names of the internal registry service
// that OpenShift's generated dockercfg secrets hold an entry for.
var internalRegistryHosts = []string{
	"172.30.0.10:5000",
	"image-registry.openshift-image-registry.svc:5000",
	"image-registry.openshift-image-registry.svc.cluster.local:5000",
}

// Projects returns the objects of new OpenShift projects for the embedded
// cluster, as OpenShift creates them: the namespace (labelled with labels
// and kubernetes.io/metadata.name), the default, builder and deployer
// service accounts, and each one's generated kubernetes.io/dockercfg
// secret for the internal registry (with a placeholder token), referenced
// from the account's secrets and imagePullSecrets.
func Projects(labels map[string]string, names ...string) []runtime.Object {
	var objs []runtime.Object
	for _, n := range names {
		l := map[string]string{"kubernetes.io/metadata.name": n}
		maps.Copy(l, labels)
		objs = append(objs, &corev1.Namespace{
			ObjectMeta: metav1.ObjectMeta{Name: n, Labels: l},
			Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
		})
		for _, sa := range projectServiceAccounts {
			secret := sa + "-dockercfg-emb3d"
			objs = append(objs,
				&corev1.ServiceAccount{
					ObjectMeta:       metav1.ObjectMeta{Namespace: n, Name: sa},
					Secrets:          []corev1.ObjectReference{{Name: secret}},
					ImagePullSecrets: []corev1.LocalObjectReference{{Name: secret}},
				},
				&corev1.Secret{
					ObjectMeta: metav1.ObjectMeta{Namespace: n, Name: secret,
						Annotations: map[string]string{corev1.ServiceAccountNameKey: sa}},
					Type: corev1.SecretTypeDockercfg,
					Data: map[string][]byte{corev1.DockerConfigKey: generatedDockercfg()},
				})
		}
	}
	return objs
}

// generatedDockercfg is the legacy .dockercfg document of a generated
// service account secret, marshalled from a typed map.
func generatedDockercfg() []byte {
	type entry struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Email    string `json:"email"`
	}
	doc := map[string]entry{}
	for _, h := range internalRegistryHosts {
		doc[h] = entry{Username: "<token>", Password: placeholderToken, Email: "serviceaccount@example.org"}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		// A map of strings always marshals.
		return nil
	}
	return b
}
