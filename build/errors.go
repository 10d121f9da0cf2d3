package build

import (
	"errors"
	"fmt"
)

// Sentinel errors; every typed error below matches one of them with
// errors.Is. Invalid input is a *registrykit.InvalidError matching
// registrykit.ErrInvalid.
var (
	// ErrNotFound: a BuildConfig, ServiceAccount or Secret does not exist.
	ErrNotFound = errors.New("not found")
	// ErrUnsupportedStrategy: the BuildConfig's strategy has no pull secret
	// (JenkinsPipeline, or no strategy at all).
	ErrUnsupportedStrategy = errors.New("unsupported build strategy")
)

// NotFoundError names the missing object. It matches ErrNotFound, and
// apierrors.IsNotFound sees the API server's error through Unwrap.
type NotFoundError struct {
	Kind, Namespace, Name string
	Err                   error
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s %s/%s not found", e.Kind, e.Namespace, e.Name)
}

// Is reports whether target is ErrNotFound.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// Unwrap returns the API server's error.
func (e *NotFoundError) Unwrap() error { return e.Err }

// StrategyError reports a BuildConfig whose strategy cannot take the
// requested secret. It matches ErrUnsupportedStrategy.
type StrategyError struct {
	Namespace, Name string
	// Strategy is the BuildConfig's spec.strategy.type, e.g. "JenkinsPipeline".
	Strategy string
}

func (e *StrategyError) Error() string {
	return fmt.Sprintf("buildconfig %s/%s: strategy %q has no push or pull secret (only Docker, Source and Custom do)", e.Namespace, e.Name, e.Strategy)
}

// Is reports whether target is ErrUnsupportedStrategy.
func (e *StrategyError) Is(target error) bool { return target == ErrUnsupportedStrategy }
