package pullsecret

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/registrykit/registrykit"
)

func TestAudit(t *testing.T) {
	ns := "team-a"
	good := pullSecret(t, ns, "good", "us.icr.io")
	unused := pullSecret(t, ns, "leftover", "us.icr.io")
	opaque := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "opaque", Namespace: ns}, Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{"password": []byte(testPassword)}}
	broken := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "broken", Namespace: ns}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths": ` + testPassword)}}
	empty := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "empty", Namespace: ns}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`)}}
	mounted := pullSecret(t, ns, "mounted", "quay.io")
	builder := serviceAccount(ns, "builder", "good")
	builder.Secrets = []corev1.ObjectReference{{Name: "mounted"}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: ns}, Spec: corev1.PodSpec{
		ServiceAccountName: "default",
		ImagePullSecrets:   []corev1.LocalObjectReference{{Name: "gone"}, {Name: "pod-only"}, {Name: "good"}},
	}}
	podOnly := pullSecret(t, ns, "pod-only", "quay.io")
	// Another namespace's objects are not looked at.
	elsewhere := pullSecret(t, "team-b", "leftover-b", "us.icr.io")

	kube := fake.NewClientset(good, unused, opaque, broken, empty, mounted, podOnly, elsewhere,
		serviceAccount(ns, "default", "good", "gone", "opaque", "broken", "empty"), builder, pod)
	got, err := Audit(context.Background(), kube, ns)
	if err != nil {
		t.Fatal(err)
	}
	want := []Finding{
		{Kind: FindingMissing, ServiceAccount: "default", Secret: "gone", Message: "referenced in imagePullSecrets but not found"},
		{Kind: FindingNoRegistry, ServiceAccount: "default", Secret: "empty", Message: "holds no registry credentials"},
		{Kind: FindingUnparsable, ServiceAccount: "default", Secret: "broken", Message: "cannot parse: not JSON"},
		{Kind: FindingUnused, Secret: "leftover", Message: "no service account or pod references it"},
		{Kind: FindingWrongType, ServiceAccount: "default", Secret: "opaque", Message: `type "Opaque" is ignored by the kubelet for image pulls`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	for _, f := range got {
		if s := fmt.Sprint(f) + fmt.Sprintf("%+v %#v", f, f); contains(s, testPassword) {
			t.Errorf("finding leaks data: %s", s)
		}
	}
	if s := got[0].String(); s != "missing: serviceaccount default -> secret gone: referenced in imagePullSecrets but not found" {
		t.Errorf("String() = %q", s)
	}
}

func TestAuditPodOnlyReference(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "job-1", Namespace: "a"}, Spec: corev1.PodSpec{
		ServiceAccountName: "runner", ImagePullSecrets: []corev1.LocalObjectReference{{Name: "nope"}}}}
	got, err := Audit(context.Background(), fake.NewClientset(pod), "a")
	if err != nil {
		t.Fatal(err)
	}
	want := []Finding{{Kind: FindingMissing, Pod: "job-1", Secret: "nope", Message: "referenced in imagePullSecrets but not found"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if s := got[0].String(); s != "missing: pod job-1 -> secret nope: referenced in imagePullSecrets but not found" {
		t.Errorf("String() = %q", s)
	}
}

func TestAuditValidatesAndNamesErrors(t *testing.T) {
	kube := fake.NewClientset()
	if _, err := Audit(context.Background(), kube, "Not Valid"); !errors.Is(err, registrykit.ErrInvalid) || len(kube.Actions()) != 0 {
		t.Errorf("err = %v, actions %v", err, kube.Actions())
	}
	failN(kube, "list", "secrets", 1, fmt.Errorf("boom"))
	if _, err := Audit(context.Background(), kube, "a"); err == nil || !contains(err.Error(), "audit pull secrets in a: list secrets: boom") {
		t.Errorf("err = %v", err)
	}
}
