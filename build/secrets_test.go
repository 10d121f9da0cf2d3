package build

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	buildv1 "github.com/openshift/api/build/v1"
	buildfake "github.com/openshift/client-go/build/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/registrykit/registrykit"
)

func ref(name string) *corev1.LocalObjectReference { return &corev1.LocalObjectReference{Name: name} }

func buildConfig(strategy buildv1.BuildStrategy, mutate ...func(*buildv1.BuildConfig)) *buildv1.BuildConfig {
	bc := &buildv1.BuildConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: "proj", Name: "app", Labels: map[string]string{"app": "x"}},
		Spec: buildv1.BuildConfigSpec{CommonSpec: buildv1.CommonSpec{
			Strategy: strategy,
			Output:   buildv1.BuildOutput{To: &corev1.ObjectReference{Kind: "DockerImage", Name: "us.icr.io/team/app:latest"}},
		}},
	}
	for _, m := range mutate {
		m(bc)
	}
	return bc
}

func docker(pull *corev1.LocalObjectReference) buildv1.BuildStrategy {
	return buildv1.BuildStrategy{Type: buildv1.DockerBuildStrategyType, DockerStrategy: &buildv1.DockerBuildStrategy{PullSecret: pull}}
}

func source(pull *corev1.LocalObjectReference) buildv1.BuildStrategy {
	return buildv1.BuildStrategy{Type: buildv1.SourceBuildStrategyType, SourceStrategy: &buildv1.SourceBuildStrategy{
		From: corev1.ObjectReference{Kind: "DockerImage", Name: "us.icr.io/team/s2i:1"}, PullSecret: pull}}
}

func custom(pull *corev1.LocalObjectReference) buildv1.BuildStrategy {
	return buildv1.BuildStrategy{Type: buildv1.CustomBuildStrategyType, CustomStrategy: &buildv1.CustomBuildStrategy{
		From: corev1.ObjectReference{Kind: "DockerImage", Name: "us.icr.io/team/builder:1"}, PullSecret: pull}}
}

func pushSecret(name string) func(*buildv1.BuildConfig) {
	return func(bc *buildv1.BuildConfig) { bc.Spec.Output.PushSecret = ref(name) }
}

func TestSetSecrets(t *testing.T) {
	tests := []struct {
		name       string
		bc         *buildv1.BuildConfig
		secrets    Secrets
		want       *buildv1.BuildConfig
		wantResult registrykit.Result
	}{
		{
			name:       "docker push and pull",
			bc:         buildConfig(docker(nil)),
			secrets:    Secrets{Push: "icr-push", Pull: "icr-pull"},
			want:       buildConfig(docker(ref("icr-pull")), pushSecret("icr-push")),
			wantResult: registrykit.Result{Action: registrykit.Updated, Reason: "changed spec.output.pushSecret, spec.strategy.dockerStrategy.pullSecret"},
		},
		{
			name:       "source pull only keeps the push secret",
			bc:         buildConfig(source(ref("old")), pushSecret("p")),
			secrets:    Secrets{Pull: "icr"},
			want:       buildConfig(source(ref("icr")), pushSecret("p")),
			wantResult: registrykit.Result{Action: registrykit.Updated, Reason: "changed spec.strategy.sourceStrategy.pullSecret"},
		},
		{
			name:       "custom pull",
			bc:         buildConfig(custom(nil)),
			secrets:    Secrets{Pull: "icr"},
			want:       buildConfig(custom(ref("icr"))),
			wantResult: registrykit.Result{Action: registrykit.Updated, Reason: "changed spec.strategy.customStrategy.pullSecret"},
		},
		{
			name:       "remove push",
			bc:         buildConfig(docker(ref("icr")), pushSecret("icr")),
			secrets:    Secrets{RemovePush: true},
			want:       buildConfig(docker(ref("icr"))),
			wantResult: registrykit.Result{Action: registrykit.Updated, Reason: "changed spec.output.pushSecret"},
		},
		{
			name:       "remove pull, set push",
			bc:         buildConfig(docker(ref("icr"))),
			secrets:    Secrets{RemovePull: true, Push: "icr"},
			want:       buildConfig(docker(nil), pushSecret("icr")),
			wantResult: registrykit.Result{Action: registrykit.Updated, Reason: "changed spec.output.pushSecret, spec.strategy.dockerStrategy.pullSecret"},
		},
		{
			name:       "already set",
			bc:         buildConfig(docker(ref("icr")), pushSecret("icr")),
			secrets:    Secrets{Push: "icr", Pull: "icr"},
			want:       buildConfig(docker(ref("icr")), pushSecret("icr")),
			wantResult: registrykit.Result{Action: registrykit.Unchanged, Reason: "secrets already as requested"},
		},
		{
			name:       "removing what is not there",
			bc:         buildConfig(source(nil)),
			secrets:    Secrets{RemovePush: true, RemovePull: true},
			want:       buildConfig(source(nil)),
			wantResult: registrykit.Result{Action: registrykit.Unchanged, Reason: "secrets already as requested"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			builds := buildfake.NewClientset(tt.bc)
			res, err := SetSecrets(t.Context(), builds, "proj", "app", tt.secrets, registrykit.WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantResult, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			wantWrites := []string{"update buildconfigs"}
			if tt.wantResult.Action == registrykit.Unchanged {
				wantWrites = nil
			}
			if diff := cmp.Diff(wantWrites, writes(t, builds.Actions())); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			got, _ := builds.BuildV1().BuildConfigs("proj").Get(t.Context(), "app", metav1.GetOptions{})
			if diff := cmp.Diff(tt.want.Spec, got.Spec); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want.Labels, got.Labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetSecretsErrors(t *testing.T) {
	pipeline := buildv1.BuildStrategy{Type: buildv1.JenkinsPipelineBuildStrategyType, JenkinsPipelineStrategy: &buildv1.JenkinsPipelineBuildStrategy{Jenkinsfile: "node {}"}}
	tests := []struct {
		name    string
		objects []runtime.Object
		ns, bc  string
		secrets Secrets
		wantIs  error
		check   func(*testing.T, error)
	}{
		{name: "nothing requested", ns: "proj", bc: "app", wantIs: registrykit.ErrInvalid},
		{name: "set and remove", ns: "proj", bc: "app", secrets: Secrets{Push: "a", RemovePush: true, Pull: "b", RemovePull: true}, wantIs: registrykit.ErrInvalid},
		{name: "bad names", ns: "Proj", bc: "", secrets: Secrets{Push: "A_B"}, wantIs: registrykit.ErrInvalid},
		{
			name: "missing buildconfig", ns: "proj", bc: "app", secrets: Secrets{Push: "icr"}, wantIs: ErrNotFound,
			check: func(t *testing.T, err error) {
				var nf *NotFoundError
				if !errors.As(err, &nf) || nf.Kind != "BuildConfig" || nf.Name != "app" || !apierrors.IsNotFound(err) {
					t.Errorf("err = %#v, want *NotFoundError for BuildConfig app that IsNotFound", err)
				}
			},
		},
		{
			name: "jenkins pipeline", objects: []runtime.Object{buildConfig(pipeline)}, ns: "proj", bc: "app", secrets: Secrets{Pull: "icr"}, wantIs: ErrUnsupportedStrategy,
			check: func(t *testing.T, err error) {
				var se *StrategyError
				if !errors.As(err, &se) {
					t.Fatalf("%v is not a *StrategyError", err)
				}
				if diff := cmp.Diff(&StrategyError{Namespace: "proj", Name: "app", Strategy: "JenkinsPipeline"}, se); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			},
		},
		{name: "jenkins pipeline push", objects: []runtime.Object{buildConfig(pipeline)}, ns: "proj", bc: "app", secrets: Secrets{Push: "icr"}, wantIs: ErrUnsupportedStrategy},
		{name: "no strategy", objects: []runtime.Object{buildConfig(buildv1.BuildStrategy{})}, ns: "proj", bc: "app", secrets: Secrets{Push: "icr"}, wantIs: ErrUnsupportedStrategy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			builds := buildfake.NewClientset(tt.objects...)
			_, err := SetSecrets(t.Context(), builds, tt.ns, tt.bc, tt.secrets, registrykit.WriteOptions{})
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("err = %v, want %v", err, tt.wantIs)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
			if w := writes(t, builds.Actions()); len(w) != 0 {
				t.Errorf("wrote %v", w)
			}
			if tt.wantIs == registrykit.ErrInvalid && len(builds.Actions()) != 0 {
				t.Errorf("API calls before validation: %d", len(builds.Actions()))
			}
		})
	}
}

func TestSetSecretsRetriesOnConflict(t *testing.T) {
	builds := buildfake.NewClientset(buildConfig(docker(nil)))
	n := 0
	builds.PrependReactor("update", "buildconfigs", func(k8stesting.Action) (bool, runtime.Object, error) {
		if n++; n > 2 {
			return false, nil, nil
		}
		return true, nil, apierrors.NewConflict(schema.GroupResource{Group: "build.openshift.io", Resource: "buildconfigs"}, "app", errors.New("modified"))
	})
	res, err := SetSecrets(t.Context(), builds, "proj", "app", Secrets{Push: "icr"}, registrykit.WriteOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != registrykit.Updated {
		t.Errorf("action = %v", res.Action)
	}
	var updates int
	for _, a := range builds.Actions() {
		if u, ok := a.(k8stesting.UpdateActionImpl); ok {
			updates++
			if diff := cmp.Diff(metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: "registrykit"}, u.UpdateOptions); diff != "" {
				t.Errorf("update options (-want +got):\n%s", diff)
			}
		}
	}
	if updates != 3 {
		t.Errorf("%d updates, want 3", updates)
	}
}

func TestCheckBuildConfig(t *testing.T) {
	jenkins := buildv1.BuildStrategy{Type: buildv1.JenkinsPipelineBuildStrategyType, JenkinsPipelineStrategy: &buildv1.JenkinsPipelineBuildStrategy{}}
	tests := []struct {
		name  string
		objs  []runtime.Object
		bc    string
		check func(error) bool
	}{
		{"docker", []runtime.Object{buildConfig(docker(nil))}, "app", func(err error) bool { return err == nil }},
		{"missing", nil, "app", func(err error) bool { return errors.Is(err, ErrNotFound) && apierrors.IsNotFound(err) }},
		{"jenkins", []runtime.Object{buildConfig(jenkins)}, "app", func(err error) bool { return errors.Is(err, ErrUnsupportedStrategy) }},
		{"bad name", nil, "Bad_Name", func(err error) bool { return errors.Is(err, registrykit.ErrInvalid) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			builds := buildfake.NewClientset(tt.objs...)
			err := CheckBuildConfig(t.Context(), builds, "proj", tt.bc)
			if !tt.check(err) {
				t.Errorf("CheckBuildConfig = %v", err)
			}
			for _, a := range builds.Actions() {
				if a.GetVerb() != "get" {
					t.Errorf("CheckBuildConfig wrote: %s", a.GetVerb())
				}
			}
		})
	}
}
