package pullsecret

import (
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
)

// Validation reports every problem of a call's input at once, before the
// first API call, as apimachinery field errors wrapped by registrykit.Invalid
// (errors.Is(err, registrykit.ErrInvalid); errors.As(err,
// new(*registrykit.InvalidError)) gives the list). Field paths name the
// argument or option in lower camel case ("namespace", "from.name",
// "targets.namespaces[2]", "concurrency"). A value echoed in a field error
// has any userinfo removed; a credential is never a field value.

// invalid wraps the field errors of one call or options type.
func invalid(what string, errs field.ErrorList) error { return registrykit.Invalid(what, errs) }

// validConfig checks that a docker config is present, holds at least one
// registry and passes dockerconfig's own validation. The config's content
// is never a field value.
func validConfig(fld *field.Path, c *dockerconfig.Config) field.ErrorList {
	switch {
	case c == nil:
		return field.ErrorList{field.Required(fld, "")}
	case len(c.Auths) == 0:
		return field.ErrorList{field.Required(fld.Child("auths"), "holds no registry")}
	}
	if err := c.Validate(); err != nil {
		return field.ErrorList{field.Invalid(fld, field.OmitValueType{}, err.Error())}
	}
	return nil
}
