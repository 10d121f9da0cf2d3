package registry

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/icr"
	"github.com/registrykit/registrykit/internal/redact"
)

// Every workflow validates its options, the Cluster's clients and the IAM
// client before its first call and reports every problem at once: one
// *registrykit.InvalidError (errors.Is(err, registrykit.ErrInvalid)) of
// apimachinery field errors whose paths name the options in lower camel
// case ("clusterID", "namespaces[1]", "cluster.routes"). Options that a
// lower package checks (pullsecret.Targets, route.ExposeOptions, ...) are
// checked by that package's Validate; every workflow's options have a
// Validate(path) of their own. A value echoed in a field error has
// any userinfo removed; a credential is never a field value.

// validLabel checks a required DNS-1123 label (namespaces, cluster IDs, project
// names).
func validLabel(fld *field.Path, v string) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(fld, "")}
	}
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(v) {
		errs = append(errs, field.Invalid(fld, redact.Userinfo(v), msg))
	}
	return errs
}

// validSubdomain checks a required DNS-1123 subdomain (secret and service
// account names).
func validSubdomain(fld *field.Path, v string) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(fld, "")}
	}
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(v) {
		errs = append(errs, field.Invalid(fld, redact.Userinfo(v), msg))
	}
	return errs
}

// validDomains checks registry servers.
func validDomains(fld *field.Path, ds []string) field.ErrorList {
	var errs field.ErrorList
	for i, d := range ds {
		if strings.TrimSpace(d) == "" {
			errs = append(errs, field.Required(fld.Index(i), "a registry server"))
			continue
		}
		if _, err := dockerconfig.NormalizeServer(d); err != nil {
			errs = append(errs, field.Invalid(fld.Index(i), redact.Userinfo(d), "not a registry server: "+err.Error()))
		}
	}
	return errs
}

// validRegions checks region names and aliases.
func validRegions(fld *field.Path, rs []string) field.ErrorList {
	var errs field.ErrorList
	for i, r := range rs {
		if _, ok := icr.LookupRegion(r); !ok {
			errs = append(errs, field.NotSupported(fld.Index(i), redact.Userinfo(r), regionNames()))
		}
	}
	return errs
}

func regionNames() []string {
	var out []string
	for _, r := range icr.Regions() {
		out = append(out, r.Name)
	}
	return out
}

// notNegative checks a count or a duration.
func notNegative[T ~int | ~int64](fld *field.Path, v T, shown any) field.ErrorList {
	if v < 0 {
		return field.ErrorList{field.Invalid(fld, shown, "must not be negative")}
	}
	return nil
}

// client names a client of the Cluster that a workflow needs.
type client string

const (
	kubeClient     client = "kube"
	routesClient   client = "routes"
	imagesClient   client = "images"
	buildsClient   client = "builds"
	operatorClient client = "operator"
)

// clusterErrs reports a nil Cluster or a nil client the workflow needs.
func clusterErrs(c *Cluster, needs ...client) field.ErrorList {
	fld := field.NewPath("cluster")
	if c == nil {
		return field.ErrorList{field.Required(fld, "")}
	}
	var errs field.ErrorList
	for _, n := range needs {
		var missing bool
		switch n {
		case kubeClient:
			missing = c.Kube == nil
		case routesClient:
			missing = c.Routes == nil
		case imagesClient:
			missing = c.Images == nil
		case buildsClient:
			missing = c.Builds == nil
		case operatorClient:
			missing = c.Operator == nil
		}
		if missing {
			errs = append(errs, field.Required(fld.Child(string(n)), "this workflow needs the client"))
		}
	}
	return errs
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
