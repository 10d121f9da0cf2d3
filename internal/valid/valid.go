// Package valid holds the field checks that more than one package applies
// to its input and that are not public: registry servers, counts, globs
// (names are registrykit.ValidateName and ValidateNamespace). Each
// returns apimachinery field errors for its field (nil when the value is
// good), for the caller to join with its own and wrap once with
// registrykit.Invalid. A value echoed in an error has any userinfo removed;
// a credential is never passed here.
//
// What one package alone checks stays in that package; what a lower
// package's options check is composed through their Validate(path), not
// checked again.
package valid

import (
	"path"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/internal/redact"
)

// Server checks a registry server key (dockerconfig.NormalizeServer).
func Server(fld *field.Path, s string) field.ErrorList {
	if _, err := dockerconfig.NormalizeServer(s); err != nil {
		return field.ErrorList{field.Invalid(fld, redact.Userinfo(s), err.Error())}
	}
	return nil
}

// NotNegative checks a count or a duration; shown is the value as the
// error should print it (a duration's String()).
func NotNegative[T ~int | ~int64](fld *field.Path, v T, shown any) field.ErrorList {
	if v < 0 {
		return field.ErrorList{field.Invalid(fld, shown, "must not be negative")}
	}
	return nil
}

// Globs checks namespace globs (path.Match syntax), each non-empty.
func Globs(fld *field.Path, globs []string) field.ErrorList {
	var errs field.ErrorList
	for i, g := range globs {
		if _, err := path.Match(g, ""); g == "" || err != nil {
			errs = append(errs, field.Invalid(fld.Index(i), redact.Userinfo(g), "not a glob (path.Match syntax)"))
		}
	}
	return errs
}
