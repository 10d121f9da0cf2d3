package build_test

import (
	"context"
	"errors"
	"fmt"

	buildv1 "github.com/openshift/api/build/v1"
	buildfake "github.com/openshift/client-go/build/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/build"
)

func ExampleLinkBuilder() {
	ctx := context.Background()
	kube := kubefake.NewClientset(
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "myproject", Name: "builder"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "myproject", Name: "icr-io"}},
	)
	res, err := build.LinkBuilder(ctx, kube, "myproject", "icr-io", build.LinkOptions{})
	fmt.Println(res.Action, res.Reason, err)
	res, _ = build.LinkBuilder(ctx, kube, "myproject", "icr-io", build.LinkOptions{})
	fmt.Println(res.Action)

	_, err = build.LinkBuilder(ctx, kube, "myproject", "missing", build.LinkOptions{})
	fmt.Println(errors.Is(err, build.ErrNotFound))
	// Output:
	// updated added to secrets <nil>
	// unchanged
	// true
}

func ExampleSetSecrets() {
	ctx := context.Background()
	builds := buildfake.NewClientset(&buildv1.BuildConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: "myproject", Name: "app"},
		Spec: buildv1.BuildConfigSpec{CommonSpec: buildv1.CommonSpec{
			Strategy: buildv1.BuildStrategy{Type: buildv1.DockerBuildStrategyType, DockerStrategy: &buildv1.DockerBuildStrategy{}},
		}},
	})
	res, err := build.SetSecrets(ctx, builds, "myproject", "app", build.Secrets{Push: "icr-io", Pull: "icr-io"}, registrykit.WriteOptions{})
	fmt.Println(res.Action, err)
	fmt.Println(res.Reason)

	_, err = build.SetSecrets(ctx, builds, "myproject", "nope", build.Secrets{Push: "icr-io"}, registrykit.WriteOptions{})
	fmt.Println(err)
	// Output:
	// updated <nil>
	// changed spec.output.pushSecret, spec.strategy.dockerStrategy.pullSecret
	// set build secrets on buildconfig myproject/nope: BuildConfig myproject/nope not found
}
