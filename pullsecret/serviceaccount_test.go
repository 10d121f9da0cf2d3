package pullsecret

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/registrykit/registrykit"
)

func getSA(t *testing.T, kube *fake.Clientset, ns, name string) *corev1.ServiceAccount {
	t.Helper()
	sa, err := kube.CoreV1().ServiceAccounts(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get serviceaccount %s/%s: %v", ns, name, err)
	}
	return sa
}

func pullNames(sa *corev1.ServiceAccount) []string {
	var n []string
	for _, r := range sa.ImagePullSecrets {
		n = append(n, r.Name)
	}
	return n
}

func mountNames(sa *corev1.ServiceAccount) []string {
	var n []string
	for _, r := range sa.Secrets {
		n = append(n, r.Name)
	}
	return n
}

func TestLink(t *testing.T) {
	withBoth := serviceAccount("team-a", "builder", "other", "icr")
	withBoth.Secrets = []corev1.ObjectReference{{Name: "icr"}}
	tests := []struct {
		name      string
		sa        *corev1.ServiceAccount
		f         For
		want      registrykit.Action
		wantPull  []string
		wantMount []string
	}{
		{"pull: appended after existing entries", serviceAccount("team-a", "builder", "other"), For{Pull: true}, registrykit.Updated, []string{"other", "icr"}, nil},
		{"pull: already there", serviceAccount("team-a", "builder", "icr"), For{Pull: true}, registrykit.Unchanged, []string{"icr"}, nil},
		{"mount", serviceAccount("team-a", "builder"), For{Mount: true}, registrykit.Updated, nil, []string{"icr"}},
		{"zero For means mount, like oc", serviceAccount("team-a", "builder"), For{}, registrykit.Updated, nil, []string{"icr"}},
		{"pull and mount", serviceAccount("team-a", "builder", "other"), For{Pull: true, Mount: true}, registrykit.Updated, []string{"other", "icr"}, []string{"icr"}},
		{"pull and mount, both there", withBoth, For{Pull: true, Mount: true}, registrykit.Unchanged, []string{"other", "icr"}, []string{"icr"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset(tt.sa)
			res, err := Link(context.Background(), kube, types.NamespacedName{Namespace: "team-a", Name: "builder"}, "icr", tt.f, registrykit.WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Action != tt.want {
				t.Errorf("result = %+v, want %q", res, tt.want)
			}
			got := getSA(t, kube, "team-a", "builder")
			if diff := cmp.Diff(tt.wantPull, pullNames(got)); diff != "" {
				t.Errorf("imagePullSecrets (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantMount, mountNames(got)); diff != "" {
				t.Errorf("secrets (-want +got):\n%s", diff)
			}
			for _, a := range kube.Actions() {
				if a.GetVerb() == "patch" {
					t.Errorf("Link patched the service account: the lists have no merge strategy")
				}
			}
		})
	}
}

// TestAttachKeepsConcurrentWriters simulates another writer that adds its
// own entry and a label between our read and our update: our update fails
// with Conflict, and the retry must keep the other writer's changes.
func TestAttachKeepsConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset(serviceAccount("team-a", "default", "first"))
	var updates int
	kube.PrependReactor("update", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		updates++
		if updates > 1 {
			return false, nil, nil
		}
		other := serviceAccount("team-a", "default", "first", "theirs")
		other.Labels = map[string]string{"touched": "yes"}
		if err := kube.Tracker().Update(corev1.SchemeGroupVersion.WithResource("serviceaccounts"), other, "team-a", metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		return true, nil, conflict(saGR, "default")
	})
	res, err := AttachToServiceAccount(ctx, kube, types.NamespacedName{Namespace: "team-a", Name: "default"}, "all-icr-io", AttachOptions{})
	if err != nil || res.Action != registrykit.Updated {
		t.Fatalf("Attach = %+v, %v", res, err)
	}
	got := getSA(t, kube, "team-a", "default")
	if diff := cmp.Diff([]string{"first", "theirs", "all-icr-io"}, pullNames(got)); diff != "" {
		t.Errorf("imagePullSecrets (-want +got):\n%s", diff)
	}
	if got.Labels["touched"] != "yes" {
		t.Errorf("the other writer's label was lost: %v", got.Labels)
	}
	if updates != 2 {
		t.Errorf("updates = %d, want 2", updates)
	}
}

func TestAttachMissingServiceAccount(t *testing.T) {
	ctx := context.Background()
	t.Run("no wait: typed NotFound, no write", func(t *testing.T) {
		kube := fake.NewClientset()
		_, err := AttachToServiceAccount(ctx, kube, types.NamespacedName{Namespace: "team-a", Name: "default"}, "icr", AttachOptions{})
		var nf *NotFoundError
		if !errors.As(err, &nf) || nf.Kind != "serviceaccount" || !apierrors.IsNotFound(err) {
			t.Fatalf("err = %v, want *NotFoundError for the service account", err)
		}
		if !contains(err.Error(), "link secret icr to serviceaccount team-a/default") {
			t.Errorf("err does not name the objects: %v", err)
		}
		if w := writeActions(kube); len(w) != 0 {
			t.Errorf("writes = %v", w)
		}
	})
	t.Run("wait: created later", func(t *testing.T) {
		kube := fake.NewClientset()
		go func() {
			time.Sleep(700 * time.Millisecond)
			_, _ = kube.CoreV1().ServiceAccounts("team-a").Create(ctx, serviceAccount("team-a", "default"), metav1.CreateOptions{})
		}()
		res, err := AttachToServiceAccount(ctx, kube, types.NamespacedName{Namespace: "team-a", Name: "default"}, "icr", AttachOptions{WaitForServiceAccount: 10 * time.Second})
		if err != nil || res.Action != registrykit.Updated {
			t.Fatalf("Attach = %+v, %v", res, err)
		}
		if diff := cmp.Diff([]string{"icr"}, pullNames(getSA(t, kube, "team-a", "default"))); diff != "" {
			t.Errorf("imagePullSecrets (-want +got):\n%s", diff)
		}
	})
	t.Run("wait: times out", func(t *testing.T) {
		kube := fake.NewClientset()
		start := time.Now()
		_, err := AttachToServiceAccount(ctx, kube, types.NamespacedName{Namespace: "team-a", Name: "default"}, "icr", AttachOptions{WaitForServiceAccount: 600 * time.Millisecond})
		if !errors.Is(err, ErrNotFound) || !contains(err.Error(), "waited") {
			t.Fatalf("err = %v, want a NotFound after waiting", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("waited %s, want about 600ms", d)
		}
	})
	t.Run("wait: ctx cancelled", func(t *testing.T) {
		kube := fake.NewClientset()
		cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		_, err := AttachToServiceAccount(cctx, kube, types.NamespacedName{Namespace: "team-a", Name: "default"}, "icr", AttachOptions{WaitForServiceAccount: time.Hour})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the context's error", err)
		}
	})
}

func TestAttachErrorsFromServer(t *testing.T) {
	kube := fake.NewClientset(serviceAccount("team-a", "default"))
	failN(kube, "update", "serviceaccounts", 100, apierrors.NewForbidden(saGR, "default", errors.New("no")))
	_, err := AttachToServiceAccount(context.Background(), kube, types.NamespacedName{Namespace: "team-a", Name: "default"}, "icr", AttachOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("err = %v, want Forbidden", err)
	}
	t.Run("conflict forever gives up", func(t *testing.T) {
		kube := fake.NewClientset(serviceAccount("team-a", "default"))
		calls := failN(kube, "update", "serviceaccounts", 1000, conflict(saGR, "default"))
		_, err := AttachToServiceAccount(context.Background(), kube, types.NamespacedName{Namespace: "team-a", Name: "default"}, "icr", AttachOptions{})
		if !apierrors.IsConflict(err) || calls.Load() < 2 {
			t.Fatalf("err = %v after %d updates, want Conflict after retries", err, calls.Load())
		}
	})
}

func TestLinkValidation(t *testing.T) {
	kube := fake.NewClientset()
	_, err := AttachToServiceAccount(context.Background(), kube, types.NamespacedName{Namespace: "Bad NS", Name: ""}, "x_y", AttachOptions{WaitForServiceAccount: -time.Second})
	if !errors.Is(err, registrykit.ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	if diff := cmp.Diff([]string{"account.namespace", "account.name", "secret", "waitForServiceAccount"}, fieldPaths(err)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if len(kube.Actions()) != 0 {
		t.Errorf("API calls on bad input: %v", kube.Actions())
	}
}

func TestAttachToServiceAccounts(t *testing.T) {
	ctx := context.Background()
	objs := []runtime.Object{
		serviceAccount("a", "default"),
		serviceAccount("b", "default", "all-icr-io"),
		serviceAccount("c", "default", "x"),
		serviceAccount("c", "builder"),
	}
	var nss []string
	for i := range 20 {
		ns := fmt.Sprintf("p-%02d", i)
		nss = append(nss, ns)
		objs = append(objs, serviceAccount(ns, "default"))
	}
	kube := fake.NewClientset(objs...)
	rep, err := AttachToServiceAccounts(ctx, kube, "default", "all-icr-io", Targets{Namespaces: append([]string{"a", "b", "c", "nosa"}, nss...)}, ManyOptions{})
	if err == nil || !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want the missing service account in nosa", err)
	}
	got := outcomes(rep)
	if got["a"] != registrykit.Updated || got["b"] != registrykit.Unchanged || got["c"] != registrykit.Updated || got["nosa"] != "error" {
		t.Errorf("outcomes = %v", got)
	}
	if c := rep.Counts(); c[registrykit.Updated] != 22 || c[registrykit.Unchanged] != 1 || c["failed"] != 1 {
		t.Errorf("counts = %v", c)
	}
	// One List of every "default" account, then one GET only where it was
	// missing from that List.
	wantReads := []string{"list serviceaccounts ", "get serviceaccounts nosa"}
	if diff := cmp.Diff(wantReads, readActions(kube)); diff != "" {
		t.Errorf("reads (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"x", "all-icr-io"}, pullNames(getSA(t, kube, "c", "default"))); diff != "" {
		t.Errorf("c/default imagePullSecrets (-want +got):\n%s", diff)
	}
	if n := len(getSA(t, kube, "c", "builder").ImagePullSecrets); n != 0 {
		t.Errorf("c/builder was changed")
	}
	if _, err := AttachToServiceAccounts(ctx, kube, "default", "icr", Targets{}, ManyOptions{}); !errors.Is(err, registrykit.ErrInvalid) {
		t.Errorf("empty targets: err = %v", err)
	}
}
