package registry

import (
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/icr"
)

// ErrInvalid matches every input problem a workflow finds before its first
// API call. The returned error joins every problem (*FieldError) at once.
var ErrInvalid = errors.New("invalid input")

// ErrServiceIDNotFound is returned by RotateAPIKey when the service ID whose
// key it should rotate does not exist.
var ErrServiceIDNotFound = errors.New("service ID not found")

// FieldError is one invalid input. It matches ErrInvalid, and unwraps to an
// underlying error (such as icr.ErrUnknownRegion or icr.ErrEmptyCredential) if any.
// Value is never a credential.
type FieldError struct {
	Field  string // the option, e.g. "ClusterID"
	Value  string // the offending value ("" for credentials)
	Detail string
	Err    error
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.Field)
	if e.Value != "" {
		fmt.Fprintf(&b, " %q", e.Value)
	}
	b.WriteString(": ")
	b.WriteString(e.Detail)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Is reports whether target is ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// Unwrap returns the underlying error, if any.
func (e *FieldError) Unwrap() error { return e.Err }

// problems collects FieldErrors.
type problems []error

func (p *problems) add(field, value, detail string, err error) {
	*p = append(*p, &FieldError{Field: field, Value: value, Detail: detail, Err: err})
}

func (p *problems) err() error { return errors.Join(*p...) }

// label checks a DNS-1123 label (namespaces, cluster IDs, project names).
func (p *problems) label(field, v string) {
	if v == "" {
		p.add(field, "", "required", nil)
		return
	}
	if msgs := validation.IsDNS1123Label(v); len(msgs) > 0 {
		p.add(field, v, "must be a DNS-1123 label: "+strings.Join(msgs, "; "), nil)
	}
}

// subdomain checks a DNS-1123 subdomain (secret and service account names).
func (p *problems) subdomain(field, v string) {
	if v == "" {
		p.add(field, "", "required", nil)
		return
	}
	if msgs := validation.IsDNS1123Subdomain(v); len(msgs) > 0 {
		p.add(field, v, "must be a DNS-1123 subdomain: "+strings.Join(msgs, "; "), nil)
	}
}

func (p *problems) domains(field string, ds []string) {
	for _, d := range ds {
		if _, err := dockerconfig.NormalizeServer(d); err != nil || strings.TrimSpace(d) == "" {
			p.add(field, d, "not a registry server", err)
		}
	}
}

func (p *problems) regions(field string, rs []string) {
	for _, r := range rs {
		if _, ok := icr.LookupRegion(r); !ok {
			p.add(field, r, "not an IBM Cloud Container Registry region", icr.ErrUnknownRegion)
		}
	}
}

func (p *problems) cluster(c *Cluster, needs ...string) {
	if c == nil {
		p.add("cluster", "", "required", ErrNoClient)
		return
	}
	for _, n := range needs {
		var missing bool
		switch n {
		case "Kube":
			missing = c.Kube == nil
		case "Routes":
			missing = c.Routes == nil
		case "Images":
			missing = c.Images == nil
		case "Builds":
			missing = c.Builds == nil
		case "Operator":
			missing = c.Operator == nil
		}
		if missing {
			p.add("cluster."+n, "", "required", ErrNoClient)
		}
	}
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func joinProblems(errs ...error) error {
	var all []error
	for _, e := range errs {
		if e != nil {
			all = append(all, e)
		}
	}
	if len(all) == 1 {
		return all[0]
	}
	return errors.Join(all...)
}
