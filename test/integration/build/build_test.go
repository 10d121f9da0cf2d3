package build_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	buildv1 "github.com/openshift/api/build/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/build"
)

// builderWithSecrets creates the builder service account (no controller
// does here) and the named secrets.
func builderWithSecrets(t *testing.T, ns string, secrets ...string) {
	t.Helper()
	_, err := env.Kube.CoreV1().ServiceAccounts(ns).Create(t.Context(), &corev1.ServiceAccount{
		ObjectMeta:       metav1.ObjectMeta{Name: "builder"},
		Secrets:          []corev1.ObjectReference{{Name: "builder-dockercfg-abc"}},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "builder-dockercfg-abc"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		_, err := env.Kube.CoreV1().Secrets(ns).Create(t.Context(), &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: s},
			Type:       corev1.SecretTypeDockerConfigJson,
			Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`)},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestLinkBuilder(t *testing.T) {
	ns := env.Namespace(t)
	builderWithSecrets(t, ns, "icr")
	c, counter := env.Counted(t)
	kube := c.Kube

	res, err := build.LinkBuilder(t.Context(), kube, ns, "icr", build.LinkOptions{Pull: true, Mount: true})
	if err != nil || res.Action != registrykit.Updated {
		t.Fatalf("link: %v, %v", res, err)
	}
	counter.Reset()
	res, err = build.LinkBuilder(t.Context(), kube, ns, "icr", build.LinkOptions{Pull: true, Mount: true})
	if err != nil || res.Action != registrykit.Unchanged {
		t.Errorf("relink: %v, %v", res, err)
	}
	if w := counter.Writes(); len(w) != 0 {
		t.Errorf("relink wrote %v", w)
	}
	sa, err := env.Kube.CoreV1().ServiceAccounts(ns).Get(t.Context(), "builder", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]corev1.ObjectReference{{Name: "builder-dockercfg-abc"}, {Name: "icr"}}, sa.Secrets); diff != "" {
		t.Errorf("secrets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]corev1.LocalObjectReference{{Name: "builder-dockercfg-abc"}, {Name: "icr"}}, sa.ImagePullSecrets); diff != "" {
		t.Errorf("imagePullSecrets (-want +got):\n%s", diff)
	}

	counter.Reset()
	_, err = build.LinkBuilder(t.Context(), kube, ns, "missing", build.LinkOptions{})
	if !errors.Is(err, build.ErrNotFound) || !apierrors.IsNotFound(err) {
		t.Errorf("missing secret: %v", err)
	}
	if w := counter.Writes(); len(w) != 0 {
		t.Errorf("missing secret wrote %v", w)
	}
}

// Concurrent links race on the service account's resourceVersion; none may
// be lost.
func TestConcurrentLinksAllSurvive(t *testing.T) {
	ns := env.Namespace(t)
	const n = 8
	var names []string
	for i := range n {
		names = append(names, fmt.Sprint("secret-", i))
	}
	builderWithSecrets(t, ns, names...)
	c, counter := env.Counted(t)
	kube := c.Kube
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Go(func() {
			if _, err := build.LinkBuilder(t.Context(), kube, ns, name, build.LinkOptions{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	sa, err := env.Kube.CoreV1().ServiceAccounts(ns).Get(t.Context(), "builder", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sa.Secrets) != n+1 {
		t.Errorf("%d mount secrets, want %d: %v", len(sa.Secrets), n+1, sa.Secrets)
	}
	t.Logf("requests: %v", counter.Snapshot())
}

func TestSetSecrets(t *testing.T) {
	ns := env.Namespace(t)
	c, counter := env.Counted(t)
	builds := c.Builds
	create := func(name string, strategy buildv1.BuildStrategy) {
		t.Helper()
		_, err := env.Builds.BuildV1().BuildConfigs(ns).Create(t.Context(), &buildv1.BuildConfig{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: buildv1.BuildConfigSpec{CommonSpec: buildv1.CommonSpec{
				Strategy: strategy,
				Output:   buildv1.BuildOutput{To: &corev1.ObjectReference{Kind: "DockerImage", Name: "us.icr.io/team/app:latest"}},
			}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	create("docker", buildv1.BuildStrategy{Type: buildv1.DockerBuildStrategyType, DockerStrategy: &buildv1.DockerBuildStrategy{}})
	create("pipeline", buildv1.BuildStrategy{Type: buildv1.JenkinsPipelineBuildStrategyType, JenkinsPipelineStrategy: &buildv1.JenkinsPipelineBuildStrategy{Jenkinsfile: "node {}"}})

	res, err := build.SetSecrets(t.Context(), builds, ns, "docker", build.Secrets{Push: "icr", Pull: "icr"}, registrykit.WriteOptions{})
	if err != nil || res.Action != registrykit.Updated {
		t.Fatalf("set: %v, %v", res, err)
	}
	bc, err := env.Builds.BuildV1().BuildConfigs(ns).Get(t.Context(), "docker", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if bc.Spec.Output.PushSecret == nil || bc.Spec.Output.PushSecret.Name != "icr" ||
		bc.Spec.Strategy.DockerStrategy.PullSecret == nil || bc.Spec.Strategy.DockerStrategy.PullSecret.Name != "icr" {
		t.Errorf("stored spec = %+v", bc.Spec)
	}
	if res, err := build.SetSecrets(t.Context(), builds, ns, "docker", build.Secrets{RemovePush: true}, registrykit.WriteOptions{}); err != nil || res.Action != registrykit.Updated {
		t.Errorf("remove push: %v, %v", res, err)
	}

	counter.Reset()
	if _, err := build.SetSecrets(t.Context(), builds, ns, "pipeline", build.Secrets{Pull: "icr"}, registrykit.WriteOptions{}); !errors.Is(err, build.ErrUnsupportedStrategy) {
		t.Errorf("pipeline: %v", err)
	}
	if _, err := build.SetSecrets(t.Context(), builds, ns, "absent", build.Secrets{Push: "icr"}, registrykit.WriteOptions{}); !errors.Is(err, build.ErrNotFound) || !apierrors.IsNotFound(err) {
		t.Errorf("absent: %v", err)
	}
	if w := counter.Writes(); len(w) != 0 {
		t.Errorf("refusals wrote %v", w)
	}
}
