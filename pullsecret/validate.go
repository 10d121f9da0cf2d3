package pullsecret

import (
	"errors"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/registrykit/registrykit/dockerconfig"
)

// problems collects validation failures so that every one is reported at
// once.
type problems []error

func (p *problems) add(field, value, problem string) {
	*p = append(*p, &InvalidError{Field: field, Value: value, Problem: problem})
}

// namespace checks a namespace name (DNS-1123 label).
func (p *problems) namespace(field, v string) {
	if v == "" {
		p.add(field, v, "must not be empty")
		return
	}
	if errs := validation.IsDNS1123Label(v); len(errs) > 0 {
		p.add(field, v, strings.Join(errs, "; "))
	}
}

// objectName checks a secret or service account name (DNS-1123 subdomain).
func (p *problems) objectName(field, v string) {
	if v == "" {
		p.add(field, v, "must not be empty")
		return
	}
	if errs := validation.IsDNS1123Subdomain(v); len(errs) > 0 {
		p.add(field, v, strings.Join(errs, "; "))
	}
}

// config checks that a docker config is present, holds at least one
// registry, and passes dockerconfig's own validation.
func (p *problems) config(field string, c *dockerconfig.Config) {
	if c == nil {
		p.add(field, "", "must not be nil")
		return
	}
	if len(c.Auths) == 0 {
		p.add(field, "", "holds no registry")
		return
	}
	if err := c.Validate(); err != nil {
		*p = append(*p, &InvalidError{Field: field, Problem: err.Error(), Err: err})
	}
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	if len(p) == 1 {
		return p[0]
	}
	return errors.Join(p...)
}
