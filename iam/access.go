package iam

import (
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ServiceName is the IAM service name of IBM Cloud Container Registry.
const ServiceName = "container-registry"

// GlobalRegion is the Access.Region of the global registry icr.io; it
// becomes the policy attribute geography=global.
const GlobalRegion = "global"

// The container-registry service roles.
const (
	Reader  = "Reader"
	Writer  = "Writer"
	Manager = "Manager"
)

// Access is what EnsureRegistryPolicy grants on Container Registry.
type Access struct {
	// Role is Reader, Writer or Manager (any letter case on input; the
	// canonical spelling on output).
	Role string
	// Region limits the policy to one registry region. Empty means every
	// region; GlobalRegion ("global") means the global registry icr.io.
	// IBM Cloud region names are accepted (us-south, us-east, eu-gb, eu-de,
	// eu-es, eu-fr2, au-syd, jp-tok, jp-osa, ca-tor, ca-mon, br-sao,
	// in-che, in-mum) as are Container Registry's own names and domain
	// prefixes (uk-south, eu-central, ap-south, ap-north; us, uk, de, au,
	// jp, jp2, ca, br, es, fr2), which are normalised to the IBM Cloud
	// region name written into the policy (uk-south → eu-gb, de → eu-de).
	Region string
	// Namespace limits the policy to one registry namespace (4–30
	// characters: lower-case letters, digits, '-' and '_', starting and
	// ending with a letter or digit). Empty means every namespace.
	Namespace string
}

// regions maps every accepted Region spelling to the canonical name.
var regions = map[string]string{
	GlobalRegion: GlobalRegion,
	"us-south":   "us-south", "us-east": "us-east", "eu-gb": "eu-gb", "eu-de": "eu-de",
	"eu-es": "eu-es", "eu-fr2": "eu-fr2", "au-syd": "au-syd", "jp-tok": "jp-tok",
	"jp-osa": "jp-osa", "ca-tor": "ca-tor", "ca-mon": "ca-mon", "br-sao": "br-sao",
	"in-che": "in-che", "in-mum": "in-mum",
	// Container Registry region names.
	"uk-south": "eu-gb", "eu-central": "eu-de", "ap-south": "au-syd", "ap-north": "jp-tok",
	// icr.io domain prefixes.
	"us": "us-south", "uk": "eu-gb", "de": "eu-de", "au": "au-syd", "jp": "jp-tok",
	"jp2": "jp-osa", "ca": "ca-tor", "br": "br-sao", "es": "eu-es", "fr2": "eu-fr2",
}

// Regions returns the canonical region names Access.Region accepts
// (GlobalRegion included), sorted.
func Regions() []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range regions {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

var namespaceRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{2,28}[a-z0-9]$`)

// Validate reports every problem of a as field errors under path (nil
// for none): an empty or unknown role, an unknown region, a namespace that
// Container Registry would refuse. It sends nothing anywhere.
func (a Access) Validate(path *field.Path) field.ErrorList {
	_, errs := a.normalize(path)
	return errs
}

// Normalize validates a and returns it in canonical form. Every problem is
// reported at once, as a *registrykit.InvalidError.
func (a Access) Normalize() (Access, error) {
	out, errs := a.normalize(nil)
	if err := invalid("Access", errs); err != nil {
		return Access{}, err
	}
	return out, nil
}

func (a Access) normalize(path *field.Path) (Access, field.ErrorList) {
	var errs field.ErrorList
	out := a
	switch strings.ToLower(a.Role) {
	case "reader":
		out.Role = Reader
	case "writer":
		out.Role = Writer
	case "manager":
		out.Role = Manager
	case "":
		errs = append(errs, field.Required(path.Child("role"), "Reader, Writer or Manager"))
	default:
		errs = append(errs, field.NotSupported(path.Child("role"), a.Role, []string{Reader, Writer, Manager}))
	}
	if a.Region != "" {
		r, ok := regions[strings.ToLower(a.Region)]
		if !ok {
			errs = append(errs, field.Invalid(path.Child("region"), a.Region, "not a Container Registry region (see iam.Regions)"))
		}
		out.Region = r
	}
	if a.Namespace != "" && !namespaceRE.MatchString(a.Namespace) {
		errs = append(errs, field.Invalid(path.Child("namespace"), a.Namespace,
			"want 4-30 lower-case letters, digits, '-' or '_', starting and ending with a letter or digit"))
	}
	return out, errs
}

// attributes returns the policy resource attributes for a (normalised)
// access in account.
func (a Access) attributes(accountID string) map[string]string {
	m := map[string]string{"accountId": accountID, "serviceName": ServiceName}
	switch a.Region {
	case "":
	case GlobalRegion:
		m["geography"] = GlobalRegion
	default:
		m["region"] = a.Region
	}
	if a.Namespace != "" {
		m["resourceType"] = "namespace"
		m["resource"] = a.Namespace
	}
	return m
}

// accessFromAttributes is the inverse of attributes; ok is false for
// attributes this package would not write.
func accessFromAttributes(m map[string]string) (Access, bool) {
	if m["serviceName"] != ServiceName {
		return Access{}, false
	}
	var a Access
	known := map[string]bool{"accountId": true, "serviceName": true}
	if g, ok := m["geography"]; ok {
		if g != GlobalRegion {
			return Access{}, false
		}
		a.Region = GlobalRegion
		known["geography"] = true
	}
	if r, ok := m["region"]; ok {
		if a.Region != "" {
			return Access{}, false
		}
		a.Region = r
		known["region"] = true
	}
	if m["resourceType"] == "namespace" && m["resource"] != "" {
		a.Namespace = m["resource"]
		known["resourceType"], known["resource"] = true, true
	}
	for k := range m {
		if !known[k] {
			return Access{}, false
		}
	}
	return a, true
}
