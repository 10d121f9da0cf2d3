package pullsecret

import (
	"context"
	"errors"
	"slices"
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

var openshiftRegistries = []string{"cloud.openshift.com", "quay.io", "registry.connect.redhat.com", "registry.redhat.io"}

func globalSecret(t *testing.T, servers ...string) *corev1.Secret {
	t.Helper()
	s := pullSecret(t, GlobalNamespace, GlobalName, servers...)
	s.ResourceVersion = "100"
	return s
}

func globalServers(t *testing.T, kube *fake.Clientset) []string {
	t.Helper()
	s := getSecret(t, kube, GlobalNamespace, GlobalName)
	c, err := dockerconfig.Parse(s.Data[corev1.DockerConfigJsonKey])
	if err != nil {
		t.Fatal(err)
	}
	return c.Servers()
}

func TestMergeGlobal(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset(globalSecret(t, openshiftRegistries...))
	var sentRV string
	kube.PrependReactor("update", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		sentRV = a.(k8stesting.UpdateAction).GetObject().(*corev1.Secret).ResourceVersion
		return false, nil, nil
	})
	readRV := getSecret(t, kube, GlobalNamespace, GlobalName).ResourceVersion
	kube.ClearActions()

	res, err := MergeGlobal(ctx, kube, cfgOf(t, "us.icr.io"), GlobalOptions{})
	if err != nil || res.Action != registrykit.Updated {
		t.Fatalf("MergeGlobal = %+v, %v", res, err)
	}
	if !contains(res.Reason, "nodes") {
		t.Errorf("reason %q does not say that nodes need a rollout", res.Reason)
	}
	if sentRV == "" || sentRV != readRV {
		t.Errorf("update carried resourceVersion %q, want the one read (%q)", sentRV, readRV)
	}
	want := append([]string{"us.icr.io"}, openshiftRegistries...)
	if diff := cmp.Diff(sortedCopy(want), globalServers(t, kube)); diff != "" {
		t.Errorf("servers (-want +got):\n%s", diff)
	}

	kube.ClearActions()
	res, err = MergeGlobal(ctx, kube, cfgOf(t, "us.icr.io"), GlobalOptions{})
	if err != nil || res.Action != registrykit.Unchanged {
		t.Fatalf("rerun = %+v, %v", res, err)
	}
	if w := writeActions(kube); len(w) != 0 {
		t.Errorf("rerun wrote %v", w)
	}
	assertNoSecret(t, err, res)
}

func TestMergeGlobalConflictReMerges(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset(globalSecret(t, openshiftRegistries...))
	n := 0
	kube.PrependReactor("update", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		n++
		if n > 1 {
			return false, nil, nil
		}
		// Someone else adds a registry between our read and our write.
		other := globalSecret(t, append([]string{"other.example.com"}, openshiftRegistries...)...)
		if err := kube.Tracker().Update(corev1.SchemeGroupVersion.WithResource("secrets"), other, GlobalNamespace, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		return true, nil, conflict(secretsGR, GlobalName)
	})
	if _, err := MergeGlobal(ctx, kube, cfgOf(t, "us.icr.io"), GlobalOptions{}); err != nil {
		t.Fatal(err)
	}
	want := sortedCopy(append([]string{"us.icr.io", "other.example.com"}, openshiftRegistries...))
	if diff := cmp.Diff(want, globalServers(t, kube)); diff != "" {
		t.Errorf("servers after conflict (-want +got):\n%s", diff)
	}
}

func TestMergeGlobalRefusals(t *testing.T) {
	ctx := context.Background()
	notJSON := globalSecret(t, "quay.io")
	notJSON.Data[corev1.DockerConfigJsonKey] = []byte("{not json")
	tests := []struct {
		name      string
		global    *corev1.Secret
		cfg       *dockerconfig.Config
		opts      GlobalOptions
		check     func(error) bool
		wantWrite bool
	}{
		{"replaces a required registry", globalSecret(t, openshiftRegistries...), replacing(t, "quay.io", "us.icr.io"), GlobalOptions{}, func(err error) bool {
			var m *MissingRequiredError
			return errors.As(err, &m) && len(m.Registries) == 0 && cmp.Equal(m.Replaced, []string{"quay.io"}) && contains(err.Error(), "replace")
		}, false},
		{"replaces a required registry, allowed", globalSecret(t, openshiftRegistries...), replacing(t, "quay.io"), GlobalOptions{AllowMissingRequired: true}, func(err error) bool { return err == nil }, true},
		{"sets a required registry to what it holds", globalSecret(t, openshiftRegistries...), cfgOf(t, "quay.io", "us.icr.io"), GlobalOptions{}, func(err error) bool { return err == nil }, true},
		{"adds a required registry it lacked", globalSecret(t, "quay.io"), replacing(t, "cloud.openshift.com"), GlobalOptions{}, func(err error) bool { return err == nil }, true},
		{"custom required", globalSecret(t, openshiftRegistries...), replacing(t, "quay.io"), GlobalOptions{Required: []string{"registry.redhat.io"}}, func(err error) bool { return err == nil }, true},
		{"not JSON: refuse to touch", notJSON, cfgOf(t, "us.icr.io"), GlobalOptions{AllowMissingRequired: true}, func(err error) bool {
			var ig *InvalidGlobalError
			return errors.Is(err, ErrInvalidGlobal) && errors.As(err, &ig) && contains(err.Error(), "refusing")
		}, false},
		{"nil config", globalSecret(t, openshiftRegistries...), nil, GlobalOptions{}, func(err error) bool { return errors.Is(err, registrykit.ErrInvalid) }, false},
		{"missing global", nil, cfgOf(t, "us.icr.io"), GlobalOptions{}, func(err error) bool {
			return errors.Is(err, ErrNotFound) && apierrors.IsNotFound(err)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var objs []runtime.Object
			if tt.global != nil {
				objs = append(objs, tt.global)
			}
			kube := fake.NewClientset(objs...)
			_, err := MergeGlobal(ctx, kube, tt.cfg, tt.opts)
			if !tt.check(err) {
				t.Errorf("err = %v", err)
			}
			if got := len(writeActions(kube)) > 0; got != tt.wantWrite {
				t.Errorf("wrote = %v, want %v", got, tt.wantWrite)
			}
			assertNoSecret(t, err)
		})
	}
}

// replacing is a config whose entries differ from cfgOf's for the same
// servers.
func replacing(t *testing.T, servers ...string) *dockerconfig.Config {
	t.Helper()
	c := &dockerconfig.Config{}
	for _, s := range servers {
		c.Set(s, dockerconfig.Entry{Username: "other", Password: testPassword + "-new"})
	}
	return c
}

// TestMergeGlobalOnAClusterAlreadyLackingARequiredRegistry: the telemetry
// opt-out removes cloud.openshift.com from the global pull secret. Adding
// icr.io must still work — the merge removes nothing — and the Result
// warns about every required registry that is missing, on every run.
func TestMergeGlobalOnAClusterAlreadyLackingARequiredRegistry(t *testing.T) {
	ctx := context.Background()
	optedOut := []string{"quay.io", "registry.connect.redhat.com", "registry.redhat.io"}
	kube := fake.NewClientset(globalSecret(t, optedOut...))
	for _, want := range []registrykit.Action{registrykit.Updated, registrykit.Unchanged} {
		res, err := MergeGlobal(ctx, kube, cfgOf(t, "us.icr.io"), GlobalOptions{})
		if err != nil || res.Action != want {
			t.Fatalf("MergeGlobal = %+v, %v; want %s", res, err, want)
		}
		if len(res.Warnings) != 1 || !contains(res.Warnings[0], "cloud.openshift.com") || !res.NeedsAttention() {
			t.Errorf("warnings = %q; want one naming cloud.openshift.com", res.Warnings)
		}
	}
	if diff := cmp.Diff(sortedCopy(append([]string{"us.icr.io"}, optedOut...)), globalServers(t, kube)); diff != "" {
		t.Errorf("servers (-want +got):\n%s", diff)
	}
	// Removing a registry that is not required works the same way.
	res, err := RemoveFromGlobal(ctx, kube, []string{"us.icr.io"}, GlobalOptions{})
	if err != nil || res.Action != registrykit.Updated || len(res.Warnings) != 1 {
		t.Errorf("RemoveFromGlobal = %+v, %v; want updated with one warning", res, err)
	}
	// A secret holding every required registry has no warning.
	kube = fake.NewClientset(globalSecret(t, openshiftRegistries...))
	res, err = MergeGlobal(ctx, kube, cfgOf(t, "us.icr.io"), GlobalOptions{})
	if err != nil || len(res.Warnings) != 0 {
		t.Errorf("MergeGlobal = %+v, %v; want no warning", res, err)
	}
}

func TestRemoveFromGlobal(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset(globalSecret(t, append([]string{"us.icr.io", "de.icr.io"}, openshiftRegistries...)...))
	res, err := RemoveFromGlobal(ctx, kube, []string{"https://us.icr.io/v1/", "nothere.example.com"}, GlobalOptions{})
	if err != nil || res.Action != registrykit.Updated {
		t.Fatalf("Remove = %+v, %v", res, err)
	}
	if diff := cmp.Diff(sortedCopy(append([]string{"de.icr.io"}, openshiftRegistries...)), globalServers(t, kube)); diff != "" {
		t.Errorf("servers (-want +got):\n%s", diff)
	}
	res, err = RemoveFromGlobal(ctx, kube, []string{"us.icr.io"}, GlobalOptions{})
	if err != nil || res.Action != registrykit.Unchanged {
		t.Errorf("second remove = %+v, %v", res, err)
	}
	kube.ClearActions()
	_, err = RemoveFromGlobal(ctx, kube, []string{"quay.io"}, GlobalOptions{})
	var m *MissingRequiredError
	if !errors.As(err, &m) || len(writeActions(kube)) != 0 {
		t.Errorf("removing quay.io: err = %v, writes %v", err, writeActions(kube))
	}
	if _, err := RemoveFromGlobal(ctx, kube, nil, GlobalOptions{}); !errors.Is(err, registrykit.ErrInvalid) {
		t.Errorf("no servers: err = %v", err)
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
