package pullsecret_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/pullsecret"
)

func TestInternalRegistrySecretRealServer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ns := env.Namespace(t)
	token := "eyJhbGciOiJSUzI1NiJ9.sa-token"
	auth := base64.StdEncoding.EncodeToString([]byte("<token>:" + token))
	var keys []string
	for _, k := range []string{"172.30.1.1:5000", "image-registry.openshift-image-registry.svc:5000", "image-registry.openshift-image-registry.svc.cluster.local:5000"} {
		keys = append(keys, fmt.Sprintf(`%q:{"username":"","password":"","email":"serviceaccount@example.org","auth":%q}`, k, auth))
	}
	createSecret(t, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "default-dockercfg-k2x9p", Namespace: ns,
			Annotations: map[string]string{corev1.ServiceAccountNameKey: "default"}},
		Type: corev1.SecretTypeDockercfg,
		Data: map[string][]byte{corev1.DockerConfigKey: []byte("{" + strings.Join(keys, ",") + "}")},
	})
	createSA(t, ns, "default", "default-dockercfg-k2x9p")

	host := "default-route-openshift-image-registry.apps.example.com"
	res, err := pullsecret.InternalRegistrySecret(ctx, env.Kube, ns, pullsecret.InternalOptions{Host: host, Name: "registry-route"})
	if err != nil || res.Action != registrykit.Created {
		t.Fatalf("InternalRegistrySecret = %+v, %v", res, err)
	}
	s := getSecret(t, ns, "registry-route")
	c, err := dockerconfig.Parse(s.Data[corev1.DockerConfigJsonKey])
	if err != nil || s.Type != corev1.SecretTypeDockerConfigJson {
		t.Fatalf("type %s, parse: %v", s.Type, err)
	}
	if diff := cmp.Diff([]string{host}, c.Servers()); diff != "" {
		t.Errorf("servers (-want +got):\n%s", diff)
	}
	if e, _ := c.Get(host); e.Username != "<token>" || e.Password != token {
		t.Errorf("credential not carried over (user %q)", e.Username)
	}
	if res, err := pullsecret.InternalRegistrySecret(ctx, env.Kube, ns, pullsecret.InternalOptions{Host: host, Name: "registry-route"}); err != nil || res.Action != registrykit.Unchanged {
		t.Errorf("rerun = %+v, %v", res, err)
	}
}

func TestAuditRealServer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ns := env.Namespace(t)
	pull := func(name string, data string) {
		createSecret(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(data)}})
	}
	pull("good", string(docBytes(t, icr(t, "us.icr.io"))))
	pull("leftover", string(docBytes(t, icr(t, "us.icr.io"))))
	pull("empty", `{"auths":{}}`)
	pull("bad-auth", `{"auths":{"us.icr.io":{"auth":"%%%"}}}`)
	createSecret(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "opaque", Namespace: ns}, Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{"password": []byte(password)}})
	createSA(t, ns, "default", "good", "gone", "opaque", "empty", "bad-auth")
	if _, err := env.Kube.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: corev1.PodSpec{ServiceAccountName: "default", ImagePullSecrets: []corev1.LocalObjectReference{{Name: "pod-gone"}},
			Containers: []corev1.Container{{Name: "c", Image: "us.icr.io/ns/app:1"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	findings, err := pullsecret.Audit(ctx, env.Kube, ns)
	if err != nil {
		t.Fatal(err)
	}
	type kindSecret struct{ Kind, Secret, Who string }
	var got []kindSecret
	for _, f := range findings {
		got = append(got, kindSecret{string(f.Kind), f.Secret, f.ServiceAccount + f.Pod})
		if strings.Contains(f.String(), password) {
			t.Errorf("finding leaks data: %s", f)
		}
	}
	want := []kindSecret{
		{"missing", "gone", "default"},
		{"missing", "pod-gone", "web"},
		{"no-registry", "empty", "default"},
		{"unparsable", "bad-auth", "default"},
		{"unused", "leftover", ""},
		{"wrong-type", "opaque", "default"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	for _, f := range findings {
		t.Log(f)
	}
}
