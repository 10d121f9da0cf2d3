package propagate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	k8stesting "k8s.io/client-go/testing"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/pullsecret"
)

func TestConvergesExistingNamespaces(t *testing.T) {
	f := start(t, Options{Rules: []Rule{{Source: source}}},
		namespace("default", nil), namespace("team-a", nil), namespace("team-b", nil), namespace("no-sa", nil),
		namespace("kube-system", nil), namespace("openshift-config", nil),
		pullSecret(t, "default", "all-icr-io", "us.icr.io", "icr.io"),
		serviceAccount("default", "default"),
		serviceAccount("team-a", "default", "other"), serviceAccount("team-b", "default"), serviceAccount("team-b", "builder"),
		serviceAccount("kube-system", "default"))
	for _, ns := range []string{"team-a", "team-b", "no-sa"} {
		f.copyIn(ns)
	}
	f.attached("team-a", "default", "all-icr-io")
	f.attached("team-b", "default", "all-icr-io")
	f.settle()

	sa, _ := f.kube.CoreV1().ServiceAccounts("team-a").Get(t.Context(), "default", metav1.GetOptions{})
	if diff := cmp.Diff([]corev1.LocalObjectReference{{Name: "other"}, {Name: "all-icr-io"}}, sa.ImagePullSecrets); diff != "" {
		t.Errorf("team-a/default imagePullSecrets (-want +got):\n%s", diff)
	}
	want := []string{
		"create secrets no-sa/all-icr-io",
		"create secrets team-a/all-icr-io",
		"create secrets team-b/all-icr-io",
		"update serviceaccounts team-a/default",
		"update serviceaccounts team-b/default",
	}
	if diff := cmp.Diff(want, f.writes()); diff != "" {
		t.Errorf("writes (-want +got):\n%s\noutcomes:\n%s", diff, f.outcomeLines())
	}
	for _, ns := range []string{"kube-system", "openshift-config"} {
		if _, err := f.getSecret(ns, "all-icr-io"); !apierrors.IsNotFound(err) {
			t.Errorf("%s: copy exists or error %v; system namespaces are excluded by default", ns, err)
		}
	}
	if out := f.outcomeLines(); strings.Contains(out, testPassword) {
		t.Error("an outcome holds the password")
	}
}

func TestFollowsChanges(t *testing.T) {
	f := start(t, Options{Rules: []Rule{{Source: source}}},
		namespace("default", nil), namespace("team-a", nil),
		pullSecret(t, "default", "all-icr-io", "us.icr.io"), serviceAccount("team-a", "default"))
	f.copyIn("team-a")
	f.attached("team-a", "default", "all-icr-io")
	ctx := t.Context()

	t.Run("namespace created, its service account later", func(t *testing.T) {
		if _, err := f.kube.CoreV1().Namespaces().Create(ctx, namespace("late", nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		f.copyIn("late")
		f.settle()
		if _, err := f.kube.CoreV1().ServiceAccounts("late").Create(ctx, serviceAccount("late", "default"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		f.attached("late", "default", "all-icr-io")
	})
	t.Run("copy deleted is restored", func(t *testing.T) {
		if err := f.kube.CoreV1().Secrets("team-a").Delete(ctx, "all-icr-io", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		f.copyIn("team-a")
	})
	t.Run("copy edited is restored", func(t *testing.T) {
		s, _ := f.getSecret("team-a", "all-icr-io")
		s.Data[corev1.DockerConfigJsonKey] = []byte(`{"auths":{}}`)
		if _, err := f.kube.CoreV1().Secrets("team-a").Update(ctx, s, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		f.copyIn("team-a")
	})
	t.Run("reference removed is put back", func(t *testing.T) {
		sa, _ := f.kube.CoreV1().ServiceAccounts("team-a").Get(ctx, "default", metav1.GetOptions{})
		sa.ImagePullSecrets = nil
		if _, err := f.kube.CoreV1().ServiceAccounts("team-a").Update(ctx, sa, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		f.attached("team-a", "default", "all-icr-io")
	})
	t.Run("source updated, a label removed", func(t *testing.T) {
		src := pullSecret(t, "default", "all-icr-io", "us.icr.io", "de.icr.io")
		src.Labels = map[string]string{"keep": "yes"}
		cur, _ := f.getSecret("default", "all-icr-io")
		src.ResourceVersion = cur.ResourceVersion
		if _, err := f.kube.CoreV1().Secrets("default").Update(ctx, src, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		f.eventually("label on copies", func() error {
			for _, ns := range []string{"team-a", "late"} {
				if s := f.copyIn(ns); s.Labels["keep"] != "yes" {
					return fmt.Errorf("%s: labels %v", ns, s.Labels)
				}
			}
			return nil
		})
		src.Labels = nil
		cur, _ = f.getSecret("default", "all-icr-io")
		src.ResourceVersion = cur.ResourceVersion
		if _, err := f.kube.CoreV1().Secrets("default").Update(ctx, src, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		f.eventually("label removed from copies", func() error {
			for _, ns := range []string{"team-a", "late"} {
				if s := f.copyIn(ns); len(s.Labels) != 0 {
					return fmt.Errorf("%s: labels %v", ns, s.Labels)
				}
			}
			return nil
		})
	})
	t.Run("source deleted: copies kept, reported", func(t *testing.T) {
		f.settle()
		f.kube.ClearActions()
		if err := f.kube.CoreV1().Secrets("default").Delete(ctx, "all-icr-io", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		f.eventually("SourceUnavailable event", func() error {
			for _, e := range f.events() {
				if strings.Contains(e, "Warning SourceUnavailable default/all-icr-io") {
					return nil
				}
			}
			return fmt.Errorf("events %v", f.events())
		})
		// A namespace created now gets nothing, and nothing is deleted.
		if _, err := f.kube.CoreV1().Namespaces().Create(ctx, namespace("after", nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		f.settle()
		if diff := cmp.Diff([]string{"create namespaces /after", "delete secrets default/all-icr-io"}, f.writes()); diff != "" {
			t.Errorf("writes after the source was deleted (-want +got; only the test's own):\n%s", diff)
		}
		for _, ns := range []string{"team-a", "late"} {
			if _, err := f.getSecret(ns, "all-icr-io"); err != nil {
				t.Errorf("copy in %s: %v", ns, err)
			}
		}
		if got := metricValue(t, f.p, "registrykit_propagate_source_missing"); got != 1 {
			t.Errorf("source_missing = %v", got)
		}
		// Back: every namespace converges again.
		if _, err := f.kube.CoreV1().Secrets("default").Create(ctx, pullSecret(t, "default", "all-icr-io", "jp.icr.io"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		f.copyIn("after")
		f.copyIn("team-a")
		f.eventually("source_missing back to 0", func() error {
			if got := metricValue(t, f.p, "registrykit_propagate_source_missing"); got != 0 {
				return fmt.Errorf("source_missing = %v", got)
			}
			return nil
		})
	})
}

// A source that is no usable image pull secret (pullsecret.CheckSource) is
// reported like a missing one, by the same words Copy uses, and nothing is
// written until it is fixed.
func TestUnusableSource(t *testing.T) {
	ctx := t.Context()
	bad := pullSecret(t, "default", "all-icr-io", "us.icr.io")
	bad.Type = corev1.SecretTypeOpaque
	f := start(t, Options{Rules: []Rule{{Source: source}}}, namespace("default", nil), namespace("team-a", nil), bad)
	f.eventually("SourceUnavailable event", func() error {
		for _, e := range f.events() {
			if strings.Contains(e, "Warning SourceUnavailable default/all-icr-io") && strings.Contains(e, `has type "Opaque"`) {
				return nil
			}
		}
		return fmt.Errorf("events %v", f.events())
	})
	f.settle()
	if w := f.writes(); len(w) != 0 {
		t.Errorf("writes with an unusable source: %v", w)
	}
	for _, e := range f.events() {
		if strings.Contains(e, testPassword) {
			t.Errorf("event holds the password: %s", e)
		}
	}
	fixed := pullSecret(t, "default", "all-icr-io", "us.icr.io")
	if err := f.kube.CoreV1().Secrets("default").Delete(ctx, "all-icr-io", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.kube.CoreV1().Secrets("default").Create(ctx, fixed, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.copyIn("team-a")
}

func TestRelabel(t *testing.T) {
	for _, prune := range []bool{false, true} {
		t.Run(fmt.Sprintf("prune=%v", prune), func(t *testing.T) {
			sel := labels.SelectorFromSet(labels.Set{"team": "a"})
			f := start(t, Options{Rules: []Rule{{Source: source, Selector: sel, Prune: prune}}},
				namespace("default", nil), namespace("a1", map[string]string{"team": "a"}), namespace("b1", map[string]string{"team": "b"}),
				pullSecret(t, "default", "all-icr-io", "us.icr.io"),
				serviceAccount("a1", "default", "keep-me"), serviceAccount("b1", "default"),
				// A same-named secret the rule did not make, in a namespace
				// outside the selection: never touched.
				pullSecret(t, "b1", "all-icr-io", "us.icr.io"))
			f.copyIn("a1")
			f.attached("a1", "default", "all-icr-io")
			f.settle()
			ns, _ := f.kube.CoreV1().Namespaces().Get(t.Context(), "a1", metav1.GetOptions{})
			ns.Labels = map[string]string{"team": "b"}
			if _, err := f.kube.CoreV1().Namespaces().Update(t.Context(), ns, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			if prune {
				f.eventually("copy deleted", func() error {
					if _, err := f.getSecret("a1", "all-icr-io"); !apierrors.IsNotFound(err) {
						return fmt.Errorf("copy still there (%v)", err)
					}
					return nil
				})
				sa, _ := f.kube.CoreV1().ServiceAccounts("a1").Get(t.Context(), "default", metav1.GetOptions{})
				if diff := cmp.Diff([]corev1.LocalObjectReference{{Name: "keep-me"}}, sa.ImagePullSecrets); diff != "" {
					t.Errorf("imagePullSecrets after prune (-want +got):\n%s", diff)
				}
			} else {
				f.settle()
				f.copyIn("a1")
				f.attached("a1", "default", "all-icr-io")
			}
			if _, err := f.getSecret("b1", "all-icr-io"); err != nil {
				t.Errorf("foreign secret in b1: %v", err)
			}
		})
	}
}

func TestRetiredRuleWithPrune(t *testing.T) {
	f := start(t, Options{Rules: []Rule{{Source: source, Retired: true, Prune: true}}},
		namespace("default", nil), namespace("a1", nil), pullSecret(t, "default", "all-icr-io", "us.icr.io"),
		func() *corev1.Secret {
			s := pullSecret(t, "a1", "all-icr-io", "us.icr.io")
			s.Annotations = map[string]string{pullsecret.AnnotationCopiedFrom: source.String()}
			return s
		}(),
		serviceAccount("a1", "default", "all-icr-io"))
	f.eventually("copy deleted", func() error {
		if _, err := f.getSecret("a1", "all-icr-io"); !apierrors.IsNotFound(err) {
			return fmt.Errorf("copy still there (%v)", err)
		}
		return nil
	})
	f.eventually("detached", func() error {
		sa, _ := f.kube.CoreV1().ServiceAccounts("a1").Get(t.Context(), "default", metav1.GetOptions{})
		if len(sa.ImagePullSecrets) != 0 {
			return fmt.Errorf("imagePullSecrets %v", sa.ImagePullSecrets)
		}
		return nil
	})
	if _, err := f.getSecret("default", "all-icr-io"); err != nil {
		t.Errorf("the source: %v", err)
	}
}

func copiedFrom(s *corev1.Secret, from string) *corev1.Secret {
	s.Annotations = map[string]string{pullsecret.AnnotationCopiedFrom: from}
	return s
}

func TestForeignSecrets(t *testing.T) {
	foreign := func(servers ...string) *corev1.Secret { return pullSecret(t, "team-a", "all-icr-io", servers...) }
	for _, tc := range []struct {
		name     string
		adoption pullsecret.Adoption
		existing *corev1.Secret
		want     registrykit.Action // of the secret in team-a
	}{
		{"leave", pullsecret.LeaveForeign, foreign("us.icr.io"), registrykit.Skipped},
		{"adopt, same registries", pullsecret.AdoptForeign, foreign("us.icr.io"), registrykit.Updated},
		{"adopt, other registries", pullsecret.AdoptForeign, foreign("quay.io"), registrykit.Skipped},
		{"overwrite", pullsecret.OverwriteForeign, foreign("quay.io"), registrykit.Updated},
		// The same rule as pullsecret.Copy: only a secret without a
		// copied-from annotation (what the guide's manual copy made) is
		// adopted; a copy of another source is not.
		{"adopt, copy of another source", pullsecret.AdoptForeign, copiedFrom(foreign("us.icr.io"), "other/all-icr-io"), registrykit.Skipped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := start(t, Options{Rules: []Rule{{Source: source, Adoption: tc.adoption}}},
				namespace("default", nil), namespace("team-a", nil),
				pullSecret(t, "default", "all-icr-io", "us.icr.io"), tc.existing, serviceAccount("team-a", "default"))
			var got Outcome
			f.eventually("an outcome for team-a's secret", func() error {
				f.mu.Lock()
				defer f.mu.Unlock()
				for _, o := range f.outcomes {
					if o.Kind == "Secret" && o.Namespace == "team-a" {
						got = o
						return nil
					}
				}
				return errors.New("none yet")
			})
			if got.Result.Action != tc.want {
				t.Fatalf("outcome %v, want %s", got, tc.want)
			}
			f.settle()
			sa, _ := f.kube.CoreV1().ServiceAccounts("team-a").Get(t.Context(), "default", metav1.GetOptions{})
			if tc.want == registrykit.Skipped {
				if got.Result.Skip != registrykit.SkipForeign || !got.Result.NeedsAttention() {
					t.Errorf("skip %q, want %q with a warning", got.Result.Skip, registrykit.SkipForeign)
				}
				if len(sa.ImagePullSecrets) != 0 {
					t.Errorf("a foreign secret left alone was attached: %v", sa.ImagePullSecrets)
				}
				f.eventually("ForeignSecret event", func() error {
					for _, e := range f.events() {
						if strings.HasPrefix(e, "Warning ForeignSecret team-a/all-icr-io") {
							return nil
						}
					}
					return fmt.Errorf("events %v", f.events())
				})
				return
			}
			f.copyIn("team-a")
			f.attached("team-a", "default", "all-icr-io")
		})
	}
}

// A Conflict on the service account (another writer got there first) is
// retried from the informer's newer copy: the reference is added once and
// the other writer's change is kept.
func TestConflictIsRetriedWithoutDuplicates(t *testing.T) {
	conflicts := 0
	f := start(t, Options{Rules: []Rule{{Source: source}}},
		namespace("default", nil), pullSecret(t, "default", "all-icr-io", "us.icr.io"))
	f.kube.PrependReactor("update", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if conflicts < 1 {
			conflicts++
			// Someone else adds a reference first.
			sa := a.(k8stesting.UpdateAction).GetObject().(*corev1.ServiceAccount)
			other := sa.DeepCopy()
			other.ResourceVersion = "1000000"
			other.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "other"}}
			if err := f.kube.Tracker().Update(schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, other, sa.Namespace); err != nil {
				return true, nil, err
			}
			return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "serviceaccounts"}, sa.Name, errors.New("changed"))
		}
		return false, nil, nil
	})
	ctx := t.Context()
	if _, err := f.kube.CoreV1().Namespaces().Create(ctx, namespace("team-a", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.kube.CoreV1().ServiceAccounts("team-a").Create(ctx, serviceAccount("team-a", "default"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.attached("team-a", "default", "all-icr-io")
	sa, _ := f.kube.CoreV1().ServiceAccounts("team-a").Get(ctx, "default", metav1.GetOptions{})
	if diff := cmp.Diff([]corev1.LocalObjectReference{{Name: "other"}, {Name: "all-icr-io"}}, sa.ImagePullSecrets); diff != "" {
		t.Errorf("imagePullSecrets (-want +got):\n%s", diff)
	}
}

func TestWriteFailureIsReportedAndRetried(t *testing.T) {
	fail := true
	f := start(t, Options{Rules: []Rule{{Source: source}}},
		namespace("default", nil), pullSecret(t, "default", "all-icr-io", "us.icr.io"))
	f.kube.PrependReactor("create", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetNamespace() == "team-a" && fail {
			fail = false
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "all-icr-io", errors.New("webhook says no"))
		}
		return false, nil, nil
	})
	if _, err := f.kube.CoreV1().Namespaces().Create(t.Context(), namespace("team-a", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.copyIn("team-a")
	f.eventually("PropagateFailed event", func() error {
		for _, e := range f.events() {
			if strings.HasPrefix(e, "Warning PropagateFailed /team-a: create secret team-a/all-icr-io for rule default/all-icr-io") {
				return nil
			}
		}
		return fmt.Errorf("events %v", f.events())
	})
	if got := metricValue(t, f.p, "registrykit_propagate_errors_total"); got != 1 {
		t.Errorf("errors_total = %v", got)
	}
}

// Restarting on a converged cluster writes nothing.
func TestRestartOnConvergedClusterWritesNothing(t *testing.T) {
	objs := []any{namespace("default", nil), pullSecret(t, "default", "all-icr-io", "us.icr.io")}
	for i := range 5 {
		objs = append(objs, namespace(fmt.Sprintf("ns-%d", i), nil), serviceAccount(fmt.Sprintf("ns-%d", i), "default"))
	}
	f := start(t, Options{Rules: []Rule{{Source: source}}}, objs...)
	for i := range 5 {
		f.attached(fmt.Sprintf("ns-%d", i), "default", "all-icr-io")
	}
	f.settle()

	// A second Propagator on the same, converged objects.
	f.kube.ClearActions()
	p2, err := New(f.kube, Options{Rules: []Rule{{Source: source}}, Resync: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p2.Start(ctx) }()
	f.eventually("second propagator synced", func() error { return p2.Readyz(nil) })
	f.eventually("second propagator reconciled every namespace", func() error {
		if n := metricValue(t, p2, "registrykit_propagate_reconciles_total"); n < 6 {
			return fmt.Errorf("%v reconciles", n)
		}
		return nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if w := f.writes(); len(w) != 0 {
		t.Errorf("writes on restart: %v", w)
	}
}

func TestOptionsValidation(t *testing.T) {
	_, err := New(fakeKube(), Options{Rules: []Rule{
		{Source: source},
		{Source: source, Exclude: []string{"[unclosed", "u:hunter2@[x"}, ServiceAccounts: []string{"Bad_Name"}},
		{Source: types.NamespacedName{}},
	}, Workers: -1, LeaderElection: &LeaderElection{}})
	var inv *registrykit.InvalidError
	if !errors.Is(err, registrykit.ErrInvalid) || !errors.As(err, &inv) {
		t.Fatalf("err = %v, want an InvalidError", err)
	}
	var got []string
	for _, e := range inv.Errs {
		got = append(got, fmt.Sprintf("%s %s", e.Field, e.Type))
	}
	want := []string{
		"rules[1].exclude[0] " + field.ErrorTypeInvalid.String(),
		"rules[1].exclude[1] " + field.ErrorTypeInvalid.String(),
		"rules[1].serviceAccounts[0] " + field.ErrorTypeInvalid.String(),
		"rules[1].name " + field.ErrorTypeDuplicate.String(),
		"rules[2].source.namespace " + field.ErrorTypeRequired.String(),
		"rules[2].source.name " + field.ErrorTypeRequired.String(),
		"workers " + field.ErrorTypeInvalid.String(),
		"leaderElection.namespace " + field.ErrorTypeRequired.String(),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("field errors (-want +got):\n%s\n%v", diff, err)
	}
	// Globs are checked as pullsecret.Targets checks them: same message,
	// userinfo in an echoed value removed.
	targets := pullsecret.Targets{All: true, Exclude: []string{"[unclosed", "u:hunter2@[x"}}.Validate(field.NewPath("Options", "Rules").Index(1))
	for i, e := range targets {
		if g := inv.Errs[i]; g.Detail != e.Detail || g.BadValue != e.BadValue {
			t.Errorf("Exclude[%d]: %v, want %v as pullsecret.Targets reports it", i, g, e)
		}
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error echoes userinfo: %v", err)
	}
	if _, err := New(fakeKube(), Options{}); !errors.Is(err, registrykit.ErrInvalid) {
		t.Errorf("no rules: err = %v", err)
	}
}

func TestSelection(t *testing.T) {
	sel := labels.SelectorFromSet(labels.Set{"team": "a"})
	deleting := namespace("gone", nil)
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	for _, tc := range []struct {
		name string
		rule Rule
		ns   *corev1.Namespace
		want selection
	}{
		{"all", Rule{Source: source}, namespace("x", nil), selection{selected: true}},
		{"source namespace", Rule{Source: source}, namespace("default", nil), selection{skip: registrykit.SkipSourceNamespace}},
		{"source namespace, renamed copy", Rule{Source: source, CopyName: "other"}, namespace("default", nil), selection{selected: true}},
		{"kube-* by default", Rule{Source: source}, namespace("kube-public", nil), selection{skip: registrykit.SkipExcluded}},
		{"openshift-* by default", Rule{Source: source}, namespace("openshift-config", nil), selection{skip: registrykit.SkipExcluded}},
		{"default exclusions replaced", Rule{Source: source, Exclude: []string{"dev-*"}}, namespace("kube-public", nil), selection{selected: true}},
		{"no exclusions", Rule{Source: source, Exclude: []string{}}, namespace("openshift-config", nil), selection{selected: true}},
		{"own exclusion", Rule{Source: source, Exclude: []string{"dev-*"}}, namespace("dev-1", nil), selection{skip: registrykit.SkipExcluded}},
		{"terminating", Rule{Source: source}, deleting, selection{skip: registrykit.SkipTerminating}},
		{"terminating, named", Rule{Source: source, Namespaces: []string{"gone"}}, deleting, selection{skip: registrykit.SkipTerminating}},
		{"selector matches", Rule{Source: source, Selector: sel}, namespace("x", map[string]string{"team": "a"}), selection{selected: true}},
		{"selector does not match", Rule{Source: source, Selector: sel}, namespace("x", nil), selection{skip: registrykit.SkipExcluded}},
		{"named only", Rule{Source: source, Namespaces: []string{"y"}}, namespace("x", nil), selection{skip: registrykit.SkipExcluded}},
		{"named, excluded glob does not apply", Rule{Source: source, Namespaces: []string{"kube-public"}}, namespace("kube-public", nil), selection{selected: true}},
		{"named or selector", Rule{Source: source, Selector: sel, Namespaces: []string{"y"}}, namespace("x", map[string]string{"team": "a"}), selection{selected: true}},
		{"retired", Rule{Source: source, Retired: true}, namespace("x", nil), selection{skip: registrykit.SkipExcluded}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rule.selects(tc.ns); got != tc.want {
				t.Errorf("selects(%s) = %+v, want %+v", tc.ns.Name, got, tc.want)
			}
		})
	}
}

func TestHealthAndMetrics(t *testing.T) {
	p, err := New(fakeKube(), Options{Rules: []Rule{{Source: source}}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Readyz(nil) == nil {
		t.Error("ready before Start")
	}
	if p.Healthz(nil) != nil {
		t.Error("not healthy")
	}
	srv := httptest.NewServer(p.MetricsHandler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{"registrykit_propagate_queue_depth", "registrykit_propagate_leader"} {
		if !strings.Contains(string(body), name) {
			t.Errorf("metrics lack %s:\n%s", name, body)
		}
	}
}

func TestStartTwiceAndStop(t *testing.T) {
	p, err := New(fakeKube(), Options{Rules: []Rule{{Source: source}}, HealthAddr: "127.0.0.1:0", MetricsAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Start(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for p.Readyz(nil) != nil {
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := p.Start(ctx); err == nil {
		t.Error("second Start succeeded")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Start = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Start did not return after cancel")
	}
}

func TestLeaderElectionSingleReplica(t *testing.T) {
	f := start(t, Options{Rules: []Rule{{Source: source}}, LeaderElection: &LeaderElection{
		Namespace: "default", Identity: "replica-1", LeaseDuration: time.Second, RenewDeadline: 500 * time.Millisecond, RetryPeriod: 100 * time.Millisecond}},
		namespace("default", nil), namespace("team-a", nil), pullSecret(t, "default", "all-icr-io", "us.icr.io"))
	f.copyIn("team-a")
	lease, err := f.kube.CoordinationV1().Leases("default").Get(t.Context(), DefaultLeaseName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := *lease.Spec.HolderIdentity; got != "replica-1" {
		t.Errorf("holder %q", got)
	}
	if f.p.NeedLeaderElection() {
		t.Error("NeedLeaderElection with its own leader election")
	}
}

// The transform may see its own output again (client-go allows that): it
// must keep the fingerprint of the data, not take one of the stripped
// object. A fingerprint annotation it did not write is not trusted.
func TestSecretTransformIsIdempotent(t *testing.T) {
	p, err := New(fakeKube(), Options{Rules: []Rule{{Source: source}}})
	if err != nil {
		t.Fatal(err)
	}
	src := pullSecret(t, "default", "all-icr-io", "us.icr.io")
	want := pullsecret.ContentHash(src)
	cp := pullSecret(t, "team-a", "all-icr-io", "us.icr.io")
	once, _ := p.secretTransform(cp)
	twice, _ := p.secretTransform(once)
	s := twice.(*corev1.Secret)
	if s.Data != nil {
		t.Error("data kept in the cache")
	}
	if got, ok := strings.CutPrefix(s.Annotations[observedHashKey], p.nonce); !ok || got != want {
		t.Errorf("fingerprint %q, want %q", s.Annotations[observedHashKey], want)
	}

	forged := pullSecret(t, "team-b", "all-icr-io")
	forged.Data = nil
	forged.Annotations = map[string]string{observedHashKey: want}
	out, _ := p.secretTransform(forged)
	if got := out.(*corev1.Secret).Annotations[observedHashKey]; got == want || !strings.HasPrefix(got, p.nonce) {
		t.Errorf("forged fingerprint kept: %q", got)
	}
	// The source keeps its data.
	out, _ = p.secretTransform(src)
	if out.(*corev1.Secret).Data == nil {
		t.Error("the source's data was dropped")
	}
}
