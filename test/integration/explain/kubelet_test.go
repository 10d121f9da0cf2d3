package explain_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/registrykit/registrykit/pullsecret"
)

func auth(user string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}

func credStrings(e pullsecret.Explanation) []string {
	var out []string
	for _, c := range e.Credentials {
		user := c.Username
		if user == "" {
			user = "-"
		}
		out = append(out, c.Secret+" "+c.Server+" "+user)
	}
	return out
}

// TestKubeletReadingOnARealServer stores documents the API server accepts
// (it checks only that the data is JSON that decodes into a map) but a
// strict parser refuses, and checks that Explain reads them as the kubelet
// does (pkg/credentialprovider): most pull fine. It also shows which of the
// unit tier's documents cannot exist on a server.
func TestKubeletReadingOnARealServer(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	docs := []struct {
		name string
		typ  corev1.SecretType
		doc  string
	}{
		{"caps", corev1.SecretTypeDockerConfigJson, `{"Auths":{"us.icr.io":{"Username":"caps","Password":"` + password + `"}}}`},
		{"null-entry", corev1.SecretTypeDockerConfigJson, `{"auths":{"us.icr.io":null,"*.icr.io":{"auth":"` + auth("glob") + `"}}}`},
		{"bad-key", corev1.SecretTypeDockerConfigJson, `{"auths":{"my registry":{"auth":"` + auth("x") + `"},"us.icr.io/team":{"auth":"` + auth("kept") + `"}}}`},
		{"null-doc", corev1.SecretTypeDockerConfigJson, `null`},
		{"json-in-dockercfg", corev1.SecretTypeDockercfg, `{"auths":{"us.icr.io":{"auth":"` + auth("lost") + `"}}}`},
		{"headers", corev1.SecretTypeDockerConfigJson, `{"auths":{"us.icr.io":{"auth":"` + auth("h") + `"}},"HttpHeaders":{"X-Retries":3}}`},
	}
	for _, d := range docs {
		key := corev1.DockerConfigJsonKey
		if d.typ == corev1.SecretTypeDockercfg {
			key = corev1.DockerConfigKey
		}
		createSecret(t, ns, d.name, d.typ, map[string][]byte{key: []byte(d.doc)})
	}
	// stringData: the server moves it into data; a fake clientset keeps it
	// where it is, so this one exists only on a real server.
	_, err := env.Kube.CoreV1().Secrets(ns).Create(t.Context(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "string-data"},
		Type:       corev1.SecretTypeDockerConfigJson,
		StringData: map[string]string{corev1.DockerConfigJsonKey: `{"auths":{"us.icr.io":{"auth":"` + auth("typed") + `"}}}`},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create secret with stringData: %v", err)
	}

	// What the server refuses: an empty or non-object document. The unit
	// tier's "array document" and "empty .dockerconfigjson" cannot exist.
	for name, s := range map[string]struct {
		typ corev1.SecretType
		key string
		doc string
	}{
		"array-doc":    {corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey, `[]`},
		"empty-doc":    {corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey, ``},
		"array-legacy": {corev1.SecretTypeDockercfg, corev1.DockerConfigKey, `[{}]`},
	} {
		_, err := env.Kube.CoreV1().Secrets(ns).Create(t.Context(), &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Type: s.typ, Data: map[string][]byte{s.key: []byte(s.doc)},
		}, metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) {
			t.Errorf("create %s: err = %v, want Invalid from the server", name, err)
		}
	}

	tests := []struct {
		secrets []string
		image   string
		states  []string
		creds   []string
		ok      bool
		verdict string
	}{
		{[]string{"caps"}, "us.icr.io/team/app:1", []string{"caps=matching"}, []string{"caps us.icr.io caps"}, true, "ok: "},
		{[]string{"null-entry"}, "us.icr.io/team/app:1", []string{"null-entry=matching"}, []string{"null-entry us.icr.io -", "null-entry *.icr.io glob"}, true, "ok: "},
		{[]string{"bad-key"}, "us.icr.io/team/app:1", []string{"bad-key=matching"}, []string{"bad-key us.icr.io/team kept"}, true, "ok: "},
		{[]string{"null-doc"}, "us.icr.io/team/app:1", []string{"null-doc=no-match"}, nil, false, "secret null-doc has no entry for us.icr.io"},
		{[]string{"json-in-dockercfg"}, "us.icr.io/team/app:1", []string{"json-in-dockercfg=no-match"}, nil, false, "recreate it as kubernetes.io/dockerconfigjson"},
		{[]string{"string-data", "headers"}, "us.icr.io/team/app:1", []string{"string-data=matching", "headers=unparsable"}, nil, false, "secret headers cannot be parsed (HttpHeaders must map header names to strings"},
		{[]string{"string-data"}, "us.icr.io/team/app:1", []string{"string-data=matching"}, []string{"string-data us.icr.io typed"}, true, "ok: "},
	}
	for i, tt := range tests {
		sa := "sa-" + strings.Join(tt.secrets, "-")
		createSA(t, ns, sa, tt.secrets...)
		e := explain(t, env.Kube, ns, pullsecret.Subject{ServiceAccount: sa}, tt.image)
		if diff := cmp.Diff(tt.states, states(e)); diff != "" {
			t.Errorf("%d %v: states (-want +got):\n%s", i, tt.secrets, diff)
		}
		if diff := cmp.Diff(tt.creds, credStrings(e)); diff != "" {
			t.Errorf("%d %v: credentials (-want +got):\n%s", i, tt.secrets, diff)
		}
		if e.OK != tt.ok || !strings.Contains(e.Verdict, tt.verdict) {
			t.Errorf("%d %v: OK=%v verdict %q, want OK=%v and %q", i, tt.secrets, e.OK, e.Verdict, tt.ok, tt.verdict)
		}
	}
}

// TestSecretListedTwiceOnARealServer: the server stores a pod that lists a
// secret twice (spec.imagePullSecrets is a map list, but nothing rejects a
// repeated name), and the kubelet reads the secret once per listing and
// tries its credentials twice (getPullSecretsForPod, BasicDockerKeyring.Add).
func TestSecretListedTwiceOnARealServer(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	pullSecret(t, ns, "all-icr-io", "us.icr.io")
	createSA(t, ns, "twice", "all-icr-io", "all-icr-io")
	p := newPod(ns, "twice", "twice")
	p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "all-icr-io"}, {Name: "all-icr-io"}}
	got, err := env.Kube.CoreV1().Pods(ns).Create(t.Context(), p, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod listing a secret twice: %v", err)
	}
	if n := len(got.Spec.ImagePullSecrets); n != 2 {
		t.Fatalf("the server kept %d of the 2 references", n)
	}
	for _, s := range []pullsecret.Subject{{Pod: "twice"}, {ServiceAccount: "twice"}} {
		e := explain(t, env.Kube, ns, s, "us.icr.io/team/app:1")
		want := []string{"all-icr-io us.icr.io iamapikey", "all-icr-io us.icr.io iamapikey"}
		if diff := cmp.Diff(want, credStrings(e)); diff != "" || !e.OK {
			t.Errorf("%+v: OK=%v credentials (-want +got):\n%s\n%s", s, e.OK, diff, e)
		}
		if len(e.Secrets) != 2 || !strings.Contains(e.Secrets[1].Detail, "listed again") {
			t.Errorf("%+v: the second listing is not marked:\n%s", s, e)
		}
	}
}
