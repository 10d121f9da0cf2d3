package propagate_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/propagate"
)

const routeHost = "default-route-openshift-image-registry.apps.example.com"

// dockercfgSecret is what OpenShift's service-account pull-secret
// controller writes for sa: a legacy .dockercfg for the registry service
// holding the service account's token.
func dockercfgSecret(ns, name, sa, token string) *corev1.Secret {
	auth := base64.StdEncoding.EncodeToString([]byte("<token>:" + token))
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: map[string]string{corev1.ServiceAccountNameKey: sa}},
		Type:       corev1.SecretTypeDockercfg,
		Data: map[string][]byte{corev1.DockerConfigKey: []byte(
			`{"image-registry.openshift-image-registry.svc:5000":{"username":"","password":"","email":"serviceaccount@example.org","auth":"` + auth + `"}}`)},
	}
}

// OpenShift rotates a service account's internal-registry token: a new
// "<sa>-dockercfg-*" secret, the service account's reference moved to it,
// the old one deleted. The secret built from it (Rule.InternalRegistry,
// what pullsecret.InternalRegistrySecret writes) and its copies follow.
func TestInternalRegistryTokenRotated(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	s.source.Name = "route-" + s.id
	ctx := t.Context()
	sa := "builder-" + s.id
	const refAnnotation = "openshift.io/internal-registry-pull-secret-ref"
	secrets := env.Kube.CoreV1().Secrets(s.source.Namespace)
	if _, err := secrets.Create(ctx, dockercfgSecret(s.source.Namespace, sa+"-dockercfg-aaaaa", sa, "token-one"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	acct := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa, Namespace: s.source.Namespace,
		Annotations: map[string]string{refAnnotation: sa + "-dockercfg-aaaaa"}}}
	if _, err := env.Kube.CoreV1().ServiceAccounts(s.source.Namespace).Create(ctx, acct, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ns := s.namespace(nil)
	createSA(t, ns, "default")

	rule := s.rule()
	rule.InternalRegistry = &propagate.InternalRegistry{ServiceAccount: sa, Host: routeHost}
	run := start(t, propagate.Options{Rules: []propagate.Rule{rule}})

	holds := func(token string) {
		t.Helper()
		eventually(t, "the built secret holds "+token, func() error {
			src, err := secrets.Get(ctx, s.source.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cfg, err := dockerconfig.ParseSecret(string(src.Type), src.Data)
			if err != nil {
				return err
			}
			if cfg.Auths[routeHost].Password != token {
				return fmt.Errorf("another token (servers %v)", cfg.Servers())
			}
			return nil
		})
		s.waitConverged(ns, "default")
	}
	holds("token-one")

	if _, err := secrets.Create(ctx, dockercfgSecret(s.source.Namespace, sa+"-dockercfg-bbbbb", sa, "token-two"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cur, err := env.Kube.CoreV1().ServiceAccounts(s.source.Namespace).Get(ctx, sa, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.Annotations[refAnnotation] = sa + "-dockercfg-bbbbb"
	if _, err := env.Kube.CoreV1().ServiceAccounts(s.source.Namespace).Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := secrets.Delete(ctx, sa+"-dockercfg-aaaaa", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	holds("token-two")

	// A namespace created after the rotation gets the new token.
	late := s.namespace(nil)
	createSA(t, late, "default")
	s.waitConverged(late, "default")
	if out := run.lines(); strings.Contains(out, "token-one") || strings.Contains(out, "token-two") {
		t.Error("an outcome holds a token")
	}
}
