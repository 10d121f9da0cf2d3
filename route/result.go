package route

import "github.com/registrykit/registrykit/internal/kubewrite"

// Options are shared by every write function: DryRun sends the API server's
// dryRun=All (reads still happen), FieldManager names the writer in
// managedFields (empty means DefaultFieldManager), Logger receives debug and
// info records (nil means silent). The zero value writes for real.
type Options = kubewrite.Options

// Action says what a write function did to the cluster.
type Action = kubewrite.Action

// Result reports the outcome of a write function: the Action and a short
// human Reason (which fields drifted, why nothing was written). Every
// registrykit package that writes objects reports this same type.
type Result = kubewrite.Result

// The actions a write function reports.
const (
	Created   = kubewrite.Created
	Updated   = kubewrite.Updated
	Unchanged = kubewrite.Unchanged
	Skipped   = kubewrite.Skipped
	Deleted   = kubewrite.Deleted
)

// DefaultFieldManager is the field manager used when Options.FieldManager is
// empty.
const DefaultFieldManager = kubewrite.DefaultFieldManager
