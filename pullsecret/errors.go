package pullsecret

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error this package returns for one of these
// conditions matches the sentinel with errors.Is. Invalid input is a
// *registrykit.InvalidError matching registrykit.ErrInvalid.
var (
	// ErrNoTargets means the selector of a Copy or AttachToServiceAccounts
	// call matched no namespace. (Targets that name nothing at all are
	// invalid input.)
	ErrNoTargets = errors.New("no target namespaces")
	// ErrNotFound marks a missing object the call needed (source secret,
	// service account, global pull secret). The wrapped API error is still
	// reachable: apierrors.IsNotFound recognises it too.
	ErrNotFound = errors.New("not found")
	// ErrNotPullSecret marks a secret whose type is neither
	// kubernetes.io/dockerconfigjson nor kubernetes.io/dockercfg.
	ErrNotPullSecret = errors.New("not an image pull secret")
	// ErrInvalidGlobal marks a global pull secret that could not be parsed.
	// The call refuses to write it.
	ErrInvalidGlobal = errors.New("global pull secret is not a valid docker config")
	// ErrNoInternalRegistryEntry means a service account's dockercfg secret
	// has no entry for the internal registry service.
	ErrNoInternalRegistryEntry = errors.New("no internal registry entry")
	// ErrWrongType marks an existing target object of a type this call will
	// not change (a secret's type is immutable).
	ErrWrongType = errors.New("existing object has the wrong type")
	// ErrDeletedNotRecreated marks a Copy target that had to be replaced
	// (its type, or immutability, cannot be updated): the old secret was
	// deleted, the create of the copy failed, and the namespace now holds
	// no secret of that name. A rerun creates it.
	ErrDeletedNotRecreated = errors.New("deleted the existing secret to replace it, but creating the copy failed")
)

// NotFoundError says which object is missing. It matches ErrNotFound and
// unwraps to the API server's error, so apierrors.IsNotFound works too.
type NotFoundError struct {
	Kind      string // "secret", "serviceaccount", "namespace"
	Namespace string
	Name      string
	Err       error // the API error, may be nil
}

func (e *NotFoundError) Error() string {
	if e.Namespace == "" {
		return fmt.Sprintf("%s %s not found", e.Kind, e.Name)
	}
	return fmt.Sprintf("%s %s/%s not found", e.Kind, e.Namespace, e.Name)
}

// Is reports whether target is ErrNotFound.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// Unwrap returns the API server's error.
func (e *NotFoundError) Unwrap() error { return e.Err }

// NotPullSecretError says a secret has a type the kubelet does not read
// image credentials from. It matches ErrNotPullSecret.
type NotPullSecretError struct {
	Namespace, Name, Type string
}

func (e *NotPullSecretError) Error() string {
	return fmt.Sprintf("secret %s/%s has type %q, want kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg", e.Namespace, e.Name, e.Type)
}

// Is reports whether target is ErrNotPullSecret.
func (e *NotPullSecretError) Is(target error) bool { return target == ErrNotPullSecret }

// MissingRequiredError is returned when a change to the global pull secret
// would remove or replace the entry of a registry OpenShift needs
// (OperatorHub, Insights and the release payload pull from them). A
// required registry the secret already lacks is not refused: it is a
// warning in the Result.
type MissingRequiredError struct {
	// Registries the change would remove.
	Registries []string
	// Replaced are the registries whose entry the change would replace
	// with a different one.
	Replaced []string
}

func (e *MissingRequiredError) Error() string {
	var parts []string
	if len(e.Registries) > 0 {
		parts = append(parts, "would remove required registries "+strings.Join(e.Registries, ", "))
	}
	if len(e.Replaced) > 0 {
		parts = append(parts, "would replace the entries of required registries "+strings.Join(e.Replaced, ", "))
	}
	return "global pull secret: the change " + strings.Join(parts, " and ") +
		" (set GlobalOptions.AllowMissingRequired to proceed anyway)"
}

// InvalidGlobalError is returned when openshift-config/pull-secret cannot be
// parsed; the call does not touch it. It matches ErrInvalidGlobal and
// unwraps to the parse error, which never contains secret data.
type InvalidGlobalError struct {
	Namespace, Name string
	Err             error
}

func (e *InvalidGlobalError) Error() string {
	return fmt.Sprintf("refusing to modify %s/%s: it is not a valid docker config: %v", e.Namespace, e.Name, e.Err)
}

// Is reports whether target is ErrInvalidGlobal.
func (e *InvalidGlobalError) Is(target error) bool { return target == ErrInvalidGlobal }

// Unwrap returns the parse error.
func (e *InvalidGlobalError) Unwrap() error { return e.Err }
