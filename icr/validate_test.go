package icr

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func fieldSummary(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+" "+e.Field)
	}
	return out
}

func TestDomainOptionsValidate(t *testing.T) {
	p := field.NewPath("opts")
	tests := []struct {
		name string
		opts DomainOptions
		want []string
	}{
		{"zero value", DomainOptions{}, nil},
		{"names and aliases", DomainOptions{Regions: []string{"us-south", GlobalRegion}, Endpoints: PrivateEndpoints}, nil},
		{"unknown regions", DomainOptions{Regions: []string{"us-south", "mars", ""}}, []string{"FieldValueNotSupported opts.regions[1]", "FieldValueNotSupported opts.regions[2]"}},
		{"endpoints out of range", DomainOptions{Endpoints: 7}, []string{"FieldValueInvalid opts.endpoints"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, fieldSummary(tt.opts.Validate(p))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestValidateDomains(t *testing.T) {
	got := fieldSummary(ValidateDomains(field.NewPath("domains"), []string{"us.icr.io", " ", "http://", "u:pw@us.icr.io"}))
	want := []string{"FieldValueRequired domains[1]", "FieldValueInvalid domains[2]", "FieldValueInvalid domains[3]"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, e := range ValidateDomains(field.NewPath("d"), []string{"u:s3cret@us.icr.io"}) {
		if s, _ := e.BadValue.(string); s != "" && s != "REDACTED@us.icr.io" {
			t.Errorf("value = %q, want the userinfo redacted", s)
		}
	}
}
