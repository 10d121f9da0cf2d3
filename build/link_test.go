package build

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/internal/kubewrite"
)

func secret(ns, name string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Type: corev1.SecretTypeDockerConfigJson}
}

func serviceAccount(ns, name string, mount []string, pull []string) *corev1.ServiceAccount {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	for _, m := range mount {
		sa.Secrets = append(sa.Secrets, corev1.ObjectReference{Name: m})
	}
	for _, p := range pull {
		sa.ImagePullSecrets = append(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: p})
	}
	return sa
}

func writes(t *testing.T, actions []k8stesting.Action) []string {
	t.Helper()
	var out []string
	for _, a := range actions {
		switch a.GetVerb() {
		case "create", "update", "patch", "delete":
			out = append(out, a.GetVerb()+" "+a.GetResource().Resource)
		}
	}
	return out
}

type saLists struct{ Mount, Pull []string }

func listsOf(sa *corev1.ServiceAccount) saLists {
	var l saLists
	for _, s := range sa.Secrets {
		l.Mount = append(l.Mount, s.Name)
	}
	for _, s := range sa.ImagePullSecrets {
		l.Pull = append(l.Pull, s.Name)
	}
	return l
}

func TestLinkBuilder(t *testing.T) {
	tests := []struct {
		name       string
		sa         *corev1.ServiceAccount
		opts       LinkOptions
		want       saLists
		wantResult registrykit.Result
	}{
		{
			name:       "mount by default, others kept",
			sa:         serviceAccount("proj", "builder", []string{"builder-token-x", "builder-dockercfg-x"}, []string{"builder-dockercfg-x"}),
			want:       saLists{Mount: []string{"builder-token-x", "builder-dockercfg-x", "icr"}, Pull: []string{"builder-dockercfg-x"}},
			wantResult: registrykit.Result{Action: registrykit.Updated, Reason: "added to secrets"},
		},
		{
			name:       "pull only",
			sa:         serviceAccount("proj", "builder", []string{"builder-dockercfg-x"}, []string{"builder-dockercfg-x"}),
			opts:       LinkOptions{Pull: true},
			want:       saLists{Mount: []string{"builder-dockercfg-x"}, Pull: []string{"builder-dockercfg-x", "icr"}},
			wantResult: registrykit.Result{Action: registrykit.Updated, Reason: "added to imagePullSecrets"},
		},
		{
			name:       "pull and mount",
			sa:         serviceAccount("proj", "builder", nil, nil),
			opts:       LinkOptions{Pull: true, Mount: true},
			want:       saLists{Mount: []string{"icr"}, Pull: []string{"icr"}},
			wantResult: registrykit.Result{Action: registrykit.Updated, Reason: "added to secrets and imagePullSecrets"},
		},
		{
			name:       "half linked",
			sa:         serviceAccount("proj", "builder", []string{"icr"}, nil),
			opts:       LinkOptions{Pull: true, Mount: true},
			want:       saLists{Mount: []string{"icr"}, Pull: []string{"icr"}},
			wantResult: registrykit.Result{Action: registrykit.Updated, Reason: "added to imagePullSecrets"},
		},
		{
			name:       "another service account",
			sa:         serviceAccount("proj", "pipeline", nil, nil),
			opts:       LinkOptions{ServiceAccount: "pipeline"},
			want:       saLists{Mount: []string{"icr"}},
			wantResult: registrykit.Result{Action: registrykit.Updated, Reason: "added to secrets"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := kubefake.NewClientset(tt.sa, secret("proj", "icr"))
			res, err := LinkBuilder(t.Context(), kube, "proj", "icr", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantResult, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			got, _ := kube.CoreV1().ServiceAccounts("proj").Get(t.Context(), tt.sa.Name, metav1.GetOptions{})
			if diff := cmp.Diff(tt.want, listsOf(got)); diff != "" {
				t.Errorf("service account (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"update serviceaccounts"}, writes(t, kube.Actions())); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}

			// A second call is a no-op.
			kube.ClearActions()
			res, err = LinkBuilder(t.Context(), kube, "proj", "icr", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(registrykit.Result{Action: registrykit.Unchanged, Reason: "already linked"}, res); diff != "" {
				t.Errorf("second result (-want +got):\n%s", diff)
			}
			if w := writes(t, kube.Actions()); len(w) != 0 {
				t.Errorf("second call wrote %v", w)
			}
		})
	}
}

func TestLinkBuilderRetriesOnConflictWithoutLosingEntries(t *testing.T) {
	kube := kubefake.NewClientset(serviceAccount("proj", "builder", []string{"a"}, nil), secret("proj", "icr"))
	first := true
	kube.PrependReactor("update", "serviceaccounts", func(k8stesting.Action) (bool, runtime.Object, error) {
		if !first {
			return false, nil, nil
		}
		first = false
		// The token controller adds its secret meanwhile.
		sa := serviceAccount("proj", "builder", []string{"a", "builder-dockercfg-z"}, []string{"builder-dockercfg-z"})
		if err := kube.Tracker().Update(schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, sa, "proj"); err != nil {
			t.Fatal(err)
		}
		return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "serviceaccounts"}, "builder", errors.New("modified"))
	})
	if _, err := LinkBuilder(t.Context(), kube, "proj", "icr", LinkOptions{}); err != nil {
		t.Fatal(err)
	}
	var verbs []string
	for _, a := range kube.Actions() {
		verbs = append(verbs, a.GetVerb()+" "+a.GetResource().Resource)
	}
	wantVerbs := []string{"get secrets", "get serviceaccounts", "update serviceaccounts", "get serviceaccounts", "update serviceaccounts"}
	if diff := cmp.Diff(wantVerbs, verbs); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	got, _ := kube.CoreV1().ServiceAccounts("proj").Get(t.Context(), "builder", metav1.GetOptions{})
	want := saLists{Mount: []string{"a", "builder-dockercfg-z", "icr"}, Pull: []string{"builder-dockercfg-z"}}
	if diff := cmp.Diff(want, listsOf(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestLinkBuilderErrors(t *testing.T) {
	tests := []struct {
		name    string
		objects []runtime.Object
		ns, sec string
		opts    LinkOptions
		wantIs  error
		want    *NotFoundError
	}{
		{name: "bad names", ns: "Proj", sec: "a/b", opts: LinkOptions{ServiceAccount: "B"}, wantIs: registrykit.ErrInvalid},
		{name: "missing secret", objects: []runtime.Object{serviceAccount("proj", "builder", nil, nil)}, ns: "proj", sec: "icr", wantIs: ErrNotFound,
			want: &NotFoundError{Kind: "Secret", Namespace: "proj", Name: "icr"}},
		{name: "missing service account", objects: []runtime.Object{secret("proj", "icr")}, ns: "proj", sec: "icr", wantIs: ErrNotFound,
			want: &NotFoundError{Kind: "ServiceAccount", Namespace: "proj", Name: "builder"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := kubefake.NewClientset(tt.objects...)
			_, err := LinkBuilder(t.Context(), kube, tt.ns, tt.sec, tt.opts)
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("err = %v, want %v", err, tt.wantIs)
			}
			if tt.want != nil {
				var nf *NotFoundError
				if !errors.As(err, &nf) {
					t.Fatalf("%v is not a *NotFoundError", err)
				}
				if !apierrors.IsNotFound(err) {
					t.Errorf("apierrors.IsNotFound(%v) = false", err)
				}
				nf.Err = nil
				if diff := cmp.Diff(tt.want, nf); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			}
			if w := writes(t, kube.Actions()); len(w) != 0 {
				t.Errorf("wrote %v", w)
			}
			if tt.wantIs == registrykit.ErrInvalid && len(kube.Actions()) != 0 {
				t.Errorf("API calls before validation: %d", len(kube.Actions()))
			}
		})
	}
}

func TestLinkBuilderGivesUpOnEndlessConflicts(t *testing.T) {
	kube := kubefake.NewClientset(serviceAccount("proj", "builder", nil, nil), secret("proj", "icr"))
	updates := 0
	kube.PrependReactor("update", "serviceaccounts", func(k8stesting.Action) (bool, runtime.Object, error) {
		updates++
		return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "serviceaccounts"}, "builder", errors.New("modified"))
	})
	_, err := LinkBuilder(t.Context(), kube, "proj", "icr", LinkOptions{})
	if !apierrors.IsConflict(err) {
		t.Fatalf("err = %v, want the last Conflict", err)
	}
	if updates != kubewrite.ConflictBackoff.Steps {
		t.Errorf("%d attempts, want %d", updates, kubewrite.ConflictBackoff.Steps)
	}
}
