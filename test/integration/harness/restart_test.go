package harness

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// A restarted kube-apiserver keeps every object (etcd ran on), answers on
// the same address with the same certificates, so clients made before it
// (the admin's, a least-privilege user's) work on, and ends the watches
// that were open. This test starts a server of its own.
func TestRestartAPIServer(t *testing.T) {
	e, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Error(err)
		}
	})
	ctx := t.Context()
	ns := e.Namespace(t)
	cms := e.Kube.CoreV1().ConfigMaps(ns)
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept"},
		Data: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	userCfg := e.UserConfig(t, "restart-reader", nil, map[string][]rbacv1.PolicyRule{
		ns: {{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}},
	})
	user, err := kubernetes.NewForConfig(userCfg)
	if err != nil {
		t.Fatal(err)
	}
	w, err := cms.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	began := time.Now()
	if err := e.RestartAPIServer(ctx, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	t.Logf("restart with 500 ms down: %s", time.Since(began).Round(10*time.Millisecond))

	timeout := time.After(20 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-w.ResultChan():
		case <-timeout:
			t.Fatal("the watch opened before the restart is still open")
		}
	}
	got, err := cms.Get(ctx, "kept", metav1.GetOptions{})
	if err != nil || got.Data["k"] != "v" {
		t.Fatalf("the object written before the restart: %v, %v", got.Data, err)
	}
	if _, err := user.CoreV1().ConfigMaps(ns).Get(ctx, "kept", metav1.GetOptions{}); err != nil {
		t.Errorf("a user's client certificate from before the restart: %v", err)
	}
	if _, err := user.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the user listed secrets after the restart: err %v, want Forbidden", err)
	}
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "after"}}, metav1.CreateOptions{}); err != nil {
		t.Errorf("write after the restart: %v", err)
	}

	counted, _ := e.Counted(t)
	if err := counted.RestartAPIServer(ctx, 0); err == nil {
		t.Error("a Counted Env restarted the server")
	}
}
