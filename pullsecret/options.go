package pullsecret

import "github.com/registrykit/registrykit/internal/kubewrite"

// DefaultFieldManager is the field manager every write uses unless
// Options.FieldManager says otherwise.
const DefaultFieldManager = kubewrite.DefaultFieldManager

// Options are the settings every write in this package honours. The zero
// value is ready to use. DryRun sends every write with the API server's
// dryRun=All (admission and validation run, nothing is persisted; reads are
// real; nothing is guessed on the client). FieldManager names the writer in
// managedFields; empty means "registrykit". Logger receives one debug or
// info record per write decision; nil means silent. Secret data is never
// logged.
type Options = kubewrite.Options

// Action says what a call did to one object.
type Action = kubewrite.Action

// The actions a Result reports.
const (
	Created   = kubewrite.Created
	Updated   = kubewrite.Updated
	Unchanged = kubewrite.Unchanged
	Skipped   = kubewrite.Skipped
	Deleted   = kubewrite.Deleted
)

// Result is the outcome of one write decision: the action and a short,
// human-readable reason. A Reason never contains secret data. Every
// registrykit package that writes objects reports this same type.
type Result = kubewrite.Result
