package pullsecret

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
)

const saToken = "eyJhbGciOiJSUzI1NiJ9.token-for-default"

// dockercfgSecret is what OpenShift's service-account pull-secret
// controller writes: a legacy .dockercfg keyed by every name of the
// registry service, with auth only.
func dockercfgSecret(ns, name string, created time.Time, keys ...string) *corev1.Secret {
	auth := base64.StdEncoding.EncodeToString([]byte("<token>:" + saToken))
	doc := "{"
	for i, k := range keys {
		if i > 0 {
			doc += ","
		}
		doc += `"` + k + `":{"username":"","password":"","email":"serviceaccount@example.org","auth":"` + auth + `"}`
	}
	doc += "}"
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, CreationTimestamp: metav1.NewTime(created),
			Annotations: map[string]string{corev1.ServiceAccountNameKey: "default"}},
		Type: corev1.SecretTypeDockercfg,
		Data: map[string][]byte{corev1.DockerConfigKey: []byte(doc)},
	}
}

func TestInternalRegistrySecret(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	keys := []string{"172.30.1.1:5000", "image-registry.openshift-image-registry.svc:5000", "image-registry.openshift-image-registry.svc.cluster.local:5000"}
	refSA := serviceAccount("team-a", "default", "default-dockercfg-abcde")
	annotatedSA := serviceAccount("team-a", "default")
	annotatedSA.Annotations = map[string]string{internalPullSecretRefAnnotation: "default-dockercfg-abcde"}
	tests := []struct {
		name string
		objs []runtime.Object
	}{
		{"via imagePullSecrets", []runtime.Object{refSA, dockercfgSecret("team-a", "default-dockercfg-abcde", t0, keys...)}},
		{"via annotation", []runtime.Object{annotatedSA, dockercfgSecret("team-a", "default-dockercfg-abcde", t0, keys...)}},
		{"by listing, newest wins", []runtime.Object{serviceAccount("team-a", "default"),
			dockercfgSecret("team-a", "default-dockercfg-old", t0.Add(-time.Hour), "172.30.1.1:5000"),
			dockercfgSecret("team-a", "default-dockercfg-abcde", t0, keys...),
			dockercfgSecret("team-a", "builder-dockercfg-zzz", t0.Add(time.Hour), keys...)}},
		{"3.11 service name", []runtime.Object{refSA, dockercfgSecret("team-a", "default-dockercfg-abcde", t0, "172.30.9.9:5000", "docker-registry.default.svc:5000")}},
		{"service IP only", []runtime.Object{refSA, dockercfgSecret("team-a", "default-dockercfg-abcde", t0, "172.30.1.1:5000")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset(tt.objs...)
			res, err := InternalRegistrySecret(ctx, kube, "team-a", InternalOptions{Host: "registry.apps.example.com:443"})
			if err != nil || res.Action != registrykit.Created {
				t.Fatalf("InternalRegistrySecret = %+v, %v", res, err)
			}
			s := getSecret(t, kube, "team-a", "default-registry-route")
			if s.Type != corev1.SecretTypeDockerConfigJson {
				t.Errorf("type = %q", s.Type)
			}
			c, err := dockerconfig.Parse(s.Data[corev1.DockerConfigJsonKey])
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"registry.apps.example.com:443"}, c.Servers()); diff != "" {
				t.Errorf("servers (-want +got):\n%s", diff)
			}
			e, _ := c.Get("registry.apps.example.com:443")
			if e.Username != "<token>" || e.Password != saToken {
				t.Errorf("credential not carried over: user %q, password set %v", e.Username, e.Password == saToken)
			}
			// Rerun: nothing to do.
			res, err = InternalRegistrySecret(ctx, kube, "team-a", InternalOptions{Host: "registry.apps.example.com:443"})
			if err != nil || res.Action != registrykit.Unchanged {
				t.Errorf("rerun = %+v, %v", res, err)
			}
		})
	}
}

func TestInternalRegistrySecretErrors(t *testing.T) {
	ctx := context.Background()
	t0 := time.Now()
	tests := []struct {
		name  string
		objs  []runtime.Object
		opts  InternalOptions
		check func(error) bool
	}{
		{"no host", nil, InternalOptions{}, func(err error) bool { return errors.Is(err, registrykit.ErrInvalid) }},
		{"host with scheme", nil, InternalOptions{Host: "https://r.example.com/v2/"}, func(err error) bool { return errors.Is(err, registrykit.ErrInvalid) }},
		{"port 0", nil, InternalOptions{Host: "r.example.com:0"}, func(err error) bool { return errors.Is(err, registrykit.ErrInvalid) }},
		{"port 99999", nil, InternalOptions{Host: "r.example.com:99999"}, func(err error) bool { return errors.Is(err, registrykit.ErrInvalid) }},
		{"port not a number", nil, InternalOptions{Host: "r.example.com:https"}, func(err error) bool { return errors.Is(err, registrykit.ErrInvalid) }},
		{"port signed", nil, InternalOptions{Host: "r.example.com:+443"}, func(err error) bool { return errors.Is(err, registrykit.ErrInvalid) }},
		{"bad names", nil, InternalOptions{Host: "r.example.com", ServiceAccount: "A_B", Name: "C D"}, func(err error) bool {
			return errors.Is(err, registrykit.ErrInvalid) && slices.Equal(fieldPaths(err), []string{"serviceAccount", "name"})
		}},
		{"no service account", nil, InternalOptions{Host: "r.example.com"}, func(err error) bool { return errors.Is(err, ErrNotFound) }},
		{"no dockercfg secret", []runtime.Object{serviceAccount("team-a", "default")}, InternalOptions{Host: "r.example.com"}, func(err error) bool {
			var nf *NotFoundError
			return errors.As(err, &nf) && nf.Name == "default-dockercfg-*"
		}},
		{"no internal entry", []runtime.Object{serviceAccount("team-a", "default"),
			dockercfgSecret("team-a", "default-dockercfg-x", t0, "quay.io", "us.icr.io")}, InternalOptions{Host: "r.example.com"},
			func(err error) bool { return errors.Is(err, ErrNoInternalRegistryEntry) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset(tt.objs...)
			_, err := InternalRegistrySecret(ctx, kube, "team-a", tt.opts)
			if !tt.check(err) {
				t.Errorf("err = %v", err)
			}
			if contains(err.Error(), saToken) {
				t.Errorf("error leaks the token: %v", err)
			}
			if w := writeActions(kube); len(w) != 0 {
				t.Errorf("writes = %v", w)
			}
		})
	}
}

func TestCredentials(t *testing.T) {
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name       string
		e          dockerconfig.Entry
		user, pass string
		wantErr    bool
	}{
		{"fields", dockerconfig.Entry{Username: "u", Password: "p"}, "u", "p", false},
		{"padded auth", dockerconfig.Entry{Auth: enc("u:p:with:colons")}, "u", "p:with:colons", false},
		{"unpadded auth", dockerconfig.Entry{Auth: base64.RawStdEncoding.EncodeToString([]byte("us:p"))}, "us", "p", false},
		{"no colon", dockerconfig.Entry{Auth: enc("nocolon")}, "", "", true},
		{"not base64", dockerconfig.Entry{Auth: "!!"}, "", "", true},
		{"empty", dockerconfig.Entry{}, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, p, err := credentials(tt.e)
			if (err != nil) != tt.wantErr || u != tt.user || p != tt.pass {
				t.Errorf("credentials = %q, %q, %v", u, p, err)
			}
			if err != nil && !errors.Is(err, dockerconfig.ErrInvalidAuth) {
				t.Errorf("err = %v, want ErrInvalidAuth", err)
			}
		})
	}
}
