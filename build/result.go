package build

import (
	"io"
	"log/slog"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Action says what a write function did to the cluster.
type Action string

// The actions a write function reports. Deleted is unused by this package but
// kept so that every registrykit package shares one Result shape.
const (
	Created   Action = "created"
	Updated   Action = "updated"
	Unchanged Action = "unchanged"
	Skipped   Action = "skipped"
	Deleted   Action = "deleted"
)

// String returns the action as a lower-case verb.
func (a Action) String() string { return string(a) }

// Result reports the outcome of a write function. Reason is a short human
// explanation (which fields drifted, why nothing was written).
type Result struct {
	Action Action
	Reason string
}

// DefaultFieldManager is the field manager used when Options.FieldManager is
// empty.
const DefaultFieldManager = "registrykit"

// Options are shared by every write function. The zero value writes for real
// with field manager "registrykit" and logs nothing.
type Options struct {
	// DryRun asks the API server to validate and default the request without
	// persisting it (metav1.DryRunAll). Reads still happen.
	DryRun bool
	// FieldManager is recorded in managedFields; empty means "registrykit".
	FieldManager string
	// Logger receives debug and info records; nil means silent.
	Logger *slog.Logger
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

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o.Logger
}

// conflictBackoff paces the re-read-and-retry loops. client-go's
// retry.DefaultRetry gives up after 5 quick attempts, which a handful of
// concurrent writers to one object can exhaust; this allows 8 attempts over
// at most about two seconds of sleeping.
var conflictBackoff = wait.Backoff{Steps: 8, Duration: 10 * time.Millisecond, Factor: 2, Jitter: 0.5}
