package kubewrite

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/registrykit/registrykit"
)

func TestConflictBackoffOutlastsClientGoDefault(t *testing.T) {
	if ConflictBackoff.Steps <= 5 {
		t.Errorf("ConflictBackoff allows %d attempts, no more than client-go's default", ConflictBackoff.Steps)
	}
}

func TestRecordMarksDryRunWrites(t *testing.T) {
	ctx := t.Context()
	dry := registrykit.WriteOptions{DryRun: true}
	if got := Record(ctx, dry, "test", registrykit.Result{Action: registrykit.Created, Reason: "made"}); got.Reason != "made (dry run: not persisted)" {
		t.Errorf("dry-run create reason = %q", got.Reason)
	}
	if got := Record(ctx, dry, "test", registrykit.Result{Action: registrykit.Unchanged, Reason: "same"}); got.Reason != "same" {
		t.Errorf("dry-run unchanged reason = %q (nothing to persist, no marker)", got.Reason)
	}
	want := registrykit.Result{Action: registrykit.Updated, Reason: "changed"}
	if diff := cmp.Diff(want, Record(ctx, registrykit.WriteOptions{}, "test", want)); diff != "" {
		t.Errorf("Record (-want +got):\n%s", diff)
	}
}

func TestRecordLogsOnceAndWarnsOnForeignSkips(t *testing.T) {
	var buf bytes.Buffer
	o := registrykit.WriteOptions{Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	Record(t.Context(), o, "pullsecret", registrykit.Result{Action: registrykit.Skipped, Skip: registrykit.SkipForeign, Reason: "not ours"}, slog.String("secret", "a/b"))
	got := buf.String()
	for _, want := range []string{"level=WARN", `msg="pullsecret: skipped"`, "secret=a/b", "skip=foreign", `reason="not ours"`} {
		if !strings.Contains(got, want) {
			t.Errorf("log %q lacks %q", got, want)
		}
	}
	if n := strings.Count(got, "\n"); n != 1 {
		t.Errorf("%d records, want 1", n)
	}
}
