package pullsecret

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
)

// testPassword is planted in fixtures; tests assert it never leaks into
// errors, reasons, findings or logs.
const testPassword = "s3cr3t-Pa55w0rd-default"

func cfgOf(t *testing.T, servers ...string) *dockerconfig.Config {
	t.Helper()
	c := &dockerconfig.Config{}
	for _, s := range servers {
		c.Set(s, dockerconfig.Entry{Username: "iamapikey", Password: testPassword})
	}
	return c
}

func marshal(t *testing.T, c *dockerconfig.Config) []byte {
	t.Helper()
	b, err := c.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	return b
}

func pullSecret(t *testing.T, ns, name string, servers ...string) *corev1.Secret {
	t.Helper()
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: marshal(t, cfgOf(t, servers...))},
	}
}

func namespace(name string, lbls map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
}

func serviceAccount(ns, name string, pull ...string) *corev1.ServiceAccount {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	for _, p := range pull {
		sa.ImagePullSecrets = append(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: p})
	}
	return sa
}

// writeActions lists the mutating actions as "verb resource ns/name".
func writeActions(kube *fake.Clientset) []string {
	var out []string
	for _, a := range kube.Actions() {
		switch a.GetVerb() {
		case "create", "update", "delete", "patch", "deletecollection":
			out = append(out, fmt.Sprintf("%s %s %s/%s", a.GetVerb(), a.GetResource().Resource, a.GetNamespace(), actionName(a)))
		}
	}
	return out
}

// readActions lists get/list actions as "verb resource ns".
func readActions(kube *fake.Clientset) []string {
	var out []string
	for _, a := range kube.Actions() {
		switch a.GetVerb() {
		case "get", "list", "watch":
			out = append(out, fmt.Sprintf("%s %s %s", a.GetVerb(), a.GetResource().Resource, a.GetNamespace()))
		}
	}
	return out
}

func actionName(a k8stesting.Action) string {
	switch a := a.(type) {
	case interface{ GetObject() runtime.Object }: // create and update
		if m, ok := a.GetObject().(metav1.Object); ok {
			return m.GetName()
		}
	case k8stesting.DeleteAction:
		return a.GetName()
	case k8stesting.PatchAction:
		return a.GetName()
	}
	return ""
}

// failN makes the first n matching calls fail with err.
func failN(kube *fake.Clientset, verb, resource string, n int32, err error) *atomic.Int32 {
	var calls atomic.Int32
	kube.PrependReactor(verb, resource, func(k8stesting.Action) (bool, runtime.Object, error) {
		if calls.Add(1) <= n {
			return true, nil, err
		}
		return false, nil, nil
	})
	return &calls
}

var (
	secretsGR = schema.GroupResource{Resource: "secrets"}
	saGR      = schema.GroupResource{Resource: "serviceaccounts"}
)

func conflict(gr schema.GroupResource, name string) error {
	return apierrors.NewConflict(gr, name, errors.New("the object has been modified"))
}

func assertNoSecret(t *testing.T, err error, out ...any) {
	t.Helper()
	if err != nil && containsSecret(err.Error()) {
		t.Errorf("error leaks the password: %v", err)
	}
	for _, o := range out {
		if s := fmt.Sprintf("%v %+v %#v", o, o, o); containsSecret(s) {
			t.Errorf("output leaks the password: %s", s)
		}
	}
}

func containsSecret(s string) bool {
	auth := base64.StdEncoding.EncodeToString([]byte("iamapikey:" + testPassword))
	return strings.Contains(s, testPassword) || strings.Contains(s, auth)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// fieldPaths returns the field paths of the *registrykit.InvalidError in err
// (nil when there is none).
func fieldPaths(err error) []string {
	var ie *registrykit.InvalidError
	if !errors.As(err, &ie) {
		return nil
	}
	var out []string
	for _, fe := range ie.Errs {
		out = append(out, fe.Field)
	}
	return out
}
