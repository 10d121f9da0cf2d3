package propagate

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/pullsecret"
)

const routeHost = "default-route-openshift-image-registry.apps.example.com"

// dockercfg is what OpenShift's service-account pull-secret controller
// writes for the default service account: a legacy .dockercfg keyed by the
// registry service, holding the token in auth.
func dockercfg(ns, name, token string) *corev1.Secret {
	auth := base64.StdEncoding.EncodeToString([]byte("<token>:" + token))
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: map[string]string{corev1.ServiceAccountNameKey: "default"}},
		Type:       corev1.SecretTypeDockercfg,
		Data: map[string][]byte{corev1.DockerConfigKey: []byte(
			`{"image-registry.openshift-image-registry.svc:5000":{"username":"","password":"","email":"serviceaccount@example.org","auth":"` + auth + `"}}`)},
	}
}

// tokenIn returns the password a dockerconfigjson secret holds for the
// route host.
func tokenIn(s *corev1.Secret) string {
	cfg, err := dockerconfig.ParseSecret(string(s.Type), s.Data)
	if err != nil {
		return "unparsable: " + err.Error()
	}
	return cfg.Auths[routeHost].Password
}

// OpenShift rotates a service account's dockercfg secret by writing a new
// "<sa>-dockercfg-*" secret and pointing the service account at it: the
// built source and every copy follow.
func TestInternalRegistryFollowsRotation(t *testing.T) {
	built := types.NamespacedName{Namespace: "images", Name: "default-registry-route"}
	sa := serviceAccount("images", "default")
	sa.Annotations = map[string]string{"openshift.io/internal-registry-pull-secret-ref": "default-dockercfg-aaaaa"}
	f := start(t, Options{Rules: []Rule{{Source: built, InternalRegistry: &InternalRegistry{Host: routeHost}}}},
		namespace("images", nil), namespace("team-a", nil), sa, dockercfg("images", "default-dockercfg-aaaaa", "token-one"),
		serviceAccount("team-a", "default"))

	follows := func(token string) {
		t.Helper()
		f.eventually("source and copy hold "+token, func() error {
			for _, ns := range []string{"images", "team-a"} {
				s, err := f.getSecret(ns, built.Name)
				if err != nil {
					return err
				}
				if got := tokenIn(s); got != token {
					return fmt.Errorf("%s holds another token", ns)
				}
			}
			return nil
		})
	}
	follows("token-one")
	f.attached("team-a", "default", built.Name)
	if cp, _ := f.getSecret("team-a", built.Name); cp.Annotations[pullsecret.AnnotationCopiedFrom] != built.String() {
		t.Errorf("copy annotations %v", cp.Annotations)
	}

	ctx := t.Context()
	if _, err := f.kube.CoreV1().Secrets("images").Create(ctx, dockercfg("images", "default-dockercfg-bbbbb", "token-two"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cur, _ := f.kube.CoreV1().ServiceAccounts("images").Get(ctx, "default", metav1.GetOptions{})
	cur.Annotations["openshift.io/internal-registry-pull-secret-ref"] = "default-dockercfg-bbbbb"
	if _, err := f.kube.CoreV1().ServiceAccounts("images").Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := f.kube.CoreV1().Secrets("images").Delete(ctx, "default-dockercfg-aaaaa", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	follows("token-two")

	// The token is refreshed in place in the same secret: followed too.
	if _, err := f.kube.CoreV1().Secrets("images").Update(ctx, dockercfg("images", "default-dockercfg-bbbbb", "token-three"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	follows("token-three")

	// Someone deletes the built secret: it is built again.
	if err := f.kube.CoreV1().Secrets("images").Delete(ctx, built.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	follows("token-three")
	if out := f.outcomeLines(); strings.Contains(out, "token-") {
		t.Error("an outcome holds the token")
	}
}

func TestInternalRegistryValidates(t *testing.T) {
	_, err := New(fakeKube(), Options{Rules: []Rule{
		{Source: source, InternalRegistry: &InternalRegistry{ServiceAccount: "Bad_Name"}},
	}})
	got := fmt.Sprint(err)
	for _, want := range []string{"rules[0].internalRegistry.serviceAccount", "rules[0].internalRegistry.host"} {
		if !strings.Contains(got, want) {
			t.Errorf("error %q lacks %s", got, want)
		}
	}
}
