package pullsecret

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/internal/kubewrite"
	"github.com/registrykit/registrykit/internal/redact"
	"github.com/registrykit/registrykit/internal/valid"
)

// The OpenShift 4 global pull secret.
const (
	GlobalNamespace = "openshift-config"
	GlobalName      = "pull-secret"
)

// DefaultRequired are the registries the global pull secret must keep unless
// GlobalOptions say otherwise: without them OperatorHub, Insights and
// release payload pulls break.
var DefaultRequired = []string{"cloud.openshift.com", "quay.io", "registry.redhat.io", "registry.connect.redhat.com"}

// nodeRolloutReason is appended to every write's Reason: this package only
// changes the secret.
const nodeRolloutReason = "; nodes use it only after the Machine Config Operator rolls it out " +
	"(OpenShift 4) or after the workers are reloaded/replaced (e.g. `ibmcloud oc worker reload`); this library does neither"

// GlobalOptions tune MergeGlobal and RemoveFromGlobal.
type GlobalOptions struct {
	// Required lists registries the result must still hold; nil means
	// DefaultRequired. Use an empty non-nil slice to require none.
	Required []string
	// AllowMissingRequired writes even when the change removes a required
	// registry or replaces its entry.
	AllowMissingRequired bool
	registrykit.WriteOptions
}

// Validate reports every problem of o as field errors under path
// (nil for none). It does no I/O.
func (o GlobalOptions) Validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, r := range o.Required {
		errs = append(errs, valid.Server(path.Child("required").Index(i), r)...)
	}
	return errs
}

func (o GlobalOptions) required() []string {
	if o.Required == nil {
		return DefaultRequired
	}
	return o.Required
}

// MergeGlobal merges cfg into openshift-config/pull-secret with
// dockerconfig.Merge: every registry in cfg replaces the entry for the same
// registry whole; every other registry and unknown field is kept. The update
// carries the resourceVersion that was read; on Conflict it re-reads and
// re-merges, so a concurrent change is never lost. Nothing is written when
// the merge changes nothing.
//
// The library changes only the secret: a Result with Action Updated means
// the nodes still have to pick the change up (the Machine Config Operator's
// rollout on OpenShift 4, a worker reload or replace on IBM Cloud), and its
// Reason says so. Unchanged means no rollout is needed.
//
// It refuses, with a *MissingRequiredError, when the merge itself would
// replace the entry of a required registry (GlobalOptions.Required) with a
// different one, and with an *InvalidGlobalError when the existing secret
// cannot be parsed. A required registry that the secret already lacks (the
// telemetry opt-out removes cloud.openshift.com) does not stop the merge:
// the Result's Warnings name it, on every run until it is back. A missing
// secret is a *NotFoundError: this is not an OpenShift 4 cluster.
func MergeGlobal(ctx context.Context, kube kubernetes.Interface, cfg *dockerconfig.Config, opts GlobalOptions) (registrykit.Result, error) {
	errs := append(validConfig(field.NewPath("config"), cfg), opts.Validate(nil)...)
	wrap := func(err error) error {
		return fmt.Errorf("merge into global pull secret %s/%s: %w", GlobalNamespace, GlobalName, err)
	}
	if err := invalid("pullsecret.MergeGlobal", errs); err != nil {
		return registrykit.Result{}, wrap(err)
	}
	res, err := updateGlobal(ctx, kube, opts, func(cur *dockerconfig.Config) (*dockerconfig.Config, string) {
		return dockerconfig.Merge(cur, cfg), "merged " + strings.Join(cfg.Servers(), ", ")
	})
	if err != nil {
		return res, wrap(err)
	}
	return res, nil
}

// RemoveFromGlobal removes the entries for servers (matched as
// dockerconfig.Config.Remove does) from openshift-config/pull-secret, with
// the same guarantees as MergeGlobal. It refuses, with a
// *MissingRequiredError, to remove a required registry; required registries
// already missing are Warnings. Servers that are not there are ignored; if
// none is there, the result is Unchanged.
func RemoveFromGlobal(ctx context.Context, kube kubernetes.Interface, servers []string, opts GlobalOptions) (registrykit.Result, error) {
	var errs field.ErrorList
	if len(servers) == 0 {
		errs = append(errs, field.Required(field.NewPath("servers"), ""))
	}
	shown := make([]string, len(servers)) // servers without userinfo, for errors and reasons
	for i, s := range servers {
		errs = append(errs, valid.Server(field.NewPath("servers").Index(i), s)...)
		shown[i] = redact.Userinfo(s)
	}
	errs = append(errs, opts.Validate(nil)...)
	wrap := func(err error) error {
		return fmt.Errorf("remove %s from global pull secret %s/%s: %w", strings.Join(shown, ", "), GlobalNamespace, GlobalName, err)
	}
	if err := invalid("pullsecret.RemoveFromGlobal", errs); err != nil {
		return registrykit.Result{}, wrap(err)
	}
	res, err := updateGlobal(ctx, kube, opts, func(cur *dockerconfig.Config) (*dockerconfig.Config, string) {
		next := cur.Clone()
		var removed []string
		for i, s := range servers {
			if next.Remove(s) {
				removed = append(removed, shown[i])
			}
		}
		return next, "removed " + strings.Join(removed, ", ")
	})
	if err != nil {
		return res, wrap(err)
	}
	return res, nil
}

// updateGlobal is the read-change-update loop shared by MergeGlobal and
// RemoveFromGlobal. change must not modify its argument.
func updateGlobal(ctx context.Context, kube kubernetes.Interface, opts GlobalOptions, change func(*dockerconfig.Config) (*dockerconfig.Config, string)) (registrykit.Result, error) {
	secrets := kube.CoreV1().Secrets(GlobalNamespace)
	attrs := []any{slog.String("secret", GlobalNamespace+"/"+GlobalName)}
	var res registrykit.Result
	err := retry.RetryOnConflict(kubewrite.ConflictBackoff, func() error {
		sec, err := secrets.Get(ctx, GlobalName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return &NotFoundError{Kind: "secret", Namespace: GlobalNamespace, Name: GlobalName, Err: err}
		}
		if err != nil {
			return err
		}
		if sec.Type != corev1.SecretTypeDockerConfigJson {
			return &InvalidGlobalError{Namespace: GlobalNamespace, Name: GlobalName,
				Err: fmt.Errorf("%w: type %q, want %q", ErrWrongType, sec.Type, corev1.SecretTypeDockerConfigJson)}
		}
		cur, err := dockerconfig.Parse(sec.Data[corev1.DockerConfigJsonKey])
		if err != nil {
			return &InvalidGlobalError{Namespace: GlobalNamespace, Name: GlobalName, Err: err}
		}
		next, what := change(cur)
		warnings := missingRequired(next, opts.required())
		if dockerconfig.Equal(cur, next) {
			res = kubewrite.Record(ctx, opts.WriteOptions, "pullsecret", registrykit.Result{
				Action: registrykit.Unchanged, Reason: "already up to date", Warnings: warnings}, attrs...)
			return nil
		}
		if !opts.AllowMissingRequired {
			if err := requiredChanges(cur, next, opts.required()); err != nil {
				return err
			}
		}
		data, err := next.Marshal()
		if err != nil {
			return err
		}
		sec = sec.DeepCopy()
		sec.Data[corev1.DockerConfigJsonKey] = data // sec carries the resourceVersion it was read at
		if _, err := secrets.Update(ctx, sec, opts.UpdateOptions()); err != nil {
			return err
		}
		res = kubewrite.Record(ctx, opts.WriteOptions, "pullsecret", registrykit.Result{
			Action: registrykit.Updated, Reason: what + nodeRolloutReason, Warnings: warnings}, attrs...)
		return nil
	})
	return res, err
}

// requiredChanges returns a *MissingRequiredError if going from cur to next
// removes a required registry that cur holds or replaces its entry with a
// different one; nil otherwise. Registries cur already lacks are not its
// business.
func requiredChanges(cur, next *dockerconfig.Config, required []string) error {
	var e MissingRequiredError
	for _, r := range required {
		was, ok := cur.Get(r)
		if !ok {
			continue
		}
		switch is, ok := next.Get(r); {
		case !ok:
			e.Registries = append(e.Registries, r)
		case !is.Equal(was):
			e.Replaced = append(e.Replaced, r)
		}
	}
	if len(e.Registries) == 0 && len(e.Replaced) == 0 {
		return nil
	}
	return &e
}

// missingRequired returns one warning per required registry c lacks.
func missingRequired(c *dockerconfig.Config, required []string) []string {
	var out []string
	for _, r := range required {
		if _, ok := c.Get(r); !ok {
			out = append(out, "required registry "+r+" is missing from "+GlobalNamespace+"/"+GlobalName+
				" (OperatorHub, Insights or release payload pulls from it fail)")
		}
	}
	return out
}
