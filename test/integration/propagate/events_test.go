package propagate_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/registrykit/registrykit/propagate"
)

// Existing namespaces converge; each namespace gets one create and one
// service account update, and a second Propagator on the converged cluster
// writes nothing.
func TestInitialConvergenceAndRestart(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	s.writeSource(nil, "us.icr.io", "icr.io")
	var nss []string
	for range 5 {
		ns := s.namespace(nil)
		createSA(t, ns, "default", "default-dockercfg-x")
		createSA(t, ns, "builder")
		nss = append(nss, ns)
	}
	outside := createNamespace(t, "p-out-", nil)
	createSA(t, outside, "default")

	rule := s.rule()
	rule.ServiceAccounts = []string{"default", "builder"}
	r := start(t, propagate.Options{Rules: []propagate.Rule{rule}})
	for _, ns := range nss {
		s.waitConverged(ns, "default", "builder")
		if diff := cmp.Diff([]string{"default-dockercfg-x", s.source.Name}, pullRefs(t, ns, "default")); diff != "" {
			t.Errorf("%s/default imagePullSecrets (-want +got):\n%s", ns, diff)
		}
	}
	if err := s.gone(outside); err != nil {
		t.Errorf("namespace outside the selector: %v", err)
	}
	time.Sleep(500 * time.Millisecond) // let the echoes of our own writes come back
	w := writes(r.Counter)
	if len(w) != 15 {
		t.Errorf("%d writes, want 5 creates + 10 updates: %v\n%s", len(w), w, r.lines())
	}
	r.stop(t)

	again := start(t, propagate.Options{Rules: []propagate.Rule{rule}})
	time.Sleep(time.Second)
	if w := writes(again.Counter); len(w) != 0 {
		t.Errorf("restart on a converged cluster wrote %v\n%s", w, again.lines())
	}
	// It read through informers: one list and one watch per informer, no GET.
	for _, res := range []string{"secrets", "serviceaccounts"} {
		if n := again.Counter.Count("get", res); n != 0 {
			t.Errorf("%d GETs of %s on restart", n, res)
		}
	}
}

// The race a real cluster has: the controller manager creates "default" a
// moment after the namespace. The copy comes first, the reference as soon
// as the account exists.
func TestServiceAccountAfterNamespace(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	s.writeSource(nil, "us.icr.io")
	start(t, propagate.Options{Rules: []propagate.Rule{s.rule()}})
	ns := s.namespace(nil)
	eventually(t, "copy before the account", func() error {
		_, err := env.Kube.CoreV1().Secrets(ns).Get(t.Context(), s.source.Name, metav1.GetOptions{})
		return err
	})
	time.Sleep(300 * time.Millisecond)
	createSA(t, ns, "default")
	s.waitConverged(ns, "default")
}

func TestCopyDeletedOrEditedIsRestored(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	s.writeSource(nil, "us.icr.io")
	ns := s.namespace(nil)
	createSA(t, ns, "default")
	start(t, propagate.Options{Rules: []propagate.Rule{s.rule()}})
	s.waitConverged(ns, "default")
	ctx := t.Context()
	secrets := env.Kube.CoreV1().Secrets(ns)

	if err := secrets.Delete(ctx, s.source.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	s.waitConverged(ns, "default")

	cp, err := secrets.Get(ctx, s.source.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cp.Data[corev1.DockerConfigJsonKey] = dockerconfigJSON(t, "evil.example.com")
	if _, err := secrets.Update(ctx, cp, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.waitConverged(ns, "default")
}

func TestReferenceRemovedIsReattached(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	s.writeSource(nil, "us.icr.io")
	ns := s.namespace(nil)
	createSA(t, ns, "default", "mine")
	start(t, propagate.Options{Rules: []propagate.Rule{s.rule()}})
	s.waitConverged(ns, "default")
	sas := env.Kube.CoreV1().ServiceAccounts(ns)
	sa, err := sas.Get(t.Context(), "default", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sa.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "mine"}}
	if _, err := sas.Update(t.Context(), sa, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.waitConverged(ns, "default")
	if diff := cmp.Diff([]string{"mine", s.source.Name}, pullRefs(t, ns, "default")); diff != "" {
		t.Errorf("imagePullSecrets (-want +got):\n%s", diff)
	}
}

// A namespace relabelled out of the selector keeps its copy without Prune;
// with Prune the copy is detached and deleted, other references stay, and a
// same-named secret the rule did not make is never touched.
func TestRelabel(t *testing.T) {
	t.Parallel()
	for _, prune := range []bool{false, true} {
		t.Run(fmt.Sprintf("prune=%v", prune), func(t *testing.T) {
			t.Parallel()
			s := newScope(t)
			s.writeSource(nil, "us.icr.io")
			rule := s.rule()
			rule.Prune = prune
			// team=a within the scope.
			rule.Selector = labels.SelectorFromSet(labels.Set{"registrykit.io/propagate-test": s.id, "team": "a"})
			moving := s.namespace(map[string]string{"team": "a"})
			createSA(t, moving, "default", "mine")
			foreign := s.namespace(map[string]string{"team": "b"})
			createSA(t, foreign, "default")
			if _, err := env.Kube.CoreV1().Secrets(foreign).Create(t.Context(), &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: s.source.Name, Namespace: foreign},
				Type:       corev1.SecretTypeDockerConfigJson,
				Data:       map[string][]byte{corev1.DockerConfigJsonKey: dockerconfigJSON(t, "quay.io")},
			}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			r := start(t, propagate.Options{Rules: []propagate.Rule{rule}})
			s.waitConverged(moving, "default")

			nsc := env.Kube.CoreV1().Namespaces()
			got, err := nsc.Get(t.Context(), moving, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got.Labels["team"] = "b"
			if _, err := nsc.Update(t.Context(), got, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			if prune {
				eventually(t, "pruned", func() error { return s.gone(moving) })
				if diff := cmp.Diff([]string{"mine"}, pullRefs(t, moving, "default")); diff != "" {
					t.Errorf("imagePullSecrets after prune (-want +got):\n%s", diff)
				}
			} else {
				time.Sleep(time.Second)
				if err := s.converged(moving, "default"); err != nil {
					t.Errorf("without prune: %v", err)
				}
			}
			if _, err := env.Kube.CoreV1().Secrets(foreign).Get(t.Context(), s.source.Name, metav1.GetOptions{}); err != nil {
				t.Errorf("foreign secret: %v", err)
			}
			if refs := pullRefs(t, foreign, "default"); len(refs) != 0 {
				t.Errorf("foreign namespace's account got %v", refs)
			}
			t.Log(r.lines())
		})
	}
}

// Every copy follows the source, a removed label included.
func TestSourceUpdate(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	s.writeSource(map[string]string{"tier": "gold"}, "us.icr.io")
	var nss []string
	for range 3 {
		ns := s.namespace(nil)
		createSA(t, ns, "default")
		nss = append(nss, ns)
	}
	start(t, propagate.Options{Rules: []propagate.Rule{s.rule()}})
	for _, ns := range nss {
		s.waitConverged(ns, "default")
	}
	s.writeSource(nil, "us.icr.io", "de.icr.io")
	for _, ns := range nss {
		s.waitConverged(ns, "default")
	}
}

// The source deleted: copies stay, a Warning Event is recorded on the source
// and the metric says so; nothing is deleted. Re-created, it is followed.
func TestSourceDeleted(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	s.writeSource(nil, "us.icr.io")
	ns := s.namespace(nil)
	createSA(t, ns, "default")
	r := start(t, propagate.Options{Rules: []propagate.Rule{s.rule()}})
	s.waitConverged(ns, "default")
	time.Sleep(300 * time.Millisecond)
	r.Counter.Reset()

	if err := env.Kube.CoreV1().Secrets(s.source.Namespace).Delete(t.Context(), s.source.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Warning Event on the source", func() error {
		list, err := env.Kube.CoreV1().Events(s.source.Namespace).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, e := range list.Items {
			if e.Type == corev1.EventTypeWarning && e.Reason == "SourceUnavailable" && e.InvolvedObject.Name == s.source.Name {
				return nil
			}
		}
		return fmt.Errorf("%d events, none SourceUnavailable", len(list.Items))
	})
	later := s.namespace(nil)
	createSA(t, later, "default")
	time.Sleep(time.Second)
	if w := writes(r.Counter); len(w) != 0 {
		t.Errorf("writes while the source is missing: %v", w)
	}
	if err := s.converged(ns, "default"); err == nil || !strings.Contains(err.Error(), "not found") {
		// converged reads the source first; the copy itself must remain.
		t.Logf("converged: %v", err)
	}
	if _, err := env.Kube.CoreV1().Secrets(ns).Get(t.Context(), s.source.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("copy deleted with the source: %v", err)
	}
	body := scrape(t, r.P)
	if !strings.Contains(body, `registrykit_propagate_source_missing{rule="`+s.source.String()+`"} 1`) {
		t.Errorf("metrics do not show the missing source:\n%s", grep(body, "source_missing"))
	}

	s.writeSource(nil, "jp.icr.io")
	s.waitConverged(ns, "default")
	s.waitConverged(later, "default")
}

// A deleted namespace stays Terminating on this server (no namespace
// controller): the Propagator skips it, with no failed write.
func TestTerminatingNamespace(t *testing.T) {
	t.Parallel()
	s := newScope(t)
	s.writeSource(nil, "us.icr.io")
	ns := s.namespace(nil)
	createSA(t, ns, "default")
	if err := env.Kube.CoreV1().Namespaces().Delete(t.Context(), ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	r := start(t, propagate.Options{Rules: []propagate.Rule{s.rule()}})
	time.Sleep(time.Second)
	if w := writes(r.Counter); len(w) != 0 {
		t.Errorf("writes into a terminating namespace: %v\n%s", w, r.lines())
	}
	if body := scrape(t, r.P); strings.Contains(body, "registrykit_propagate_errors_total{") {
		t.Errorf("errors recorded:\n%s", grep(body, "errors_total"))
	}
}
