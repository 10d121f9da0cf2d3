package icr

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/internal/redact"
)

// Validate reports every problem of o as field errors under path (nil for
// none): unknown regions (field.NotSupported, listing the region names)
// and an Endpoints value out of range. It does no I/O.
func (o DomainOptions) Validate(path *field.Path) field.ErrorList {
	errs := ValidateRegions(path.Child("regions"), o.Regions)
	if o.Endpoints < AllEndpoints || o.Endpoints > PrivateEndpoints {
		errs = append(errs, field.Invalid(path.Child("endpoints"), o.Endpoints, "must be AllEndpoints, PublicEndpoints or PrivateEndpoints"))
	}
	return errs
}

// ValidateRegions checks region names and aliases (LookupRegion) at path:
// one field.NotSupported per unknown one, at its index.
func ValidateRegions(path *field.Path, regions []string) field.ErrorList {
	var errs field.ErrorList
	for i, r := range regions {
		if _, ok := LookupRegion(r); !ok {
			errs = append(errs, field.NotSupported(path.Index(i), redact.Userinfo(r), regionNames()))
		}
	}
	return errs
}

func regionNames() []string {
	out := make([]string, 0, len(regions))
	for _, r := range regions {
		out = append(out, r.Name)
	}
	return out
}

// ValidateDomains checks registry domains at path: field.Required for a
// blank one, field.Invalid for one that is not a registry server
// (dockerconfig.NormalizeServer), at its index. The value echoed has any
// userinfo removed.
func ValidateDomains(path *field.Path, domains []string) field.ErrorList {
	var errs field.ErrorList
	for i, d := range domains {
		if strings.TrimSpace(d) == "" {
			errs = append(errs, field.Required(path.Index(i), "a registry server"))
			continue
		}
		if _, err := dockerconfig.NormalizeServer(d); err != nil {
			errs = append(errs, field.Invalid(path.Index(i), redact.Userinfo(d), "not a registry server: "+err.Error()))
		}
	}
	return errs
}
