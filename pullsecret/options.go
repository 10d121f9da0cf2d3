package pullsecret

import (
	"context"
	"log/slog"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultFieldManager is the field manager every write uses unless
// Options.FieldManager says otherwise.
const DefaultFieldManager = "registrykit"

// Options are the settings every write in this package honours. The zero
// value is ready to use.
type Options struct {
	// DryRun sends every write with the API server's dryRun=All: admission
	// and validation run, nothing is persisted. Reads are real. Nothing is
	// guessed on the client.
	DryRun bool
	// FieldManager names the writer in managedFields. Empty means
	// "registrykit".
	FieldManager string
	// Logger receives one debug or info record per write decision. Nil means
	// silent. Secret data is never logged.
	Logger *slog.Logger
}

// Action says what a call did to one object.
type Action string

// The actions a Result reports.
const (
	Created   Action = "created"
	Updated   Action = "updated"
	Unchanged Action = "unchanged"
	Skipped   Action = "skipped"
	Deleted   Action = "deleted"
)

// Result is the outcome of one write decision: the action and a short,
// human-readable reason. A Reason never contains secret data.
type Result struct {
	Action Action
	Reason string
}

func (o Options) fieldManager() string {
	if o.FieldManager == "" {
		return DefaultFieldManager
	}
	return o.FieldManager
}

func (o Options) dryRun() []string {
	if o.DryRun {
		return []string{metav1.DryRunAll}
	}
	return nil
}

func (o Options) createOptions() metav1.CreateOptions {
	return metav1.CreateOptions{DryRun: o.dryRun(), FieldManager: o.fieldManager()}
}

func (o Options) updateOptions() metav1.UpdateOptions {
	return metav1.UpdateOptions{DryRun: o.dryRun(), FieldManager: o.fieldManager()}
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// result builds a Result and logs it. The reason gets a dry-run marker when
// the write was not persisted.
func (o Options) result(ctx context.Context, a Action, reason string, attrs ...any) Result {
	if o.DryRun && (a == Created || a == Updated || a == Deleted) {
		reason += " (dry run: not persisted)"
	}
	o.logger().InfoContext(ctx, "pullsecret: "+string(a), append(attrs, slog.String("reason", reason))...)
	return Result{Action: a, Reason: reason}
}
