package registry_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	buildv1 "github.com/openshift/api/build/v1"
	imagev1 "github.com/openshift/api/image/v1"
	routev1 "github.com/openshift/api/route/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	k8stesting "k8s.io/client-go/testing"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/imagestream"
	"github.com/registrykit/registrykit/registry"
	"github.com/registrykit/registrykit/registry/registrytest"
)

// admitRoutes makes the fake route API behave like a router that admits
// every route it sees.
func admitRoutes(c *registrytest.Cluster) {
	admit := func(a k8stesting.Action) (bool, runtime.Object, error) {
		var r *routev1.Route
		switch a := a.(type) {
		case k8stesting.CreateActionImpl:
			r, _ = a.Object.(*routev1.Route)
		case k8stesting.UpdateActionImpl:
			r, _ = a.Object.(*routev1.Route)
		}
		if r != nil {
			r.Status.Ingress = []routev1.RouteIngress{{Host: r.Spec.Host, RouterName: "default",
				Conditions: []routev1.RouteIngressCondition{{Type: routev1.RouteAdmitted, Status: corev1.ConditionTrue}}}}
		}
		return false, nil, nil
	}
	c.RoutesFake.PrependReactor("create", "routes", admit)
	c.RoutesFake.PrependReactor("update", "routes", admit)
}

func TestExposeInternalRegistry(t *testing.T) {
	ctx := context.Background()
	const host = "registry.apps.example.com"
	fx := newFixture(t)
	admitRoutes(fx.cluster)
	got, rep, err := registry.ExposeInternalRegistry(ctx, &fx.cluster.Cluster, registry.ExposeInternalOptions{Hostname: host, Projects: []string{"default"}})
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	if got != host {
		t.Errorf("host = %q, want %q", got, host)
	}
	cfg := secretConfig(t, fx.cluster, "default", "default-registry-route")
	if _, ok := cfg.Get(host); !ok || len(cfg.Auths) != 1 {
		t.Errorf("secret servers = %v", cfg)
	}
	if !slices.Contains(pullSecretsOf(t, fx.cluster, "default", "default"), "default-registry-route") {
		t.Error("not attached")
	}
	var names []string
	for _, s := range rep.Steps {
		names = append(names, s.Name+" "+string(s.Action))
	}
	want := []string{"route created", "route host unchanged", "secret created", "service account updated"}
	if !slices.Equal(names, want) {
		t.Errorf("steps = %v, want %v\n%s", names, want, rep)
	}
	_, rep, err = registry.ExposeInternalRegistry(ctx, &fx.cluster.Cluster, registry.ExposeInternalOptions{Hostname: host, Projects: []string{"default"}})
	if err != nil || rep.Counts()[registrykit.Unchanged] != len(rep.Steps) {
		t.Errorf("rerun: %v\n%s", err, rep)
	}
}

func TestImportImage(t *testing.T) {
	ctx := context.Background()
	const digest = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	fx := newFixture(t)
	imported := func(a k8stesting.Action) (bool, runtime.Object, error) {
		var is *imagev1.ImageStream
		switch a := a.(type) {
		case k8stesting.CreateActionImpl:
			is, _ = a.Object.(*imagev1.ImageStream)
		case k8stesting.UpdateActionImpl:
			is, _ = a.Object.(*imagev1.ImageStream)
		}
		if is != nil {
			is.Status.Tags = nil
			for i := range is.Spec.Tags {
				g := int64(1)
				is.Spec.Tags[i].Generation = &g
				is.Status.Tags = append(is.Status.Tags, imagev1.NamedTagEventList{Tag: is.Spec.Tags[i].Name,
					Items: []imagev1.TagEvent{{Image: digest, Generation: 1, DockerImageReference: "us.icr.io/team/app@" + digest}}})
			}
		}
		return false, nil, nil
	}
	fx.cluster.ImagesFake.PrependReactor("create", "imagestreams", imported)
	fx.cluster.ImagesFake.PrependReactor("update", "imagestreams", imported)
	dest := imagestream.Ref{Namespace: "default", Stream: "app", Tag: "1"}
	got, rep, err := registry.ImportImage(ctx, &fx.cluster.Cluster, "us.icr.io/team/app:1", dest, registry.ImportOptions{ReferencePolicy: imagestream.LocalPolicy})
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	if got != digest || !strings.Contains(rep.String(), "imported "+digest) {
		t.Errorf("digest %q, report:\n%s", got, rep)
	}

	_, _, err = registry.ImportImage(ctx, &fx.cluster.Cluster, "team/app:1", imagestream.Ref{}, registry.ImportOptions{})
	var fe *field.Error
	if !errors.Is(err, registrykit.ErrInvalid) || !errors.As(err, &fe) || fe.Field != "source" || !strings.Contains(err.Error(), "registry host is required") {
		t.Errorf("err = %v, want registrykit.ErrInvalid naming source and its missing registry host", err)
	}
}

func TestBuildPushSecret(t *testing.T) {
	ctx := context.Background()
	bc := &buildv1.BuildConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "app"},
		Spec: buildv1.BuildConfigSpec{CommonSpec: buildv1.CommonSpec{
			Strategy: buildv1.BuildStrategy{Type: buildv1.DockerBuildStrategyType, DockerStrategy: &buildv1.DockerBuildStrategy{}},
			Output:   buildv1.BuildOutput{To: &corev1.ObjectReference{Kind: "DockerImage", Name: "us.icr.io/team/app:latest"}},
		}},
	}
	fx := newFixture(t, namespaceObj("team-a", nil), serviceAccountObj("team-a", "builder"), bc)
	rep, err := registry.BuildPushSecret(ctx, &fx.cluster.Cluster, fx.client, registry.BuildPushOptions{
		ClusterName: "prod", Project: "team-a", BuildConfig: "app", Regions: []string{"us-south"}, RegistryNamespace: "team-a-images",
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	pols := fx.srv.Policies()
	if len(pols) != 1 || !strings.HasSuffix(pols[0].RoleIDs[0], ":Writer") || pols[0].Attributes["resource"] != "team-a-images" {
		t.Errorf("policies = %+v", pols)
	}
	if k := keysOf(fx.srv, "prod-team-a-push-id"); len(k) != 1 || k[0].Name != "prod-team-a-push-key" {
		t.Errorf("keys = %+v", k)
	}
	if cfg := secretConfig(t, fx.cluster, "team-a", "team-a-icr-push"); cfg == nil || len(cfg.Auths) != 2 {
		t.Errorf("secret = %v", cfg)
	}
	sa, _ := fx.cluster.Kube.CoreV1().ServiceAccounts("team-a").Get(ctx, "builder", metav1.GetOptions{})
	if !slices.ContainsFunc(sa.Secrets, func(r corev1.ObjectReference) bool { return r.Name == "team-a-icr-push" }) {
		t.Errorf("builder secrets = %v", sa.Secrets)
	}
	got, _ := fx.cluster.Builds.BuildV1().BuildConfigs("team-a").Get(ctx, "app", metav1.GetOptions{})
	if got.Spec.Output.PushSecret == nil || got.Spec.Output.PushSecret.Name != "team-a-icr-push" {
		t.Errorf("push secret = %v", got.Spec.Output.PushSecret)
	}
}
