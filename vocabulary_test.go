package registrykit_test

import (
	"errors"
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit"
)

func TestInvalid(t *testing.T) {
	if err := registrykit.Invalid("x", nil); err != nil {
		t.Fatalf("Invalid(nil) = %v, want nil", err)
	}
	errs := field.ErrorList{
		field.Required(field.NewPath("spec", "name"), ""),
		field.Invalid(field.NewPath("spec", "apiKey"), field.OmitValueType{}, "must not be empty"),
	}
	err := registrykit.Invalid("pullsecret.Options", errs)
	if !errors.Is(err, registrykit.ErrInvalid) {
		t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
	}
	var fe *field.Error
	if !errors.As(err, &fe) || fe.Field != "spec.name" {
		t.Errorf("errors.As(*field.Error) = %v, want spec.name", fe)
	}
	want := "invalid pullsecret.Options: [spec.name: Required value, spec.apiKey: Invalid value: must not be empty]"
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestResult(t *testing.T) {
	for _, tc := range []struct {
		r         registrykit.Result
		str       string
		attention bool
	}{
		{registrykit.Result{Action: registrykit.Created}, "created", false},
		{registrykit.Result{Action: registrykit.Skipped, Skip: registrykit.SkipTerminating, Reason: "namespace is terminating"}, "skipped [terminating] (namespace is terminating)", false},
		{registrykit.Result{Action: registrykit.Skipped, Skip: registrykit.SkipForeign}, "skipped [foreign]", true},
		{registrykit.Result{Action: registrykit.Skipped, Skip: registrykit.SkipInUse}, "skipped [in-use]", true},
		{registrykit.Result{Action: registrykit.Skipped, Skip: registrykit.SkipForbidden}, "skipped [forbidden]", true},
		{registrykit.Result{Action: registrykit.Skipped, Skip: registrykit.SkipNotOurs}, "skipped [not-ours]", false},
		{registrykit.Result{Action: registrykit.Updated, Warnings: []string{"quay.io is missing"}}, "updated; warning: quay.io is missing", true},
	} {
		if got := tc.r.String(); got != tc.str {
			t.Errorf("String() = %q, want %q", got, tc.str)
		}
		if got := tc.r.NeedsAttention(); got != tc.attention {
			t.Errorf("%s: NeedsAttention() = %v, want %v", tc.str, got, tc.attention)
		}
	}
}

func ExampleResult() {
	r := registrykit.Result{Action: registrykit.Skipped, Skip: registrykit.SkipForeign, Reason: "team-a/all-icr-io was not made by registrykit"}
	fmt.Println(r)
	fmt.Println(r.NeedsAttention())
	// Output:
	// skipped [foreign] (team-a/all-icr-io was not made by registrykit)
	// true
}
