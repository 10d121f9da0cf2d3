package smoke

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	buildv1 "github.com/openshift/api/build/v1"
	imagev1 "github.com/openshift/api/image/v1"
	imageregistryv1 "github.com/openshift/api/imageregistry/v1"
	operatorv1 "github.com/openshift/api/operator/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The test-only ImageStream CRD serves the typed image client and keeps
// every field (the schema preserves unknown fields); status is a
// subresource, as on OpenShift.
func TestTypedImageStreamRoundTrips(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	images := env.Images.ImageV1().ImageStreams(ns)
	is := &imagev1.ImageStream{
		ObjectMeta: metav1.ObjectMeta{Name: "app"},
		Spec: imagev1.ImageStreamSpec{Tags: []imagev1.TagReference{{
			Name:            "latest",
			From:            &corev1.ObjectReference{Kind: "DockerImage", Name: "us.icr.io/team/app:1.0"},
			ReferencePolicy: imagev1.TagReferencePolicy{Type: imagev1.LocalTagReferencePolicy},
			ImportPolicy:    imagev1.TagImportPolicy{Scheduled: true},
		}}},
	}
	created, err := images.Create(t.Context(), is, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if diff := cmp.Diff(is.Spec, created.Spec); diff != "" {
		t.Errorf("spec after round trip (-want +got):\n%s", diff)
	}

	created.Status.DockerImageRepository = "image-registry.openshift-image-registry.svc:5000/" + ns + "/app"
	updated, err := images.UpdateStatus(t.Context(), created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update status: %v", err)
	}
	if updated.Status.DockerImageRepository != created.Status.DockerImageRepository {
		t.Errorf("status.dockerImageRepository = %q, want %q", updated.Status.DockerImageRepository, created.Status.DockerImageRepository)
	}
}

func TestTypedBuildConfigRoundTrips(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	bc := &buildv1.BuildConfig{
		ObjectMeta: metav1.ObjectMeta{Name: "app"},
		Spec: buildv1.BuildConfigSpec{CommonSpec: buildv1.CommonSpec{
			Strategy: buildv1.BuildStrategy{
				Type: buildv1.DockerBuildStrategyType,
				DockerStrategy: &buildv1.DockerBuildStrategy{
					PullSecret: &corev1.LocalObjectReference{Name: "all-icr-io"},
				},
			},
			Output: buildv1.BuildOutput{
				To:         &corev1.ObjectReference{Kind: "DockerImage", Name: "us.icr.io/team/app:latest"},
				PushSecret: &corev1.LocalObjectReference{Name: "all-icr-io"},
			},
		}},
	}
	created, err := env.Builds.BuildV1().BuildConfigs(ns).Create(t.Context(), bc, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if diff := cmp.Diff(bc.Spec, created.Spec); diff != "" {
		t.Errorf("spec after round trip (-want +got):\n%s", diff)
	}
}

// The imageregistry operator's cluster-scoped Config CRD (what
// `oc patch configs.imageregistry.operator.openshift.io/cluster
// --patch '{"spec":{"defaultRoute":true}}'` changes) is installed.
func TestImageRegistryOperatorConfig(t *testing.T) {
	t.Parallel()
	configs := env.ImageRegistry.ImageregistryV1().Configs()
	cfg := &imageregistryv1.Config{
		ObjectMeta: metav1.ObjectMeta{Name: "smoke-" + env.Namespace(t)},
		Spec: imageregistryv1.ImageRegistrySpec{
			OperatorSpec: operatorv1.OperatorSpec{ManagementState: operatorv1.Managed},
			Replicas:     1,
			DefaultRoute: true,
		},
	}
	created, err := configs.Create(t.Context(), cfg, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Cleanup(func() { _ = configs.Delete(context.Background(), created.Name, metav1.DeleteOptions{}) })
	if !created.Spec.DefaultRoute {
		t.Errorf("spec.defaultRoute = false after create")
	}
}
