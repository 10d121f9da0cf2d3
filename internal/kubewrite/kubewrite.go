// Package kubewrite holds what every registrykit package that writes
// Kubernetes or OpenShift objects shares: the write Options (dry run, field
// manager, logger), the Result each write reports, and the conflict backoff
// of the re-read-and-retry loops. The public packages re-export Options,
// Action and Result as aliases, so pullsecret.Result and route.Result are the
// same type.
package kubewrite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Action says what a write function did to one object.
type Action string

// The actions a Result reports.
const (
	Created   Action = "created"
	Updated   Action = "updated"
	Unchanged Action = "unchanged"
	Skipped   Action = "skipped"
	Deleted   Action = "deleted"
)

// String returns the action as a lower-case verb.
func (a Action) String() string { return string(a) }

// Result is the outcome of one write decision: the action and a short,
// human-readable reason (which fields drifted, why nothing was written). A
// Reason never contains secret data.
type Result struct {
	Action Action
	Reason string
}

// DefaultFieldManager is the field manager every write uses unless
// Options.FieldManager says otherwise.
const DefaultFieldManager = "registrykit"

// Options are the settings every write honours. The zero value writes for
// real, as field manager "registrykit", and logs nothing.
type Options struct {
	// DryRun sends every write with the API server's dryRun=All: admission
	// and validation run, nothing is persisted. Reads are real. Nothing is
	// guessed on the client.
	DryRun bool
	// FieldManager names the writer in managedFields. Empty means
	// "registrykit".
	FieldManager string
	// Logger receives debug and info records about write decisions. Nil
	// means silent. Secret data is never logged.
	Logger *slog.Logger
}

// FieldManagerOrDefault returns FieldManager, or DefaultFieldManager when it
// is empty.
func (o Options) FieldManagerOrDefault() string {
	if o.FieldManager == "" {
		return DefaultFieldManager
	}
	return o.FieldManager
}

// DryRunOption is the dryRun request option: [metav1.DryRunAll] in a dry
// run, nil otherwise.
func (o Options) DryRunOption() []string {
	if o.DryRun {
		return []string{metav1.DryRunAll}
	}
	return nil
}

// CreateOptions are the options of a create under o.
func (o Options) CreateOptions() metav1.CreateOptions {
	return metav1.CreateOptions{DryRun: o.DryRunOption(), FieldManager: o.FieldManagerOrDefault()}
}

// UpdateOptions are the options of an update under o.
func (o Options) UpdateOptions() metav1.UpdateOptions {
	return metav1.UpdateOptions{DryRun: o.DryRunOption(), FieldManager: o.FieldManagerOrDefault()}
}

// DeleteOptions are the options of a delete under o.
func (o Options) DeleteOptions() metav1.DeleteOptions {
	return metav1.DeleteOptions{DryRun: o.DryRunOption()}
}

// LoggerOrDiscard returns Logger, or a logger that discards everything.
func (o Options) LoggerOrDiscard() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// ConflictBackoff paces the re-read-and-retry loops. client-go's
// retry.DefaultRetry gives up after 5 quick attempts, which a handful of
// concurrent writers to one object can exhaust; this allows 8 attempts over
// at most about two seconds of sleeping.
var ConflictBackoff = wait.Backoff{Steps: 8, Duration: 10 * time.Millisecond, Factor: 2, Jitter: 0.5}

// Record builds the Result of one write decision and logs it at info level
// as "<component>: <action>" with attrs and the reason. In a dry run the
// reason of a write (created, updated, deleted) says it was not persisted.
func (o Options) Record(ctx context.Context, component string, a Action, reason string, attrs ...any) Result {
	if o.DryRun && (a == Created || a == Updated || a == Deleted) {
		reason += " (dry run: not persisted)"
	}
	o.LoggerOrDiscard().InfoContext(ctx, component+": "+string(a), append(attrs, slog.String("reason", reason))...)
	return Result{Action: a, Reason: reason}
}

// ErrInvalid is matched by every FieldError: an input failed validation and
// nothing was sent to the API server. route, imagestream and build export it
// as their ErrInvalid.
var ErrInvalid = errors.New("invalid input")

// FieldError reports one invalid input field. It matches ErrInvalid.
type FieldError struct {
	Field  string // e.g. "Hostname", "Ref.Tag"
	Value  string
	Detail string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("invalid %s %q: %s", e.Field, e.Value, e.Detail)
}

// Is reports whether target is ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }
