package icr

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/iam"
)

// BearerUsername is the username with which IBM Cloud Container Registry
// accepts an IAM access token as the password, on every icr.io domain:
// `docker login -u iambearer -p "$(ibmcloud iam oauth-tokens ...)"`.
const BearerUsername = "iambearer"

// BearerConfig builds the .dockerconfigjson document that gives an IAM
// access token pull (and, with the identity's Writer access, push) access
// to each domain, with username BearerUsername. With no domains it uses
// every public and private domain (Domains(DomainOptions{})), like
// APIKeyConfig. The token's access is whatever IAM grants its identity
// (the trusted profile or service ID); the document is good until
// tok.Expiry.
//
// It is a pure builder: it does not check that tok is still valid. Ask
// RefreshPolicy.Decide before writing the document anywhere. The token
// goes only into the returned document; errors never contain it.
func BearerConfig(tok iam.Token, domains []string) (*dockerconfig.Config, error) {
	var errs field.ErrorList
	if tok.IsZero() {
		errs = append(errs, field.Required(field.NewPath("tok"), "an IAM access token"))
	}
	if len(domains) == 0 {
		domains, _ = Domains(DomainOptions{})
	}
	domains = trimmed(domains)
	errs = append(errs, ValidateDomains(field.NewPath("domains"), domains)...)
	if err := registrykit.Invalid("icr.BearerConfig input", errs); err != nil {
		return nil, err
	}
	cfg := &dockerconfig.Config{}
	for _, d := range domains {
		cfg.Set(d, dockerconfig.Entry{Username: BearerUsername, Password: tok.Value.Reveal()})
	}
	return cfg, nil
}

// BearerToken returns the IAM access token that cfg holds for
// BearerUsername, with its times read from the token's claims
// (iam.ParseToken). When entries hold different tokens, it returns the one
// that expires first, the one a reader may be handed first; ok is false
// when no entry is an iambearer credential.
func BearerToken(cfg *dockerconfig.Config) (tok iam.Token, ok bool) {
	if cfg == nil {
		return iam.Token{}, false
	}
	for _, server := range cfg.Servers() {
		e := cfg.Auths[server]
		if e.Username != BearerUsername || e.Password == "" {
			continue
		}
		t := iam.ParseToken(e.Password)
		if !ok || earlier(t, tok) {
			tok, ok = t, true
		}
	}
	return tok, ok
}

// earlier reports whether a expires before b; an unknown expiry counts as
// the earliest (it cannot be shown to be valid).
func earlier(a, b iam.Token) bool {
	switch {
	case a.Expiry.IsZero():
		return !b.Expiry.IsZero()
	case b.Expiry.IsZero():
		return false
	}
	return a.Expiry.Before(b.Expiry)
}

// trimmed returns ds with surrounding white space removed from each.
func trimmed(ds []string) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = strings.TrimSpace(d)
	}
	return out
}
