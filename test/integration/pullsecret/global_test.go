package pullsecret_test

import (
	"encoding/base64"
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/pullsecret"
)

// globalMu serialises the tests that share openshift-config/pull-secret
// (one API server per package, fixed name).
var globalMu sync.Mutex

func resetGlobal(t *testing.T, sec *corev1.Secret) {
	t.Helper()
	env.NamespaceNamed(t, pullsecret.GlobalNamespace)
	ctx := t.Context()
	err := env.Kube.CoreV1().Secrets(pullsecret.GlobalNamespace).Delete(ctx, pullsecret.GlobalName, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	sec.Name, sec.Namespace = pullsecret.GlobalName, pullsecret.GlobalNamespace
	createSecret(t, sec)
}

func openshiftGlobal(t *testing.T) *corev1.Secret {
	t.Helper()
	c := &dockerconfig.Config{}
	for _, r := range pullsecret.DefaultRequired {
		c.Set(r, dockerconfig.Entry{Auth: base64.StdEncoding.EncodeToString([]byte("ocp:token-" + r)), Email: "ops@example.com"})
	}
	return &corev1.Secret{Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: docBytes(t, c)}}
}

func globalServers(t *testing.T) []string {
	t.Helper()
	s := getSecret(t, pullsecret.GlobalNamespace, pullsecret.GlobalName)
	c, err := dockerconfig.Parse(s.Data[corev1.DockerConfigJsonKey])
	if err != nil {
		t.Fatal(err)
	}
	return c.Servers()
}

func TestMergeGlobalRealServer(t *testing.T) {
	globalMu.Lock()
	defer globalMu.Unlock()
	ctx := t.Context()
	resetGlobal(t, openshiftGlobal(t))
	kube, counter := counted(t)

	res, err := pullsecret.MergeGlobal(ctx, kube, icr(t, "us.icr.io", "de.icr.io"), pullsecret.GlobalOptions{})
	if err != nil || res.Action != registrykit.Updated {
		t.Fatalf("MergeGlobal = %+v, %v", res, err)
	}
	want := []string{"cloud.openshift.com", "de.icr.io", "quay.io", "registry.connect.redhat.com", "registry.redhat.io", "us.icr.io"}
	if diff := cmp.Diff(want, globalServers(t)); diff != "" {
		t.Errorf("servers (-want +got):\n%s", diff)
	}
	counter.Reset()
	if res, err := pullsecret.MergeGlobal(ctx, kube, icr(t, "us.icr.io"), pullsecret.GlobalOptions{}); err != nil || res.Action != registrykit.Unchanged || writes(counter, "secrets") != 0 {
		t.Errorf("rerun = %+v, %v, %v", res, err, counter.Snapshot())
	}

	// Remove, and refuse to remove what OpenShift needs.
	if res, err := pullsecret.RemoveFromGlobal(ctx, kube, []string{"de.icr.io"}, pullsecret.GlobalOptions{}); err != nil || res.Action != registrykit.Updated {
		t.Errorf("remove = %+v, %v", res, err)
	}
	_, err = pullsecret.RemoveFromGlobal(ctx, kube, []string{"quay.io"}, pullsecret.GlobalOptions{})
	var missing *pullsecret.MissingRequiredError
	if !errors.As(err, &missing) {
		t.Errorf("removing quay.io: err = %v", err)
	}
	if diff := cmp.Diff([]string{"cloud.openshift.com", "quay.io", "registry.connect.redhat.com", "registry.redhat.io", "us.icr.io"}, globalServers(t)); diff != "" {
		t.Errorf("servers (-want +got):\n%s", diff)
	}
}

// TestMergeGlobalConcurrentMergesLoseNothing: several MergeGlobal calls at
// once, each adding its own registry. The server's resourceVersion check
// turns every lost race into a Conflict; the loser re-reads and re-merges.
func TestMergeGlobalConcurrentMergesLoseNothing(t *testing.T) {
	globalMu.Lock()
	defer globalMu.Unlock()
	ctx := t.Context()
	resetGlobal(t, openshiftGlobal(t))
	kube, counter := counted(t)
	regs := []string{"us.icr.io", "de.icr.io", "jp.icr.io", "uk.icr.io", "au.icr.io", "br.icr.io"}
	var wg sync.WaitGroup
	errs := make([]error, len(regs))
	for i, r := range regs {
		wg.Go(func() {
			_, errs[i] = pullsecret.MergeGlobal(ctx, kube, icr(t, r), pullsecret.GlobalOptions{})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	got := globalServers(t)
	for _, r := range append(regs, pullsecret.DefaultRequired...) {
		if !contains(got, r) {
			t.Errorf("%s lost; servers = %v", r, got)
		}
	}
	t.Logf("%d merges, %d updates sent (the extra ones lost a race and were re-merged)", len(regs), counter.Count("update", "secrets"))
}

func TestMergeGlobalRefusesInvalid(t *testing.T) {
	globalMu.Lock()
	defer globalMu.Unlock()
	ctx := t.Context()
	// The API server insists .dockerconfigjson is JSON, but not that its
	// entries are sane: an auth that is not base64 of user:password, and a
	// secret of the wrong type, must both be refused.
	badAuth := &corev1.Secret{Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{
		corev1.DockerConfigJsonKey: []byte(`{"auths":{"quay.io":{"auth":"%%%not-base64"}}}`)}}
	opaque := &corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"x": []byte("{")}}
	for name, sec := range map[string]*corev1.Secret{"bad auth": badAuth, "opaque": opaque} {
		t.Run(name, func(t *testing.T) {
			resetGlobal(t, sec)
			before := getSecret(t, pullsecret.GlobalNamespace, pullsecret.GlobalName).ResourceVersion
			_, err := pullsecret.MergeGlobal(ctx, env.Kube, icr(t, "us.icr.io"), pullsecret.GlobalOptions{AllowMissingRequired: true})
			if !errors.Is(err, pullsecret.ErrInvalidGlobal) {
				t.Fatalf("err = %v, want ErrInvalidGlobal", err)
			}
			if after := getSecret(t, pullsecret.GlobalNamespace, pullsecret.GlobalName).ResourceVersion; after != before {
				t.Errorf("the invalid global pull secret was modified")
			}
		})
	}
	// Leave a valid one for other tests.
	resetGlobal(t, openshiftGlobal(t))
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
