package pullsecret

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
)

func TestApply(t *testing.T) {
	ctx := context.Background()
	want := cfgOf(t, "us.icr.io", "de.icr.io")
	tests := []struct {
		name       string
		existing   []runtime.Object
		wantResult registrykit.Action
		wantWrites []string
	}{
		{"missing: create", nil, registrykit.Created, []string{"create secrets team-a/icr"}},
		{"same content: no write", []runtime.Object{pullSecret(t, "team-a", "icr", "de.icr.io", "us.icr.io")}, registrykit.Unchanged, nil},
		{"different content: update", []runtime.Object{pullSecret(t, "team-a", "icr", "us.icr.io")}, registrykit.Updated, []string{"update secrets team-a/icr"}},
		{"unparsable content: update", []runtime.Object{&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "icr", Namespace: "team-a"}, Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte("not json")}}}, registrykit.Updated, []string{"update secrets team-a/icr"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset(tt.existing...)
			res, err := Apply(ctx, kube, "team-a", "icr", want, registrykit.WriteOptions{})
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if res.Action != tt.wantResult {
				t.Errorf("Action = %q, want %q (reason %q)", res.Action, tt.wantResult, res.Reason)
			}
			if diff := cmp.Diff(tt.wantWrites, writeActions(kube)); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			got, err := kube.CoreV1().Secrets("team-a").Get(ctx, "icr", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Type != corev1.SecretTypeDockerConfigJson {
				t.Errorf("type = %q", got.Type)
			}
			parsed, err := dockerconfig.Parse(got.Data[corev1.DockerConfigJsonKey])
			if err != nil || !dockerconfig.Equal(parsed, want) {
				t.Errorf("stored config differs (err %v): %v", err, parsed.Servers())
			}
			assertNoSecret(t, err, res)
		})
	}
}

func TestApplyOptionsReachServer(t *testing.T) {
	kube := fake.NewClientset()
	var got metav1.CreateOptions
	kube.PrependReactor("create", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		got = a.(k8stesting.CreateActionImpl).CreateOptions
		return false, nil, nil
	})
	res, err := Apply(context.Background(), kube, "team-a", "icr", cfgOf(t, "us.icr.io"), registrykit.WriteOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	want := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: "registrykit"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CreateOptions (-want +got):\n%s", diff)
	}
	if res.Action != registrykit.Created || !contains(res.Reason, "dry run") {
		t.Errorf("result = %+v, want created with a dry-run reason", res)
	}
}

func TestApplyRetriesConflictAndAlreadyExists(t *testing.T) {
	ctx := context.Background()
	t.Run("conflict on update", func(t *testing.T) {
		kube := fake.NewClientset(pullSecret(t, "team-a", "icr", "us.icr.io"))
		calls := failN(kube, "update", "secrets", 1, conflict(secretsGR, "icr"))
		res, err := Apply(ctx, kube, "team-a", "icr", cfgOf(t, "de.icr.io"), registrykit.WriteOptions{FieldManager: "me"})
		if err != nil || res.Action != registrykit.Updated {
			t.Fatalf("Apply = %+v, %v", res, err)
		}
		if calls.Load() != 2 {
			t.Errorf("update calls = %d, want 2", calls.Load())
		}
	})
	t.Run("created by someone else in between", func(t *testing.T) {
		kube := fake.NewClientset()
		kube.PrependReactor("create", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
			// Another writer wins the race, then our create fails.
			obj := pullSecret(t, "team-a", "icr", "us.icr.io")
			if err := kube.Tracker().Add(obj); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Error(err)
			}
			return true, nil, apierrors.NewAlreadyExists(secretsGR, "icr")
		})
		res, err := Apply(ctx, kube, "team-a", "icr", cfgOf(t, "de.icr.io"), registrykit.WriteOptions{})
		if err != nil || res.Action != registrykit.Updated {
			t.Fatalf("Apply = %+v, %v", res, err)
		}
	})
	t.Run("forbidden is returned, named", func(t *testing.T) {
		kube := fake.NewClientset()
		failN(kube, "create", "secrets", 100, apierrors.NewForbidden(secretsGR, "icr", errors.New("no")))
		_, err := Apply(ctx, kube, "team-a", "icr", cfgOf(t, "de.icr.io"), registrykit.WriteOptions{})
		if !apierrors.IsForbidden(err) || !contains(err.Error(), "apply secret team-a/icr") {
			t.Fatalf("err = %v, want a named Forbidden", err)
		}
	})
}

func TestApplyRefusesOtherType(t *testing.T) {
	kube := fake.NewClientset(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "icr", Namespace: "team-a"}, Type: corev1.SecretTypeOpaque})
	_, err := Apply(context.Background(), kube, "team-a", "icr", cfgOf(t, "us.icr.io"), registrykit.WriteOptions{})
	if !errors.Is(err, ErrWrongType) {
		t.Fatalf("err = %v, want ErrWrongType", err)
	}
	if w := writeActions(kube); len(w) != 0 {
		t.Errorf("writes = %v, want none", w)
	}
}

func TestApplyValidation(t *testing.T) {
	tests := []struct {
		name          string
		ns, secret    string
		cfg           *dockerconfig.Config
		wantProblems  int
		wantSubstring string
	}{
		{"bad namespace", "Team_A", "icr", cfgOf(t, "us.icr.io"), 1, `namespace: Invalid value: "Team_A"`},
		{"bad name", "team-a", "ICR!", cfgOf(t, "us.icr.io"), 1, `name: Invalid value: "ICR!"`},
		{"nil config", "team-a", "icr", nil, 1, "config: Required value"},
		{"empty config", "team-a", "icr", &dockerconfig.Config{}, 1, "config.auths: Required value: holds no registry"},
		{"everything at once", "", "", nil, 3, "namespace: Required value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset()
			_, err := Apply(context.Background(), kube, tt.ns, tt.secret, tt.cfg, registrykit.WriteOptions{})
			if !errors.Is(err, registrykit.ErrInvalid) {
				t.Fatalf("err = %v, want registrykit.ErrInvalid", err)
			}
			if !contains(err.Error(), tt.wantSubstring) {
				t.Errorf("err = %q, want it to contain %q", err, tt.wantSubstring)
			}
			if n := len(fieldPaths(err)); n != tt.wantProblems {
				t.Errorf("field errors = %d, want %d: %v", len(fieldPaths(err)), tt.wantProblems, err)
			}
			if a := kube.Actions(); len(a) != 0 {
				t.Errorf("API calls on bad input: %v", a)
			}
		})
	}
}
