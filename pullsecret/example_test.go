package pullsecret_test

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/pullsecret"
)

func icrConfig() *dockerconfig.Config {
	c := &dockerconfig.Config{}
	c.Set("us.icr.io", dockerconfig.Entry{Username: "iamapikey", Password: "an-api-key"})
	return c
}

func ExampleApply() {
	ctx := context.Background()
	kube := fake.NewClientset()
	for range 2 {
		res, err := pullsecret.Apply(ctx, kube, "default", "all-icr-io", icrConfig(), registrykit.WriteOptions{})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(res.Action, "-", res.Reason)
	}
	// Output:
	// created - created for us.icr.io
	// unchanged - content already equal
}

func ExampleCopy() {
	ctx := context.Background()
	kube := fake.NewClientset()
	if _, err := pullsecret.Apply(ctx, kube, "default", "all-icr-io", icrConfig(), registrykit.WriteOptions{}); err != nil {
		fmt.Println(err)
		return
	}
	from := types.NamespacedName{Namespace: "default", Name: "all-icr-io"}
	to := pullsecret.Targets{Namespaces: []string{"team-a", "team-b"}}
	rep, err := pullsecret.Copy(ctx, kube, from, to, pullsecret.CopyOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("first run: ", rep)
	rep, _ = pullsecret.Copy(ctx, kube, from, to, pullsecret.CopyOptions{})
	fmt.Println("second run:", rep)
	copied, _ := kube.CoreV1().Secrets("team-a").Get(ctx, "all-icr-io", metav1.GetOptions{})
	fmt.Println(copied.Annotations[pullsecret.AnnotationCopiedFrom])
	// Output:
	// first run:  created=2
	// second run: unchanged=2
	// default/all-icr-io
}

func ExampleAttachToServiceAccount() {
	ctx := context.Background()
	kube := fake.NewClientset(&corev1.ServiceAccount{
		ObjectMeta:       metav1.ObjectMeta{Name: "default", Namespace: "team-a"},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "default-dockercfg-x7k2p"}},
	})
	res, err := pullsecret.AttachToServiceAccount(ctx, kube, types.NamespacedName{Namespace: "team-a", Name: "default"}, "all-icr-io", pullsecret.AttachOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	sa, _ := kube.CoreV1().ServiceAccounts("team-a").Get(ctx, "default", metav1.GetOptions{})
	fmt.Println(res.Action, sa.ImagePullSecrets)
	// Output:
	// updated [{default-dockercfg-x7k2p} {all-icr-io}]
}

func ExampleMergeGlobal() {
	ctx := context.Background()
	global := &dockerconfig.Config{}
	for _, r := range pullsecret.DefaultRequired {
		global.Set(r, dockerconfig.Entry{Auth: "b3BlbnNoaWZ0OnRva2Vu"})
	}
	data, _ := global.Marshal()
	kube := fake.NewClientset(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: pullsecret.GlobalNamespace, Name: pullsecret.GlobalName},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: data},
	})
	res, err := pullsecret.MergeGlobal(ctx, kube, icrConfig(), pullsecret.GlobalOptions{})
	fmt.Println(res.Action, err)

	// Removing a registry OpenShift needs is refused.
	_, err = pullsecret.RemoveFromGlobal(ctx, kube, []string{"quay.io"}, pullsecret.GlobalOptions{})
	var missing *pullsecret.MissingRequiredError
	fmt.Println(errors.As(err, &missing), missing.Registries)
	// Output:
	// updated <nil>
	// true [quay.io]
}

func ExampleLink() {
	ctx := context.Background()
	kube := fake.NewClientset(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "builder", Namespace: "team-a"}})
	// oc secrets link builder icr-push --for=pull,mount
	res, err := pullsecret.Link(ctx, kube, types.NamespacedName{Namespace: "team-a", Name: "builder"}, "icr-push", pullsecret.For{Pull: true, Mount: true}, registrykit.WriteOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Action, "-", res.Reason)
	// Output:
	// updated - added to imagePullSecrets and secrets
}

func ExampleInternalRegistrySecret() {
	ctx := context.Background()
	// What OpenShift's controller keeps for each service account: a legacy
	// .dockercfg keyed by the registry service's names.
	kube := fake.NewClientset(
		&corev1.ServiceAccount{
			ObjectMeta:       metav1.ObjectMeta{Name: "default", Namespace: "team-a"},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "default-dockercfg-x7k2p"}},
		},
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "default-dockercfg-x7k2p", Namespace: "team-a"},
			Type:       corev1.SecretTypeDockercfg,
			Data: map[string][]byte{corev1.DockerConfigKey: []byte(
				`{"172.30.12.4:5000":{"auth":"PHRva2VuPjpzYS10b2tlbg=="},` +
					`"image-registry.openshift-image-registry.svc:5000":{"auth":"PHRva2VuPjpzYS10b2tlbg=="}}`)},
		})
	res, err := pullsecret.InternalRegistrySecret(ctx, kube, "team-a", pullsecret.InternalOptions{
		Host: "default-route-openshift-image-registry.apps.example.com",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Action, "-", res.Reason)
	// Output:
	// created - created for default-route-openshift-image-registry.apps.example.com
}

func ExampleAudit() {
	ctx := context.Background()
	kube := fake.NewClientset(&corev1.ServiceAccount{
		ObjectMeta:       metav1.ObjectMeta{Name: "default", Namespace: "team-a"},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "all-icr-io"}},
	})
	findings, err := pullsecret.Audit(ctx, kube, "team-a")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range findings {
		fmt.Println(f)
	}
	// Output:
	// missing: serviceaccount default -> secret all-icr-io: referenced in imagePullSecrets but not found
}

func ExampleCopy_badInput() {
	kube := fake.NewClientset()
	_, err := pullsecret.Copy(context.Background(), kube,
		types.NamespacedName{Namespace: "Default", Name: "all-icr-io"}, pullsecret.Targets{}, pullsecret.CopyOptions{Concurrency: -1})
	fmt.Println(errors.Is(err, registrykit.ErrInvalid), len(kube.Actions()))
	fmt.Println(err)
	// Output:
	// true 0
	// copy secret Default/all-icr-io: invalid pullsecret.Copy: [from.namespace: Invalid value: "Default": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?'), targets.namespaces: Required value: give namespaces, selector or all, concurrency: Invalid value: -1: must not be negative]
}

// DesiredCopy and DecideCopy are the pure half of Copy: a controller or a
// user's own reconciler reads, builds, compares and writes with exactly the
// decisions Copy makes. Here a namespace holds the guide's hand-made copy
// (same registries, no provenance annotation).
func ExampleDecideCopy() {
	cfg := &dockerconfig.Config{}
	cfg.Set("us.icr.io", dockerconfig.Entry{Username: "iamapikey", Password: "example-key"})
	data, _ := cfg.Marshal()
	src := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "all-icr-io"},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: data},
	}
	want := pullsecret.DesiredCopy(src, types.NamespacedName{Namespace: "team-a", Name: "all-icr-io"})
	guideMade := src.DeepCopy()
	guideMade.Namespace = "team-a"

	for _, adoption := range []pullsecret.Adoption{pullsecret.LeaveForeign, pullsecret.AdoptForeign} {
		d := pullsecret.DecideCopy(guideMade, want, adoption)
		fmt.Println(d.Result, d.Result.NeedsAttention())
		if d.Write != nil {
			fmt.Println(d.Adopted, d.Write.Annotations[pullsecret.AnnotationCopiedFrom])
		}
	}
	// A copy that is current needs no write, even when only its metadata is
	// at hand: the content hash annotation says so.
	current := want.DeepCopy()
	current.Data = nil
	fmt.Println(pullsecret.DecideCopy(current, want, pullsecret.LeaveForeign).Result)
	// Output:
	// skipped [foreign] (exists without registrykit.io/copied-from; left alone (AdoptForeign adopts one for the same registries, OverwriteForeign any)) true
	// updated (adopted: an image pull secret for the same registries as default/all-icr-io) false
	// true default/all-icr-io
	// unchanged (copy is current)
}

func ExampleWithImagePullSecret() {
	sa := &corev1.ServiceAccount{
		ObjectMeta:       metav1.ObjectMeta{Namespace: "team-a", Name: "default", ResourceVersion: "42"},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "default-dockercfg-x1"}},
	}
	next, changed := pullsecret.WithImagePullSecret(sa, "all-icr-io")
	fmt.Println(changed, next.ImagePullSecrets, next.ResourceVersion)
	_, changed = pullsecret.WithImagePullSecret(next, "all-icr-io")
	fmt.Println(changed, len(sa.ImagePullSecrets))
	// Output:
	// true [{default-dockercfg-x1} {all-icr-io}] 42
	// false 1
}
