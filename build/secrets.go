package build

import (
	"context"
	"fmt"
	"strings"

	buildv1 "github.com/openshift/api/build/v1"
	buildclientset "github.com/openshift/client-go/build/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/util/retry"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/internal/kubewrite"
)

// Secrets says which BuildConfig secrets SetSecrets sets or removes. Empty
// fields are left alone.
type Secrets struct {
	// Push names the secret for spec.output.pushSecret (oc --push).
	Push string
	// Pull names the secret for the strategy's pullSecret (oc --pull).
	Pull string
	// RemovePush and RemovePull clear them (oc --remove).
	RemovePush, RemovePull bool
}

// Validate reports every problem of s as field errors under path
// (nil for none). It does no I/O.
func (s Secrets) Validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.Push != "" {
		errs = append(errs, registrykit.ValidateName(path.Child("push"), s.Push)...)
	}
	if s.Pull != "" {
		errs = append(errs, registrykit.ValidateName(path.Child("pull"), s.Pull)...)
	}
	if s.Push != "" && s.RemovePush {
		errs = append(errs, field.Forbidden(path.Child("removePush"), "cannot be combined with push"))
	}
	if s.Pull != "" && s.RemovePull {
		errs = append(errs, field.Forbidden(path.Child("removePull"), "cannot be combined with pull"))
	}
	if s == (Secrets{}) {
		errs = append(errs, field.Required(path.Child("push"), "set push, pull, removePush or removePull"))
	}
	return errs
}

// validateBuildConfig checks the namespace and name of a BuildConfig.
func validateBuildConfig(ns, bc string) field.ErrorList {
	return append(registrykit.ValidateNamespace(field.NewPath("namespace"), ns), registrykit.ValidateName(field.NewPath("buildConfig"), bc)...)
}

// SetSecrets is `oc set build-secret --push/--pull [--remove] bc/<bc>
// <secret>` for one BuildConfig: it sets or clears spec.output.pushSecret
// and the pullSecret of the Docker, Source or Custom strategy. A
// JenkinsPipeline BuildConfig (which neither pushes nor pulls images itself)
// is a *StrategyError; a missing BuildConfig is a *NotFoundError; neither is
// written. Already as requested is Unchanged. The BuildConfig is re-read and
// written with Update, retrying on conflict. Unlike LinkBuilder it does not
// check that the secrets exist (oc does not either): a build then fails
// until they do.
func SetSecrets(ctx context.Context, builds buildclientset.Interface, ns, bc string, s Secrets, opts registrykit.WriteOptions) (registrykit.Result, error) {
	errs := append(validateBuildConfig(ns, bc), s.Validate(field.NewPath("secrets"))...)
	if err := registrykit.Invalid("build.SetSecrets", errs); err != nil {
		return registrykit.Result{}, err
	}
	client := builds.BuildV1().BuildConfigs(ns)
	var res registrykit.Result
	err := retry.RetryOnConflict(kubewrite.ConflictBackoff, func() error {
		cur, err := client.Get(ctx, bc, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return &NotFoundError{Kind: "BuildConfig", Namespace: ns, Name: bc, Err: err}
		}
		if err != nil {
			return err
		}
		next := cur.DeepCopy()
		drift, err := apply(next, s)
		if err != nil {
			return err
		}
		if len(drift) == 0 {
			res = registrykit.Result{Action: registrykit.Unchanged, Reason: "secrets already as requested"}
			return nil
		}
		if _, err := client.Update(ctx, next, opts.UpdateOptions()); err != nil {
			return err
		}
		res = registrykit.Result{Action: registrykit.Updated, Reason: "changed " + strings.Join(drift, ", ")}
		return nil
	})
	if err != nil {
		return registrykit.Result{}, fmt.Errorf("set build secrets on buildconfig %s/%s: %w", ns, bc, err)
	}
	return kubewrite.Record(ctx, opts, "build", res, "buildconfig", ns+"/"+bc), nil
}

// apply changes bc as s asks and lists the fields that changed.
func apply(bc *buildv1.BuildConfig, s Secrets) ([]string, error) {
	strategy := &bc.Spec.Strategy
	var pull **corev1.LocalObjectReference
	var pullField string
	switch {
	case strategy.DockerStrategy != nil:
		pull, pullField = &strategy.DockerStrategy.PullSecret, "spec.strategy.dockerStrategy.pullSecret"
	case strategy.SourceStrategy != nil:
		pull, pullField = &strategy.SourceStrategy.PullSecret, "spec.strategy.sourceStrategy.pullSecret"
	case strategy.CustomStrategy != nil:
		pull, pullField = &strategy.CustomStrategy.PullSecret, "spec.strategy.customStrategy.pullSecret"
	default:
		name := string(strategy.Type)
		if name == "" {
			name = "none"
		}
		return nil, &StrategyError{Namespace: bc.Namespace, Name: bc.Name, Strategy: name}
	}
	var drift []string
	set := func(field string, ref **corev1.LocalObjectReference, name string, remove bool) {
		switch {
		case remove && *ref != nil:
			*ref = nil
			drift = append(drift, field)
		case name != "" && (*ref == nil || (*ref).Name != name):
			*ref = &corev1.LocalObjectReference{Name: name}
			drift = append(drift, field)
		}
	}
	set("spec.output.pushSecret", &bc.Spec.Output.PushSecret, s.Push, s.RemovePush)
	set(pullField, pull, s.Pull, s.RemovePull)
	return drift, nil
}

// CheckBuildConfig reports, without writing, whether SetSecrets could set
// secrets on the BuildConfig ns/bc: a *NotFoundError when it does not exist,
// a *StrategyError when its strategy takes no secrets (JenkinsPipeline).
// Workflows call it before provisioning credentials for a build, so a wrong
// name fails before anything is created.
func CheckBuildConfig(ctx context.Context, builds buildclientset.Interface, ns, bc string) error {
	if err := registrykit.Invalid("build.CheckBuildConfig", validateBuildConfig(ns, bc)); err != nil {
		return err
	}
	cur, err := builds.BuildV1().BuildConfigs(ns).Get(ctx, bc, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		err = &NotFoundError{Kind: "BuildConfig", Namespace: ns, Name: bc, Err: err}
	}
	if err == nil {
		_, err = apply(cur.DeepCopy(), Secrets{})
	}
	if err != nil {
		return fmt.Errorf("check buildconfig %s/%s: %w", ns, bc, err)
	}
	return nil
}
