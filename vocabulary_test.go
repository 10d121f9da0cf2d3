package registrykit_test

import (
	"errors"
	"fmt"
	"strings"
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

// A value a user pasted a credential into ("user:password@host", a URL
// with userinfo) is redacted in every field error Invalid returns, whatever
// package built it, in Error() and in the field.Error's Value alike.
func TestInvalidRedactsUserinfo(t *testing.T) {
	const pw = "SENTINEL-pasted-password-7d1e"
	errs := field.ErrorList{
		field.Invalid(field.NewPath("host"), "iamapikey:"+pw+"@registry.example.com", "must be a host"),
		field.Invalid(field.NewPath("url"), "https://u:"+pw+"@iam.example.com/", "no userinfo"),
		field.NotSupported(field.NewPath("domains").Index(0), pw+"@us.icr.io", []string{"us.icr.io"}),
		field.Invalid(field.NewPath("port"), 99999, "out of range"),
	}
	err := registrykit.Invalid("x", errs)
	var ie *registrykit.InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %T", err)
	}
	for _, out := range []string{err.Error(), fmt.Sprintf("%#v", ie.Errs), fmt.Sprintf("%+v", err)} {
		if strings.Contains(out, pw) {
			t.Errorf("a pasted credential is printed: %s", strings.ReplaceAll(out, pw, "<MATCH>"))
		}
	}
	if !strings.Contains(err.Error(), "REDACTED@registry.example.com") || !strings.Contains(err.Error(), "99999") {
		t.Errorf("Error() = %q: want the host redacted and the other values kept", strings.ReplaceAll(err.Error(), pw, "<MATCH>"))
	}
	if got := errs[0].BadValue; got != "iamapikey:"+pw+"@registry.example.com" {
		t.Errorf("the caller's ErrorList was changed: %v", strings.ReplaceAll(fmt.Sprint(got), pw, "<MATCH>"))
	}
}

func TestValidateNames(t *testing.T) {
	p := field.NewPath("from", "namespace")
	for _, tc := range []struct {
		name      string
		fn        func(*field.Path, string) field.ErrorList
		in        string
		want      string // "" for valid
		notInside string
	}{
		{"namespace", registrykit.ValidateNamespace, "team-a", "", ""},
		{"namespace empty", registrykit.ValidateNamespace, "", "from.namespace: Required value", ""},
		{"namespace with a dot", registrykit.ValidateNamespace, "team.a", "from.namespace: Invalid value", ""},
		{"namespace with userinfo", registrykit.ValidateNamespace, "u:pw@x", "from.namespace: Invalid value", "pw"},
		{"name with a dot", registrykit.ValidateName, "all-icr-io.v2", "", ""},
		{"name empty", registrykit.ValidateName, "", "from.namespace: Required value", ""},
		{"name upper case", registrykit.ValidateName, "All", "from.namespace: Invalid value", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.fn(p, tc.in)
			got := errs.ToAggregate()
			switch {
			case tc.want == "" && got != nil:
				t.Fatalf("errors %v, want none", got)
			case tc.want == "":
				return
			case got == nil:
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.HasPrefix(got.Error(), tc.want) {
				t.Errorf("error %q, want it to start with %q", got, tc.want)
			}
			if tc.notInside != "" && strings.Contains(got.Error(), tc.notInside) {
				t.Errorf("error %q echoes %q", got, tc.notInside)
			}
		})
	}
}
