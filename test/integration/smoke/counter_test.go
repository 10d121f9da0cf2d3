package smoke

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	routeclient "github.com/openshift/client-go/route/clientset/versioned"

	"github.com/registrykit/registrykit/test/integration/harness"
)

func TestRequestCounterCountsByVerbAndResource(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	cfg, counter := harness.CountRequests(env.Config)
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	routes, err := routeclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	secrets := kube.CoreV1().Secrets(ns)

	s, err := secrets.Create(ctx, pullSecret("counted", dockerConfigJSON(t, "us.icr.io", "iamapikey", "k")), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.Get(ctx, s.Name, metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := secrets.List(ctx, metav1.ListOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// A cluster-wide list is still "list secrets".
	if _, err := kube.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=counted"}); err != nil {
		t.Fatal(err)
	}
	w, err := secrets.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.Stop()
	s.Labels = map[string]string{"counted": "yes"}
	if _, err := secrets.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.Patch(ctx, s.Name, types.MergePatchType, []byte(`{"metadata":{"labels":{"patched":"yes"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := secrets.Delete(ctx, s.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "builder"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := routes.RouteV1().Routes(ns).Create(ctx, registryRoute("counted"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := routes.RouteV1().Routes(ns).UpdateStatus(ctx, r, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Failed requests count too.
	if _, err := secrets.Get(ctx, "missing", metav1.GetOptions{}); err == nil {
		t.Fatal("get missing secret: want NotFound")
	}

	want := map[string]int{
		"create secrets":         1,
		"get secrets":            2,
		"list secrets":           3,
		"watch secrets":          1,
		"update secrets":         1,
		"patch secrets":          1,
		"delete secrets":         1,
		"create serviceaccounts": 1,
		"create routes":          1,
		"update routes/status":   1,
	}
	if diff := cmp.Diff(want, counter.Snapshot()); diff != "" {
		t.Errorf("Snapshot() (-want +got):\n%s", diff)
	}
	if got := counter.Count("list", "secrets"); got != 3 {
		t.Errorf(`Count("list", "secrets") = %d, want 3`, got)
	}
	if got := counter.Count("list", "routes"); got != 0 {
		t.Errorf(`Count("list", "routes") = %d, want 0`, got)
	}
	if got := counter.Total(); got != 13 {
		t.Errorf("Total() = %d, want 13", got)
	}
	wantWrites := []string{"create routes", "create secrets", "create serviceaccounts", "delete secrets", "patch secrets", "update routes/status", "update secrets"}
	if diff := cmp.Diff(wantWrites, counter.Writes()); diff != "" {
		t.Errorf("Writes() (-want +got):\n%s", diff)
	}

	// Requests through env.Config are not counted.
	if _, err := env.Kube.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	counter.Reset()
	if got := counter.Total(); got != 0 {
		t.Errorf("Total() after Reset = %d, want 0", got)
	}
	if _, err := secrets.List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"list secrets": 1}, counter.Snapshot()); diff != "" {
		t.Errorf("Snapshot() after Reset and one list (-want +got):\n%s", diff)
	}
}
