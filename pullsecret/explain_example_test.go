package pullsecret_test

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/pullsecret"
)

func ExampleExplain() {
	// team-a's default service account only has the us-south secret, and
	// the image is in eu-de.
	cfg := &dockerconfig.Config{}
	cfg.Set("us.icr.io", dockerconfig.Entry{Username: "iamapikey", Password: "an-api-key"})
	data, _ := cfg.Marshal()
	kube := fake.NewClientset(
		&corev1.ServiceAccount{
			ObjectMeta:       metav1.ObjectMeta{Namespace: "team-a", Name: "default"},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "default-us-icr-io"}},
		},
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "default-us-icr-io"},
			Type:       corev1.SecretTypeDockerConfigJson,
			Data:       map[string][]byte{corev1.DockerConfigJsonKey: data},
		},
	)
	ctx := context.Background()
	e, err := pullsecret.Explain(ctx, kube, "team-a", pullsecret.Subject{}, "de.icr.io/team/app:1")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e)

	e, _ = pullsecret.Explain(ctx, kube, "team-a", pullsecret.Subject{}, "us.icr.io/team/app:1")
	fmt.Println(e.OK, e.Credentials)
	// Output:
	// image de.icr.io/team/app:1 (registry de.icr.io) for a new pod of service account default in namespace team-a
	// image pull secrets, in order:
	//   1. default-us-icr-io        no-match   no entry for de.icr.io (has us.icr.io)
	// verdict: secret default-us-icr-io has no entry for de.icr.io: add an entry for de.icr.io (icr.APIKeyConfig with that region's domain, or all-icr-io, which has every region)
	// true [secret default-us-icr-io, key us.icr.io, user iamapikey]
}

func ExampleExplain_pod() {
	// The pod was created before all-icr-io was attached to its service
	// account: admission copied the account's list as it was then.
	kube := fake.NewClientset(
		&corev1.ServiceAccount{
			ObjectMeta:       metav1.ObjectMeta{Namespace: "team-a", Name: "default"},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "all-icr-io"}},
		},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "web-1"}},
	)
	e, err := pullsecret.Explain(context.Background(), kube, "team-a", pullsecret.Subject{Pod: "web-1"}, "us.icr.io/team/web:2")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.Verdict)
	// Output:
	// pod web-1 was created before service account default got all-icr-io, and secret all-icr-io is not in namespace team-a: copy it with registry.CopyICRSecret, then delete and recreate the pod
}
