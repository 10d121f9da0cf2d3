package valid

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// summary is "<type> <field>" per error, the part callers rely on.
func summary(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+" "+e.Field)
	}
	return out
}

func TestChecks(t *testing.T) {
	f := field.NewPath("opts", "x")
	tests := []struct {
		name string
		errs field.ErrorList
		want []string
	}{
		{"server", Server(f, "us.icr.io"), nil},
		{"server bad", Server(f, "https://us.icr.io/a b"), []string{"FieldValueInvalid opts.x"}},
		{"not negative", NotNegative(f, 0, 0), nil},
		{"negative", NotNegative(f, -1, -1), []string{"FieldValueInvalid opts.x"}},
		{"globs", Globs(f, []string{"kube-*", "a"}), nil},
		{"bad globs", Globs(f, []string{"ok", "", "[x"}), []string{"FieldValueInvalid opts.x[1]", "FieldValueInvalid opts.x[2]"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, summary(tt.errs)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestValuesHaveNoUserinfo(t *testing.T) {
	for _, errs := range []field.ErrorList{
		Server(field.NewPath("s"), "https://u:s3cret@us.icr.io/ a"),
		Globs(field.NewPath("g"), []string{"u:s3cret@[x"}),
	} {
		if len(errs) == 0 || strings.Contains(errs.ToAggregate().Error(), "s3cret") {
			t.Errorf("errs = %v, want an error without the password", errs)
		}
	}
}
