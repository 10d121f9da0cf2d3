package pullsecret

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/internal/kubewrite"
	"github.com/registrykit/registrykit/internal/valid"
)

// For says which lists of a service account Link adds a secret to, the way
// `oc secrets link --for=pull,mount` does. The zero value means Mount, as
// `oc secrets link` without --for.
type For struct {
	// Pull adds the secret to imagePullSecrets: the kubelet uses it to pull
	// the images of pods that run as the service account.
	Pull bool
	// Mount adds the secret to secrets: pods may mount it, and OpenShift
	// builds use it (e.g. to push).
	Mount bool
}

func (f For) String() string {
	var s []string
	if f.Pull {
		s = append(s, "pull")
	}
	if f.Mount {
		s = append(s, "mount")
	}
	return strings.Join(s, ",")
}

// AttachOptions tune AttachToServiceAccount.
type AttachOptions struct {
	// WaitForServiceAccount, if positive, waits up to this long for a
	// missing service account to appear (OpenShift creates "default",
	// "builder" and "deployer" shortly after the project). Zero fails at
	// once with a NotFoundError. ctx bounds the wait too.
	WaitForServiceAccount time.Duration
	registrykit.WriteOptions
}

// ManyOptions tune AttachToServiceAccounts.
type ManyOptions struct {
	// Concurrency bounds the writes in flight; zero means 8.
	Concurrency int
	// OnOutcome, if set, is called with each namespace's Outcome as soon as
	// it is known, as CopyOptions.OnOutcome is.
	OnOutcome func(Outcome)
	AttachOptions
}

// AttachToServiceAccount adds secret to the imagePullSecrets of the service
// account once — what the guide does with `oc patch serviceaccount default
// -p '{"imagePullSecrets": [...]}'`, without replacing the list. The secret
// is in the account's namespace. It is Link with For{Pull: true}.
func AttachToServiceAccount(ctx context.Context, kube kubernetes.Interface, account types.NamespacedName, secret string, opts AttachOptions) (registrykit.Result, error) {
	return link(ctx, kube, account, secret, For{Pull: true}, opts, nil)
}

// Link adds secret (in the account's namespace) to the lists of the service
// account that f names, each at most once, like `oc secrets link`: read,
// build (WithLink), write. Other entries are never touched: the account is
// updated with the resourceVersion it was read at, and a Conflict (another
// writer got there first) re-reads and re-applies the change (client-go
// retry.RetryOnConflict). The lists have no merge strategy, so a patch
// would replace them; Link never patches.
//
// Link does not check that the secret exists (the kubelet skips missing
// references; Audit reports them).
func Link(ctx context.Context, kube kubernetes.Interface, account types.NamespacedName, secret string, f For, opts registrykit.WriteOptions) (registrykit.Result, error) {
	return link(ctx, kube, account, secret, f, AttachOptions{WriteOptions: opts}, nil)
}

// Validate reports every problem of o as field errors under path
// (nil for none). It does no I/O.
func (o AttachOptions) Validate(path *field.Path) field.ErrorList {
	return valid.NotNegative(path.Child("waitForServiceAccount"), o.WaitForServiceAccount, o.WaitForServiceAccount.String())
}

// Validate reports every problem of o as field errors under path
// (nil for none). It does no I/O.
func (o ManyOptions) Validate(path *field.Path) field.ErrorList {
	return append(valid.NotNegative(path.Child("concurrency"), o.Concurrency, o.Concurrency), o.AttachOptions.Validate(path)...)
}

func validateLink(account types.NamespacedName, secret string, opts AttachOptions) field.ErrorList {
	errs := registrykit.ValidateNamespace(field.NewPath("account", "namespace"), account.Namespace)
	errs = append(errs, registrykit.ValidateName(field.NewPath("account", "name"), account.Name)...)
	errs = append(errs, registrykit.ValidateName(field.NewPath("secret"), secret)...)
	return append(errs, opts.Validate(nil)...)
}

// link is Link with an optional first copy of the service account (from a
// List) that saves the first GET.
func link(ctx context.Context, kube kubernetes.Interface, account types.NamespacedName, secret string, f For, opts AttachOptions, first *corev1.ServiceAccount) (registrykit.Result, error) {
	if !f.Pull && !f.Mount {
		f.Mount = true
	}
	wrap := func(err error) error {
		return fmt.Errorf("link secret %s to serviceaccount %s for %s: %w", secret, account, f, err)
	}
	if err := invalid("pullsecret.Link", validateLink(account, secret, opts)); err != nil {
		return registrykit.Result{}, wrap(err)
	}
	sas := kube.CoreV1().ServiceAccounts(account.Namespace)
	attrs := []any{slog.String("serviceaccount", account.String()), slog.String("secret", secret)}
	cur := first
	var res registrykit.Result
	err := retry.RetryOnConflict(kubewrite.ConflictBackoff, func() error {
		if cur == nil {
			got, err := getServiceAccount(ctx, kube, account, opts.WaitForServiceAccount)
			if err != nil {
				return err
			}
			cur = got
		}
		sa, added := WithLink(cur, secret, f)
		cur = nil // a retry re-reads
		if len(added) == 0 {
			res = record(ctx, opts.WriteOptions, registrykit.Unchanged, "already linked for "+f.String(), attrs...)
			return nil
		}
		if _, err := sas.Update(ctx, sa, opts.UpdateOptions()); err != nil {
			return err
		}
		res = record(ctx, opts.WriteOptions, registrykit.Updated, "added to "+strings.Join(added, " and "), attrs...)
		return nil
	})
	if err != nil {
		return registrykit.Result{}, wrap(err)
	}
	return res, nil
}

// getServiceAccount reads a service account, waiting up to wait for it to
// appear. The wait polls with a GET every half second (1 s after 10 s),
// bounded by ctx and wait.
func getServiceAccount(ctx context.Context, kube kubernetes.Interface, account types.NamespacedName, wt time.Duration) (*corev1.ServiceAccount, error) {
	namespace, name := account.Namespace, account.Name
	sas := kube.CoreV1().ServiceAccounts(namespace)
	sa, err := sas.Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		return sa, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, err
	}
	if wt <= 0 {
		return nil, &NotFoundError{Kind: "serviceaccount", Namespace: namespace, Name: name, Err: err}
	}
	lastErr := err
	start := time.Now()
	perr := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, wt, false, func(ctx context.Context) (bool, error) {
		got, err := sas.Get(ctx, name, metav1.GetOptions{})
		switch {
		case err == nil:
			sa = got
			return true, nil
		case apierrors.IsNotFound(err):
			lastErr = err
			return false, nil
		default:
			return false, err
		}
	})
	if perr == nil {
		return sa, nil
	}
	if wait.Interrupted(perr) {
		// Both the wait's timeout and ctx's end land here; keep both errors
		// visible to errors.Is (context.Canceled, ErrNotFound).
		return nil, fmt.Errorf("waited %s: %w (%w)", time.Since(start).Round(time.Millisecond),
			&NotFoundError{Kind: "serviceaccount", Namespace: namespace, Name: name, Err: lastErr}, perr)
	}
	return nil, perr
}

// AttachToServiceAccounts attaches secret (imagePullSecrets) to the service
// account serviceAccount in every target namespace. It reads the accounts
// with one cluster-wide paged List (field selector metadata.name), writes
// only where the secret is not attached yet, with bounded concurrency, and
// falls back to per-namespace GETs where the List is forbidden or the
// account is missing from it (then opts.WaitForServiceAccount applies).
// The returned error is Report.Err() unless it failed before any write.
func AttachToServiceAccounts(ctx context.Context, kube kubernetes.Interface, serviceAccount, secret string, to Targets, opts ManyOptions) (Report, error) {
	errs := registrykit.ValidateName(field.NewPath("serviceAccount"), serviceAccount)
	errs = append(errs, registrykit.ValidateName(field.NewPath("secret"), secret)...)
	errs = append(errs, to.Validate(field.NewPath("targets"))...)
	errs = append(errs, opts.Validate(nil)...)
	wrap := func(err error) error {
		return fmt.Errorf("attach secret %s to serviceaccount %s: %w", secret, serviceAccount, err)
	}
	if err := invalid("pullsecret.AttachToServiceAccounts", errs); err != nil {
		return Report{}, wrap(err)
	}
	targets, err := to.resolve(ctx, kube)
	if err != nil {
		return Report{}, wrap(err)
	}
	list, err := listServiceAccounts(ctx, kube, metav1.NamespaceAll, nameSelector(serviceAccount))
	if err != nil && !apierrors.IsForbidden(err) {
		return Report{}, wrap(fmt.Errorf("list service accounts: %w", err))
	}
	byNS := map[string]*corev1.ServiceAccount{}
	for i := range list {
		if list[i].Name == serviceAccount {
			byNS[list[i].Namespace] = &list[i]
		}
	}
	rep := Report{Outcomes: make([]Outcome, len(targets))}
	var mu sync.Mutex // serialises OnOutcome
	forEach(ctx, len(targets), opts.Concurrency, func(ctx context.Context, i int) {
		tg := targets[i]
		o := Outcome{Namespace: tg.namespace}
		switch {
		case ctx.Err() != nil:
			o.Err = wrap(fmt.Errorf("in %s: %w", tg.namespace, ctx.Err()))
		case tg.skip != "":
			o.Result = skip(ctx, opts.WriteOptions, tg.skip, tg.why, slog.String("namespace", tg.namespace))
		case tg.missing:
			o.Err = wrap(&NotFoundError{Kind: "namespace", Name: tg.namespace})
		default:
			account := types.NamespacedName{Namespace: tg.namespace, Name: serviceAccount}
			o.Result, o.Err = link(ctx, kube, account, secret, For{Pull: true}, opts.AttachOptions, byNS[tg.namespace])
		}
		rep.Outcomes[i] = o
		if opts.OnOutcome != nil {
			mu.Lock()
			defer mu.Unlock()
			opts.OnOutcome(o)
		}
	})
	return rep, rep.Err()
}
