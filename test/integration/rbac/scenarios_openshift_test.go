package rbac_test

import (
	"context"
	"sync"
	"testing"

	buildv1 "github.com/openshift/api/build/v1"
	imagev1 "github.com/openshift/api/image/v1"
	imageregistryv1 "github.com/openshift/api/imageregistry/v1"
	operatorv1 "github.com/openshift/api/operator/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/build"
	"github.com/registrykit/registrykit/imagestream"
	"github.com/registrykit/registrykit/rbac"
	"github.com/registrykit/registrykit/registry"
	"github.com/registrykit/registrykit/route"
)

const registryNS = route.DefaultRouteNamespace // openshift-image-registry

var (
	configLock sync.Mutex // the imageregistry config "cluster"
	fixedOnce  sync.Once
)

// fixed seeds, once, what the 4.x registry lookup and Storage read:
// openshift-image-registry/image-registry, the claim and the operator
// config "cluster" with PVC storage.
func fixed(t *testing.T) {
	t.Helper()
	fixedOnce.Do(func() {
		env.NamespaceNamed(t, registryNS)
		registryService(t, registryNS, "image-registry")
		_, err := env.Kube.CoreV1().PersistentVolumeClaims(registryNS).Create(t.Context(), &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: registry.Claim4x, Namespace: registryNS},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("100Gi")}}},
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		_, err = env.ImageRegistry.ImageregistryV1().Configs().Create(t.Context(), &imageregistryv1.Config{
			ObjectMeta: metav1.ObjectMeta{Name: route.OperatorConfigName},
			Spec: imageregistryv1.ImageRegistrySpec{Replicas: 1, OperatorSpec: operatorv1.OperatorSpec{ManagementState: operatorv1.Managed},
				Storage: imageregistryv1.ImageRegistryConfigStorage{PVC: &imageregistryv1.ImageRegistryConfigStoragePVC{}}},
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		seedRoute(t, registryNS, route.DefaultRouteName, "image-registry", true)
	})
}

func stream(t *testing.T, ns, name, tag, from string, imported bool) {
	t.Helper()
	is, err := env.Images.ImageV1().ImageStreams(ns).Create(t.Context(), &imagev1.ImageStream{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: imagev1.ImageStreamSpec{Tags: []imagev1.TagReference{{Name: tag,
			From: &corev1.ObjectReference{Kind: "DockerImage", Name: from}}}},
	}, metav1.CreateOptions{})
	must(t, err)
	if !imported {
		return
	}
	is.Status.Tags = []imagev1.NamedTagEventList{{Tag: tag, Items: []imagev1.TagEvent{{
		Created: metav1.Now(), DockerImageReference: from, Image: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}}}}
	_, err = env.Images.ImageV1().ImageStreams(ns).UpdateStatus(t.Context(), is, metav1.UpdateOptions{})
	must(t, err)
}

func buildConfig(t *testing.T, ns, name string) {
	t.Helper()
	_, err := env.Builds.BuildV1().BuildConfigs(ns).Create(t.Context(), &buildv1.BuildConfig{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: buildv1.BuildConfigSpec{CommonSpec: buildv1.CommonSpec{
			Strategy: buildv1.BuildStrategy{Type: buildv1.DockerBuildStrategyType, DockerStrategy: &buildv1.DockerBuildStrategy{}},
			Output:   buildv1.BuildOutput{To: &corev1.ObjectReference{Kind: "DockerImage", Name: "us.icr.io/team/app:latest"}},
		}},
	}, metav1.CreateOptions{})
	must(t, err)
}

func target(ns ...string) map[Scope][]string { return map[Scope][]string{rbac.ScopeTarget: ns} }

func init() {
	scenarios[rbac.OpFindRegistryService] = scenario{setup: func(t *testing.T) (map[Scope][]string, call) {
		ns := env.Namespace(t)
		registryService(t, ns, "image-registry")
		return map[Scope][]string{rbac.ScopeRegistry: {ns}}, func(ctx context.Context, c *registry.Cluster) error {
			_, _, err := route.FindRegistryService(ctx, c.Kube, ns, "image-registry")
			return err
		}
	}}
	scenarios[rbac.OpExposeRegistry] = scenario{setup: func(t *testing.T) (map[Scope][]string, call) {
		ns := env.Namespace(t)
		registryService(t, ns, "image-registry")
		seedRoute(t, ns, "old", "image-registry", false)
		return map[Scope][]string{rbac.ScopeRegistry: {ns}}, func(ctx context.Context, c *registry.Cluster) error {
			for _, name := range []string{"new", "old"} {
				if _, _, err := route.ExposeRegistry(ctx, c.Routes, c.Kube, route.ExposeOptions{Namespace: ns, Service: "image-registry", Name: name}); err != nil {
					return err
				}
			}
			return nil
		}
	}}
	scenarios[rbac.OpWaitForHost] = scenario{setup: func(t *testing.T) (map[Scope][]string, call) {
		ns := env.Namespace(t)
		seedRoute(t, ns, "r", "image-registry", true)
		return target(ns), func(ctx context.Context, c *registry.Cluster) error {
			_, err := route.WaitForHost(ctx, c.Routes, ns, "r")
			return err
		}
	}}
	scenarios[rbac.OpEnableDefaultRoute] = scenario{lock: &configLock, setup: func(t *testing.T) (map[Scope][]string, call) {
		fixed(t)
		cfg, err := env.ImageRegistry.ImageregistryV1().Configs().Get(t.Context(), route.OperatorConfigName, metav1.GetOptions{})
		must(t, err)
		cfg.Spec.DefaultRoute = false
		_, err = env.ImageRegistry.ImageregistryV1().Configs().Update(t.Context(), cfg, metav1.UpdateOptions{})
		must(t, err)
		return map[Scope][]string{rbac.ScopeRegistry: {registryNS}}, func(ctx context.Context, c *registry.Cluster) error {
			_, _, err := route.EnableDefaultRoute(ctx, c.Operator, c.Routes, registrykit.WriteOptions{})
			return err
		}
	}}
	scenarios[rbac.OpTag] = scenario{setup: func(t *testing.T) (map[Scope][]string, call) {
		ns := env.Namespace(t)
		stream(t, ns, "old", "1", "us.icr.io/team/other:1", false)
		return target(ns), func(ctx context.Context, c *registry.Cluster) error {
			for _, s := range []string{"new", "old"} {
				if _, err := imagestream.Tag(ctx, c.Images, "us.icr.io/team/app:1", imagestream.Ref{Namespace: ns, Stream: s, Tag: "1"}, imagestream.TagOptions{}); err != nil {
					return err
				}
			}
			return nil
		}
	}}
	scenarios[rbac.OpUntag] = scenario{setup: func(t *testing.T) (map[Scope][]string, call) {
		ns := env.Namespace(t)
		stream(t, ns, "app", "1", "us.icr.io/team/app:1", false)
		return target(ns), func(ctx context.Context, c *registry.Cluster) error {
			_, err := imagestream.Untag(ctx, c.Images, imagestream.Ref{Namespace: ns, Stream: "app", Tag: "1"}, registrykit.WriteOptions{})
			return err
		}
	}}
	scenarios[rbac.OpWaitForImport] = scenario{setup: func(t *testing.T) (map[Scope][]string, call) {
		ns := env.Namespace(t)
		stream(t, ns, "app", "1", "us.icr.io/team/app:1", true)
		return target(ns), func(ctx context.Context, c *registry.Cluster) error {
			_, err := imagestream.WaitForImport(ctx, c.Images, imagestream.Ref{Namespace: ns, Stream: "app", Tag: "1"})
			return err
		}
	}}
	scenarios[rbac.OpLinkBuilder] = scenario{setup: func(t *testing.T) (map[Scope][]string, call) {
		ns := env.Namespace(t)
		serviceAccount(t, ns, build.BuilderServiceAccount)
		pullSecret(t, ns, "push", doc(t, "us.icr.io", "iamapikey", "k"))
		return target(ns), func(ctx context.Context, c *registry.Cluster) error {
			_, err := build.LinkBuilder(ctx, c.Kube, ns, "push", build.LinkOptions{})
			return err
		}
	}}
	scenarios[rbac.OpSetSecrets] = scenario{setup: func(t *testing.T) (map[Scope][]string, call) {
		ns := env.Namespace(t)
		buildConfig(t, ns, "app")
		return target(ns), func(ctx context.Context, c *registry.Cluster) error {
			_, err := build.SetSecrets(ctx, c.Builds, ns, "app", build.Secrets{Push: "push", Pull: "push"}, registrykit.WriteOptions{})
			return err
		}
	}}
	scenarios[rbac.OpCheckBuildConfig] = scenario{setup: func(t *testing.T) (map[Scope][]string, call) {
		ns := env.Namespace(t)
		buildConfig(t, ns, "app")
		return target(ns), func(ctx context.Context, c *registry.Cluster) error {
			return build.CheckBuildConfig(ctx, c.Builds, ns, "app")
		}
	}}
	scenarios[rbac.OpDetectInternal] = scenario{setup: func(t *testing.T) (map[Scope][]string, call) {
		fixed(t)
		return map[Scope][]string{rbac.ScopeRegistry: {registryNS}}, func(ctx context.Context, c *registry.Cluster) error {
			_, err := registry.DetectInternal(ctx, c.Kube)
			return err
		}
	}}
	scenarios[rbac.OpStorage] = scenario{conds: []rbac.Condition{rbac.WhenPVC}, setup: func(t *testing.T) (map[Scope][]string, call) {
		fixed(t)
		return map[Scope][]string{rbac.ScopeRegistry: {registryNS}}, func(ctx context.Context, c *registry.Cluster) error {
			_, err := registry.Storage(ctx, c.Kube, c.Operator)
			return err
		}
	}}
}
