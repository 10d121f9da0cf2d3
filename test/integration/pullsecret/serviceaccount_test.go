package pullsecret_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/pullsecret"
)

func pullRefs(sa *corev1.ServiceAccount) []string {
	var out []string
	for _, r := range sa.ImagePullSecrets {
		out = append(out, r.Name)
	}
	return out
}

func getSA(t *testing.T, ns, name string) *corev1.ServiceAccount {
	t.Helper()
	sa, err := env.Kube.CoreV1().ServiceAccounts(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sa
}

func TestLinkRealServer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ns := env.Namespace(t)
	createSA(t, ns, "builder", "builder-dockercfg-abc")
	kube, counter := counted(t)
	for _, want := range []registrykit.Action{registrykit.Updated, registrykit.Unchanged} {
		res, err := pullsecret.Link(ctx, kube, types.NamespacedName{Namespace: ns, Name: "builder"}, "icr", pullsecret.For{Pull: true, Mount: true}, registrykit.WriteOptions{})
		if err != nil || res.Action != want {
			t.Fatalf("Link = %+v, %v; want %s", res, err, want)
		}
	}
	sa := getSA(t, ns, "builder")
	if diff := cmp.Diff([]string{"builder-dockercfg-abc", "icr"}, pullRefs(sa)); diff != "" {
		t.Errorf("imagePullSecrets (-want +got):\n%s", diff)
	}
	if len(sa.Secrets) != 1 || sa.Secrets[0].Name != "icr" {
		t.Errorf("secrets = %v", sa.Secrets)
	}
	if n := counter.Count("patch", "serviceaccounts"); n != 0 {
		t.Errorf("patched the service account %d times", n)
	}
	if n := counter.Count("update", "serviceaccounts"); n != 1 {
		t.Errorf("updates = %d, want 1", n)
	}
}

// TestAttachWaitsForServiceAccount: this tier has no controller creating
// "default"; the test creates it late, as OpenShift does asynchronously.
func TestAttachWaitsForServiceAccount(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ns := env.Namespace(t)
	_, err := pullsecret.AttachToServiceAccount(ctx, env.Kube, types.NamespacedName{Namespace: ns, Name: "default"}, "icr", pullsecret.AttachOptions{})
	if !errors.Is(err, pullsecret.ErrNotFound) {
		t.Fatalf("no wait: err = %v, want ErrNotFound", err)
	}
	go func() {
		time.Sleep(1500 * time.Millisecond)
		_, _ = env.Kube.CoreV1().ServiceAccounts(ns).Create(context.Background(),
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns}}, metav1.CreateOptions{})
	}()
	res, err := pullsecret.AttachToServiceAccount(ctx, env.Kube, types.NamespacedName{Namespace: ns, Name: "default"}, "icr", pullsecret.AttachOptions{WaitForServiceAccount: 30 * time.Second})
	if err != nil || res.Action != registrykit.Updated {
		t.Fatalf("with wait: %+v, %v", res, err)
	}
	if diff := cmp.Diff([]string{"icr"}, pullRefs(getSA(t, ns, "default"))); diff != "" {
		t.Errorf("imagePullSecrets (-want +got):\n%s", diff)
	}
}

func TestAttachToServiceAccountsRealServer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	var nss []string
	for i := range 4 {
		ns := env.Namespace(t)
		nss = append(nss, ns)
		if i < 3 {
			createSA(t, ns, "deployer-x", "existing")
		}
	}
	kube, counter := counted(t)
	rep, err := pullsecret.AttachToServiceAccounts(ctx, kube, "deployer-x", "icr", pullsecret.Targets{Namespaces: nss}, pullsecret.ManyOptions{})
	if !errors.Is(err, pullsecret.ErrNotFound) {
		t.Errorf("err = %v, want the missing account in the 4th namespace", err)
	}
	if c := rep.Counts(); c[registrykit.Updated] != 3 || c["failed"] != 1 {
		t.Errorf("counts = %v", c)
	}
	// One cluster-wide List, plus one GET where the account was missing.
	if l, g := counter.Count("list", "serviceaccounts"), counter.Count("get", "serviceaccounts"); l != 1 || g != 1 {
		t.Errorf("list %d get %d: %v", l, g, counter.Snapshot())
	}
	for _, ns := range nss[:3] {
		if diff := cmp.Diff([]string{"existing", "icr"}, pullRefs(getSA(t, ns, "deployer-x"))); diff != "" {
			t.Errorf("%s imagePullSecrets (-want +got):\n%s", ns, diff)
		}
	}
}

// TestAttachUnderConcurrentWriter is the acceptance test for "never drop an
// entry another writer added in between": while AttachToServiceAccount
// runs, another goroutine keeps updating the same service account (a label
// every time, and once its own imagePullSecrets entry), the way a
// well-behaved controller does (Get + Update, retry on Conflict). 20 runs;
// at the end of each, both entries are there.
func TestAttachUnderConcurrentWriter(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ns := env.Namespace(t)
	kube, counter := counted(t)
	const runs = 20
	var conflicts int
	for run := range runs {
		name := fmt.Sprintf("sa-%02d", run)
		createSA(t, ns, name, "default-dockercfg-zz")
		before := counter.Count("update", "serviceaccounts")

		stop := make(chan struct{})
		var wg sync.WaitGroup
		var writerErr error
		wg.Go(func() {
			sas := env.Kube.CoreV1().ServiceAccounts(ns)
			addAt := rand.IntN(4) // add "theirs" at a random point of the race
			for i := 0; ; i++ {
				select {
				case <-stop:
					if i > addAt {
						return
					}
				default:
				}
				err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
					sa, err := sas.Get(ctx, name, metav1.GetOptions{})
					if err != nil {
						return err
					}
					if sa.Labels == nil {
						sa.Labels = map[string]string{}
					}
					sa.Labels["tick"] = fmt.Sprint(i)
					if i == addAt && !slices.Contains(pullRefs(sa), "theirs") {
						sa.ImagePullSecrets = append(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: "theirs"})
					}
					_, err = sas.Update(ctx, sa, metav1.UpdateOptions{FieldManager: "other-writer"})
					return err
				})
				if err != nil {
					writerErr = err
					return
				}
				// A controller yields between its writes; one that never
				// does starves every optimistic-concurrency client (the
				// retry budget runs out), which is not what this test is
				// about: lost entries. Conflicts stay frequent.
				time.Sleep(2*time.Millisecond + time.Duration(rand.IntN(8000))*time.Microsecond)
			}
		})
		res, err := pullsecret.AttachToServiceAccount(ctx, kube, types.NamespacedName{Namespace: ns, Name: name}, "mine", pullsecret.AttachOptions{})
		close(stop)
		wg.Wait()
		if err != nil || res.Action != registrykit.Updated {
			t.Fatalf("run %d: Attach = %+v, %v", run, res, err)
		}
		if writerErr != nil {
			t.Fatalf("run %d: other writer: %v", run, writerErr)
		}
		conflicts += counter.Count("update", "serviceaccounts") - before - 1
		got := pullRefs(getSA(t, ns, name))
		for _, want := range []string{"default-dockercfg-zz", "mine", "theirs"} {
			if !slices.Contains(got, want) {
				t.Errorf("run %d: %q lost: imagePullSecrets = %v", run, want, got)
			}
		}
		if len(got) != 3 {
			t.Errorf("run %d: duplicates: %v", run, got)
		}
	}
	t.Logf("%d runs, %d of our updates hit Conflict and were retried after a re-read", runs, conflicts)
}
