package registry

import (
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/icr"
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

// The checks of the root package and of icr, by the names the workflows
// use: composed, not repeated.
var (
	validLabel     = registrykit.ValidateNamespace
	validSubdomain = registrykit.ValidateName
	validRegions   = icr.ValidateRegions
	validDomains   = icr.ValidateDomains
)

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
