package kubewrite

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestOptionsDefaults(t *testing.T) {
	var zero Options
	if diff := cmp.Diff(metav1.CreateOptions{FieldManager: "registrykit"}, zero.CreateOptions()); diff != "" {
		t.Errorf("zero CreateOptions (-want +got):\n%s", diff)
	}
	dry := Options{DryRun: true, FieldManager: "team-automation"}
	if diff := cmp.Diff(metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: "team-automation"}, dry.UpdateOptions()); diff != "" {
		t.Errorf("dry-run UpdateOptions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}, dry.DeleteOptions()); diff != "" {
		t.Errorf("dry-run DeleteOptions (-want +got):\n%s", diff)
	}
	if zero.LoggerOrDiscard() == nil {
		t.Error("LoggerOrDiscard returned nil")
	}
	if ConflictBackoff.Steps <= 5 {
		t.Errorf("ConflictBackoff allows %d attempts, no more than client-go's default", ConflictBackoff.Steps)
	}
}

func TestRecordMarksDryRunWrites(t *testing.T) {
	ctx := t.Context()
	dry := Options{DryRun: true}
	if got := dry.Record(ctx, "test", Created, "made"); got.Reason != "made (dry run: not persisted)" {
		t.Errorf("dry-run create reason = %q", got.Reason)
	}
	if got := dry.Record(ctx, "test", Unchanged, "same"); got.Reason != "same" {
		t.Errorf("dry-run unchanged reason = %q (nothing to persist, no marker)", got.Reason)
	}
	if got := (Options{}).Record(ctx, "test", Updated, "changed"); got != (Result{Action: Updated, Reason: "changed"}) {
		t.Errorf("Record = %+v", got)
	}
}

func TestFieldErrorMatchesErrInvalidAndNamesTheField(t *testing.T) {
	var err error = &FieldError{Field: "Hostname", Value: "bad host", Detail: "must be a DNS subdomain"}
	if !errors.Is(err, ErrInvalid) {
		t.Error("FieldError does not match ErrInvalid")
	}
	if got, want := err.Error(), `invalid Hostname "bad host": must be a DNS subdomain`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
