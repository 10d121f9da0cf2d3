package smoke

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/registrykit/registrykit/dockerconfig"
)

// dockerConfigJSON builds a .dockerconfigjson document for one registry
// with the library's own engine.
func dockerConfigJSON(t *testing.T, server, username, password string) []byte {
	t.Helper()
	var cfg dockerconfig.Config
	cfg.Set(server, dockerconfig.Entry{Username: username, Password: password})
	b, err := cfg.Marshal()
	if err != nil {
		t.Fatalf("marshal .dockerconfigjson: %v", err)
	}
	return b
}

func pullSecret(name string, data []byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: data},
	}
}

func TestDockerConfigJSONSecretIsAccepted(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	data := dockerConfigJSON(t, "us.icr.io", "iamapikey", `pa"ss\word`)

	secrets := env.Kube.CoreV1().Secrets(ns)
	if _, err := secrets.Create(t.Context(), pullSecret("all-icr-io", data), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create: %v", err)
	}
	got, err := secrets.Get(t.Context(), "all-icr-io", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.Type != corev1.SecretTypeDockerConfigJson {
		t.Errorf("type = %q, want %q", got.Type, corev1.SecretTypeDockerConfigJson)
	}
	if diff := cmp.Diff(string(data), string(got.Data[corev1.DockerConfigJsonKey])); diff != "" {
		t.Errorf(".dockerconfigjson changed on the way through the server (-want +got):\n%s", diff)
	}
}

// The API server validates kubernetes.io/dockerconfigjson secrets (the key
// must be there and hold a JSON object); the fake clientset stores
// anything. This is why the tier exists.
func TestMalformedDockerConfigJSONRejectedByServerNotByFake(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	tests := []struct {
		name string
		data map[string][]byte
	}{
		{"not JSON", map[string][]byte{corev1.DockerConfigJsonKey: []byte("auths: {}")}},
		{"JSON array", map[string][]byte{corev1.DockerConfigJsonKey: []byte(`[{"auths":{}}]`)}},
		{"JSON string", map[string][]byte{corev1.DockerConfigJsonKey: []byte(`"{}"`)}},
		{"empty", map[string][]byte{corev1.DockerConfigJsonKey: {}}},
		{"legacy key only", map[string][]byte{corev1.DockerConfigKey: []byte(`{}`)}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret := pullSecret("bad", nil)
			secret.Name = "bad-" + string(rune('a'+i))
			secret.Data = tt.data

			create := func(kube kubernetes.Interface) error {
				_, err := kube.CoreV1().Secrets(ns).Create(t.Context(), secret.DeepCopy(), metav1.CreateOptions{})
				return err
			}
			err := create(env.Kube)
			if !apierrors.IsInvalid(err) {
				t.Errorf("real API server: got error %v, want Invalid", err)
			} else {
				t.Logf("real API server: %v", err)
			}
			if err := create(fake.NewClientset()); err != nil {
				t.Errorf("fake clientset: got error %v; it is expected to accept anything", err)
			}
		})
	}
}
