package build

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/internal/kubewrite"
)

// BuilderServiceAccount is the service account OpenShift builds run as.
const BuilderServiceAccount = "builder"

// LinkOptions configure LinkBuilder. The zero value links the secret for
// mounting to the "builder" service account, like `oc secrets link builder
// <secret>`.
type LinkOptions struct {
	// ServiceAccount: empty means "builder".
	ServiceAccount string
	// Pull adds the secret to imagePullSecrets (oc --for=pull).
	Pull bool
	// Mount adds the secret to secrets (oc --for=mount). When neither Pull
	// nor Mount is set, Mount is assumed, as oc does; set both for
	// --for=pull,mount.
	Mount bool

	registrykit.WriteOptions
}

func (o LinkOptions) serviceAccount() string {
	if o.ServiceAccount == "" {
		return BuilderServiceAccount
	}
	return o.ServiceAccount
}

// Validate reports every problem of o as field errors under path
// (nil for none). It does no I/O.
func (o LinkOptions) Validate(path *field.Path) field.ErrorList {
	return registrykit.ValidateName(path.Child("serviceAccount"), o.serviceAccount())
}

// LinkBuilder is `oc secrets link builder <secret> [--for=pull|mount]`: it
// adds the secret to the service account's secrets (mount, the default)
// and/or imagePullSecrets (pull), once, keeping every other entry. Builds
// use mounted secrets of the builder service account to push to and pull
// from registries. Already linked is Unchanged and not written.
//
// Like oc, it refuses a secret that does not exist (*NotFoundError, no
// write). The service account must exist too; OpenShift creates "builder"
// shortly after a project is created. The lists have no merge strategy, so
// the service account is re-read and written with Update (never a blind
// patch), retrying on conflict.
func LinkBuilder(ctx context.Context, kube kubernetes.Interface, ns, secret string, opts LinkOptions) (registrykit.Result, error) {
	errs := registrykit.ValidateNamespace(field.NewPath("namespace"), ns)
	errs = append(errs, registrykit.ValidateName(field.NewPath("secret"), secret)...)
	errs = append(errs, opts.Validate(nil)...)
	if err := registrykit.Invalid("build.LinkBuilder", errs); err != nil {
		return registrykit.Result{}, err
	}
	sa := opts.serviceAccount()
	mount := opts.Mount || !opts.Pull
	wrap := func(err error) error {
		return fmt.Errorf("link secret %s/%s to service account %s: %w", ns, secret, sa, err)
	}

	if _, err := kube.CoreV1().Secrets(ns).Get(ctx, secret, metav1.GetOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			err = &NotFoundError{Kind: "Secret", Namespace: ns, Name: secret, Err: err}
		}
		return registrykit.Result{}, wrap(err)
	}
	client := kube.CoreV1().ServiceAccounts(ns)
	var res registrykit.Result
	err := retry.RetryOnConflict(kubewrite.ConflictBackoff, func() error {
		cur, err := client.Get(ctx, sa, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return &NotFoundError{Kind: "ServiceAccount", Namespace: ns, Name: sa, Err: err}
		}
		if err != nil {
			return err
		}
		next := cur.DeepCopy()
		var added []string
		if mount && !slices.ContainsFunc(next.Secrets, func(r corev1.ObjectReference) bool { return r.Name == secret }) {
			next.Secrets = append(next.Secrets, corev1.ObjectReference{Name: secret})
			added = append(added, "secrets")
		}
		if opts.Pull && !slices.ContainsFunc(next.ImagePullSecrets, func(r corev1.LocalObjectReference) bool { return r.Name == secret }) {
			next.ImagePullSecrets = append(next.ImagePullSecrets, corev1.LocalObjectReference{Name: secret})
			added = append(added, "imagePullSecrets")
		}
		if len(added) == 0 {
			res = registrykit.Result{Action: registrykit.Unchanged, Reason: "already linked"}
			return nil
		}
		if _, err := client.Update(ctx, next, opts.UpdateOptions()); err != nil {
			return err
		}
		res = registrykit.Result{Action: registrykit.Updated, Reason: "added to " + strings.Join(added, " and ")}
		return nil
	})
	if err != nil {
		return registrykit.Result{}, wrap(err)
	}
	return kubewrite.Record(ctx, opts.WriteOptions, "build", res, "serviceaccount", ns+"/"+sa, "secret", secret), nil
}
