package registrykit

import (
	"log/slog"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultFieldManager is the field manager every write uses unless
// WriteOptions.FieldManager says otherwise.
const DefaultFieldManager = "registrykit"

// WriteOptions are the settings every call that writes honours. The zero
// value writes for real, as field manager "registrykit", and logs nothing.
type WriteOptions struct {
	// DryRun sends every Kubernetes write with the API server's dryRun=All:
	// admission and validation run, nothing is persisted. Reads are real.
	// IAM has no dry run: IAM is only read.
	DryRun bool
	// FieldManager names the writer in managedFields. Empty means
	// DefaultFieldManager.
	FieldManager string
	// Logger receives one record per decision. Nil means silent. Secret data
	// is never logged.
	Logger *slog.Logger
}

// Manager returns FieldManager, or DefaultFieldManager when it is empty.
func (o WriteOptions) Manager() string {
	if o.FieldManager == "" {
		return DefaultFieldManager
	}
	return o.FieldManager
}

// CreateOptions returns the metav1 options of a create under o.
func (o WriteOptions) CreateOptions() metav1.CreateOptions {
	return metav1.CreateOptions{DryRun: o.dryRun(), FieldManager: o.Manager()}
}

// UpdateOptions returns the metav1 options of an update under o.
func (o WriteOptions) UpdateOptions() metav1.UpdateOptions {
	return metav1.UpdateOptions{DryRun: o.dryRun(), FieldManager: o.Manager()}
}

// DeleteOptions returns the metav1 options of a delete under o.
func (o WriteOptions) DeleteOptions() metav1.DeleteOptions {
	return metav1.DeleteOptions{DryRun: o.dryRun()}
}

// Log returns Logger, or a logger that discards everything.
func (o WriteOptions) Log() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

func (o WriteOptions) dryRun() []string {
	if o.DryRun {
		return []string{metav1.DryRunAll}
	}
	return nil
}
