package explain_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/pullsecret"
)

const password = "s3cr3t-integration-key"

func config(t *testing.T, servers ...string) []byte {
	t.Helper()
	c := &dockerconfig.Config{}
	for _, s := range servers {
		c.Set(s, dockerconfig.Entry{Username: "iamapikey", Password: password})
	}
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func createSecret(t *testing.T, ns, name string, typ corev1.SecretType, data map[string][]byte) {
	t.Helper()
	_, err := env.Kube.CoreV1().Secrets(ns).Create(t.Context(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Type: typ, Data: data,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create secret %s/%s: %v", ns, name, err)
	}
}

func pullSecret(t *testing.T, ns, name string, servers ...string) {
	t.Helper()
	createSecret(t, ns, name, corev1.SecretTypeDockerConfigJson, map[string][]byte{corev1.DockerConfigJsonKey: config(t, servers...)})
}

func createSA(t *testing.T, ns, name string, pull ...string) {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	for _, p := range pull {
		sa.ImagePullSecrets = append(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: p})
	}
	if _, err := env.Kube.CoreV1().ServiceAccounts(ns).Create(t.Context(), sa, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create service account %s/%s: %v", ns, name, err)
	}
}

var (
	admissionOnce   sync.Once
	admissionCopies bool
)

// serverCopiesPullSecrets probes, once, whether this API server's
// ServiceAccount admission plugin copies a service account's
// imagePullSecrets into a new pod that lists none.
func serverCopiesPullSecrets(t *testing.T) bool {
	t.Helper()
	admissionOnce.Do(func() {
		ns := env.Namespace(t)
		createSA(t, ns, "probe", "probe-secret")
		p := newPod(ns, "probe", "probe")
		got, err := env.Kube.CoreV1().Pods(ns).Create(t.Context(), p, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create probe pod: %v", err)
		}
		admissionCopies = len(got.Spec.ImagePullSecrets) > 0
	})
	return admissionCopies
}

func newPod(ns, name, sa string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{
			ServiceAccountName: sa,
			Containers:         []corev1.Container{{Name: "app", Image: "us.icr.io/team/app:1"}},
		},
	}
}

// admitPod creates a pod of service account sa that lists no pull
// secrets, as a Deployment's pods usually are. Where the server's
// ServiceAccount admission plugin is off (envtest's default), it fills in
// the account's current imagePullSecrets itself, exactly as the plugin
// would, so the pod looks as it would in a cluster.
func admitPod(t *testing.T, ns, name, sa string) *corev1.Pod {
	t.Helper()
	p := newPod(ns, name, sa)
	if !serverCopiesPullSecrets(t) {
		acct, err := env.Kube.CoreV1().ServiceAccounts(ns).Get(t.Context(), sa, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get service account %s/%s: %v", ns, sa, err)
		}
		p.Spec.ImagePullSecrets = acct.ImagePullSecrets
	}
	got, err := env.Kube.CoreV1().Pods(ns).Create(t.Context(), p, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s/%s: %v", ns, name, err)
	}
	return got
}

func TestServiceAccountAdmission(t *testing.T) {
	// Not an assertion on Explain: it records which way this tier runs,
	// since pods copy their account's secrets only through that plugin.
	if serverCopiesPullSecrets(t) {
		t.Log("the ServiceAccount admission plugin is on: pods get their account's imagePullSecrets from the server")
	} else {
		t.Log("the ServiceAccount admission plugin is off (envtest's default): admitPod copies the account's imagePullSecrets as the plugin would")
	}
}

func explain(t *testing.T, kube kubernetes.Interface, ns string, s pullsecret.Subject, image string) pullsecret.Explanation {
	t.Helper()
	e, err := pullsecret.Explain(t.Context(), kube, ns, s, image)
	if err != nil {
		t.Fatalf("Explain(%+v, %s): %v", s, image, err)
	}
	if out := e.String() + e.Verdict; strings.Contains(out, password) {
		t.Errorf("explanation leaks the password:\n%s", out)
	}
	return e
}

func states(e pullsecret.Explanation) []string {
	var out []string
	for _, s := range e.Secrets {
		out = append(out, s.Name+"="+string(s.State))
	}
	for _, s := range e.NotInPod {
		out = append(out, "+"+s.Name+"="+string(s.State))
	}
	return out
}

// TestPodCreatedBeforeTheAccountWasPatched is the guide's trap: all-icr-io
// is attached to default after web-1 exists, so only new pods get it.
func TestPodCreatedBeforeTheAccountWasPatched(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	createSecret(t, ns, "default-dockercfg-x7k2p", corev1.SecretTypeDockercfg,
		map[string][]byte{corev1.DockerConfigKey: []byte(`{"172.30.1.1:5000":{"auth":"PHRva2VuPjp0b2tlbg=="}}`)})
	createSA(t, ns, "default", "default-dockercfg-x7k2p")
	admitPod(t, ns, "web-1", "default")

	pullSecret(t, ns, "all-icr-io", "icr.io", "us.icr.io", "de.icr.io")
	res, err := pullsecret.AttachToServiceAccount(t.Context(), env.Kube, types.NamespacedName{Namespace: ns, Name: "default"}, "all-icr-io", pullsecret.AttachOptions{})
	if err != nil || res.Action != registrykit.Updated {
		t.Fatalf("attach: %+v %v", res, err)
	}
	web2 := admitPod(t, ns, "web-2", "default")
	if len(web2.Spec.ImagePullSecrets) != 2 {
		t.Fatalf("web-2 created after the patch has %v", web2.Spec.ImagePullSecrets)
	}

	e := explain(t, env.Kube, ns, pullsecret.Subject{Pod: "web-1"}, "us.icr.io/team/app:1")
	if diff := cmp.Diff([]string{"default-dockercfg-x7k2p=no-match", "+all-icr-io=matching"}, states(e)); diff != "" {
		t.Errorf("web-1 states (-want +got):\n%s", diff)
	}
	want := "pod web-1 was created before service account default got all-icr-io (pods copy the account's imagePullSecrets at creation): delete and recreate the pod"
	if e.OK || e.Verdict != want {
		t.Errorf("web-1: OK=%v verdict %q, want %q", e.OK, e.Verdict, want)
	}

	for _, s := range []pullsecret.Subject{{Pod: "web-2"}, {ServiceAccount: "default"}, {}} {
		e := explain(t, env.Kube, ns, s, "us.icr.io/team/app:1")
		wantCreds := []pullsecret.Credential{{Secret: "all-icr-io", Server: "us.icr.io", Username: "iamapikey"}}
		if diff := cmp.Diff(wantCreds, e.Credentials); diff != "" || !e.OK {
			t.Errorf("%+v: OK=%v credentials (-want +got):\n%s\n%s", s, e.OK, diff, e)
		}
	}
}

// TestSecretStatesOnARealServer stores what the API server accepts and
// checks each state; it also shows what it refuses.
func TestSecretStatesOnARealServer(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	data := config(t, "us.icr.io")
	pullSecret(t, ns, "default-us-icr-io", "us.icr.io")
	createSecret(t, ns, "opaque-copy", corev1.SecretTypeOpaque, map[string][]byte{corev1.DockerConfigJsonKey: data})
	// Valid JSON (the server checks that much) but an auth that is not
	// base64 of user:password: the kubelet's decoding fails, and with it
	// every pull of the pod.
	createSecret(t, ns, "bad-auth", corev1.SecretTypeDockerConfigJson,
		map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"us.icr.io":{"auth":"not base64!"}}}`)})
	pullSecret(t, ns, "wildcard", "*.icr.io")

	// What the server refuses, so cannot be a state here.
	for name, d := range map[string]map[string][]byte{
		"wrong-key": {"config.json": data},
		"not-json":  {corev1.DockerConfigJsonKey: []byte("{not json")},
	} {
		_, err := env.Kube.CoreV1().Secrets(ns).Create(t.Context(), &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Type: corev1.SecretTypeDockerConfigJson, Data: d,
		}, metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) {
			t.Errorf("create %s: err = %v, want Invalid from the server", name, err)
		}
	}

	createSA(t, ns, "regional", "default-us-icr-io")
	createSA(t, ns, "copied", "opaque-copy")
	createSA(t, ns, "broken", "default-us-icr-io", "bad-auth")
	createSA(t, ns, "lost", "all-icr-io")
	createSA(t, ns, "globbed", "wildcard")

	tests := []struct {
		sa, image string
		states    []string
		ok        bool
		verdict   string
	}{
		{"regional", "de.icr.io/team/app:1", []string{"default-us-icr-io=no-match"}, false,
			"secret default-us-icr-io has no entry for de.icr.io: "},
		{"copied", "us.icr.io/team/app:1", []string{"opaque-copy=wrong-type"}, false,
			"secret opaque-copy is Opaque: the kubelet ignores it; recreate it as kubernetes.io/dockerconfigjson"},
		{"broken", "us.icr.io/team/app:1", []string{"default-us-icr-io=matching", "bad-auth=unparsable"}, false,
			"secret bad-auth cannot be parsed"},
		{"lost", "us.icr.io/team/app:1", []string{"all-icr-io=missing"}, false,
			"secret all-icr-io is not in namespace " + ns + ": copy it with registry.CopyICRSecret"},
		{"globbed", "icr.io/team/app:1", []string{"wildcard=no-match"}, false, "secret wildcard has no entry for icr.io"},
		{"globbed", "us.icr.io/team/app:1", []string{"wildcard=matching"}, true, "ok: "},
	}
	for _, tt := range tests {
		e := explain(t, env.Kube, ns, pullsecret.Subject{ServiceAccount: tt.sa}, tt.image)
		if diff := cmp.Diff(tt.states, states(e)); diff != "" {
			t.Errorf("%s %s: states (-want +got):\n%s", tt.sa, tt.image, diff)
		}
		if e.OK != tt.ok || !strings.HasPrefix(e.Verdict, tt.verdict) {
			t.Errorf("%s %s: OK=%v verdict %q, want OK=%v and prefix %q", tt.sa, tt.image, e.OK, e.Verdict, tt.ok, tt.verdict)
		}
	}
}

// TestLeastPrivilege: get on pods, service accounts and secrets is all
// Explain needs; without get on secrets it fails with Forbidden.
func TestLeastPrivilege(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	pullSecret(t, ns, "all-icr-io", "us.icr.io")
	createSA(t, ns, "default", "all-icr-io")
	admitPod(t, ns, "web-1", "default")

	get := func(resources ...string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: []string{""}, Resources: resources, Verbs: []string{"get"}}
	}
	cfg := env.UserConfig(t, "explain-reader", nil, map[string][]rbacv1.PolicyRule{ns: {get("pods", "serviceaccounts", "secrets")}})
	kube := kubernetes.NewForConfigOrDie(cfg)
	if e := explain(t, kube, ns, pullsecret.Subject{Pod: "web-1"}, "us.icr.io/team/app:1"); !e.OK {
		t.Errorf("reader: not OK:\n%s", e)
	}

	cfg = env.UserConfig(t, "explain-no-secrets", nil, map[string][]rbacv1.PolicyRule{ns: {get("pods", "serviceaccounts")}})
	_, err := pullsecret.Explain(t.Context(), kubernetes.NewForConfigOrDie(cfg), ns, pullsecret.Subject{Pod: "web-1"}, "us.icr.io/team/app:1")
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "get secret all-icr-io") {
		t.Errorf("without get secrets: err = %v, want Forbidden naming the secret", err)
	}
	var nf *pullsecret.NotFoundError
	if errors.As(err, &nf) {
		t.Errorf("Forbidden reported as not found: %v", err)
	}
}
