package registrykit

import (
	"errors"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit/internal/redact"
)

// ErrInvalid matches every invalid-input error of this module: an input
// failed validation and nothing was sent to any API. Use errors.As with
// *InvalidError to read the field errors.
var ErrInvalid = errors.New("invalid input")

// InvalidError reports every problem found in one call's input at once, as
// apimachinery field errors: field paths such as "spec.namespaces[2]" that
// kubectl users already read. It matches ErrInvalid. A field error's value
// is never a credential: credentials are reported with field.Required or
// with the value omitted.
type InvalidError struct {
	// What names the input, e.g. "pullsecret.CopyOptions".
	What string
	// Errs are the problems, in the order they were found.
	Errs field.ErrorList
}

// Invalid returns an *InvalidError for errs, or nil when errs is empty.
// A string value that holds userinfo (a credential pasted into a host,
// server, URL or image reference: "user:password@host") is redacted in
// the returned errors; errs itself is not changed.
func Invalid(what string, errs field.ErrorList) error {
	if len(errs) == 0 {
		return nil
	}
	out := make(field.ErrorList, len(errs))
	for i, fe := range errs {
		if s, ok := fe.BadValue.(string); ok {
			if r := redact.Userinfo(s); r != s {
				c := *fe
				c.BadValue = r
				fe = &c
			}
		}
		out[i] = fe
	}
	return &InvalidError{What: what, Errs: out}
}

func (e *InvalidError) Error() string {
	msg := e.Errs.ToAggregate().Error()
	if e.What == "" {
		return "invalid input: " + msg
	}
	return "invalid " + e.What + ": " + msg
}

// Is reports whether target is ErrInvalid.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// Unwrap returns the field errors, so errors.As finds a *field.Error.
func (e *InvalidError) Unwrap() []error {
	out := make([]error, len(e.Errs))
	for i, fe := range e.Errs {
		out[i] = fe
	}
	return out
}

// ValidateNamespace checks a namespace name (a DNS-1123 label, what the
// API server requires) at path: field.Required when empty, field.Invalid
// with each reason otherwise. The value echoed has any userinfo removed.
func ValidateNamespace(path *field.Path, name string) field.ErrorList {
	return validateName(path, name, validation.IsDNS1123Label)
}

// ValidateName checks the name of a secret, service account, pod or lease
// (a DNS-1123 subdomain) at path, as ValidateNamespace does.
func ValidateName(path *field.Path, name string) field.ErrorList {
	return validateName(path, name, validation.IsDNS1123Subdomain)
}

func validateName(path *field.Path, name string, check func(string) []string) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	var errs field.ErrorList
	for _, msg := range check(name) {
		errs = append(errs, field.Invalid(path, redact.Userinfo(name), msg))
	}
	return errs
}
