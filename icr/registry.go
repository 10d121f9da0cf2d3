package icr

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/internal/redact"
)

// Usernames that IBM Cloud Container Registry accepts with an API key.
const (
	// APIKeyUsername is the username for an IBM Cloud IAM API key on every
	// icr.io domain.
	APIKeyUsername = "iamapikey"
	// EntitledUsername is the username for an entitlement key on the IBM
	// Cloud entitled registry.
	EntitledUsername = "cp"
	// EntitledDomain is the entitled registry that serves IBM software
	// (Cloud Paks) to accounts with an entitlement key.
	EntitledDomain = "cp.icr.io"
	// GlobalRegion is the name used for the global registry icr.io, in this
	// package and in IAM policies (where it is the geography=global attribute).
	GlobalRegion = "global"
)

// Region is one IBM Cloud Container Registry region.
type Region struct {
	// Name is the IBM Cloud region name (as in IAM policies), for example
	// "us-south", or GlobalRegion for icr.io.
	Name string
	// Aliases are other names of the same region: the registry's older
	// region names (for example "uk-south" for "eu-gb", "ap-north" for
	// "jp-tok") that `ibmcloud cr region-set` still accepts.
	Aliases []string
	// Domain is the public registry domain, for example "us.icr.io".
	Domain string
	// PrivateDomain is the domain reached over IBM Cloud private
	// endpoints, for example "private.us.icr.io".
	PrivateDomain string
	// LegacyDomains are retired domains of the region
	// (registry.<region>.bluemix.net). They no longer serve images; they are
	// listed so that old pull secrets can be recognised and cleaned up, and are
	// never part of Domains.
	LegacyDomains []string
}

// regions is the registry's region table. Keep it sorted as the IBM Cloud
// documentation lists the regions: global first, then by geography.
var regions = []Region{
	{Name: GlobalRegion, Domain: "icr.io", PrivateDomain: "private.icr.io", LegacyDomains: []string{"registry.bluemix.net"}},
	{Name: "us-south", Domain: "us.icr.io", PrivateDomain: "private.us.icr.io", LegacyDomains: []string{"registry.ng.bluemix.net"}},
	{Name: "eu-gb", Aliases: []string{"uk-south"}, Domain: "uk.icr.io", PrivateDomain: "private.uk.icr.io", LegacyDomains: []string{"registry.eu-gb.bluemix.net"}},
	{Name: "eu-de", Aliases: []string{"eu-central"}, Domain: "de.icr.io", PrivateDomain: "private.de.icr.io", LegacyDomains: []string{"registry.eu-de.bluemix.net"}},
	{Name: "au-syd", Aliases: []string{"ap-south"}, Domain: "au.icr.io", PrivateDomain: "private.au.icr.io", LegacyDomains: []string{"registry.au-syd.bluemix.net"}},
	{Name: "jp-tok", Aliases: []string{"ap-north"}, Domain: "jp.icr.io", PrivateDomain: "private.jp.icr.io"},
	{Name: "jp-osa", Domain: "jp2.icr.io", PrivateDomain: "private.jp2.icr.io"},
	{Name: "ca-tor", Domain: "ca.icr.io", PrivateDomain: "private.ca.icr.io"},
	{Name: "ca-mon", Domain: "ca2.icr.io", PrivateDomain: "private.ca2.icr.io"},
	{Name: "br-sao", Domain: "br.icr.io", PrivateDomain: "private.br.icr.io"},
	{Name: "eu-es", Domain: "es.icr.io", PrivateDomain: "private.es.icr.io"},
	{Name: "in-che", Domain: "in.icr.io", PrivateDomain: "private.in.icr.io"},
	{Name: "in-mum", Domain: "in2.icr.io", PrivateDomain: "private.in2.icr.io"},
	{Name: "eu-fr2", Domain: "fr2.icr.io", PrivateDomain: "private.fr2.icr.io"},
}

// ErrUnknownRegion is returned (wrapped) for a region name or alias that is
// not an IBM Cloud Container Registry region.
var ErrUnknownRegion = errors.New("unknown IBM Cloud Container Registry region")

// ErrEmptyCredential is returned when a credential (an API key or an
// entitlement key) is empty.
var ErrEmptyCredential = errors.New("empty credential")

// Regions returns every registry region, global first. The result is a copy:
// changing it changes nothing here.
func Regions() []Region {
	out := make([]Region, len(regions))
	for i, r := range regions {
		r.Aliases = slices.Clone(r.Aliases)
		r.LegacyDomains = slices.Clone(r.LegacyDomains)
		out[i] = r
	}
	return out
}

// LookupRegion finds a region by its name or one of its aliases, ignoring case.
func LookupRegion(name string) (Region, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, r := range Regions() {
		if r.Name == n || slices.Contains(r.Aliases, n) {
			return r, true
		}
	}
	return Region{}, false
}

// RegionForDomain returns the region that serves a registry domain, public,
// private or legacy (for example "private.de.icr.io" → eu-de).
func RegionForDomain(domain string) (Region, bool) {
	d := strings.ToLower(strings.TrimSpace(domain))
	for _, r := range Regions() {
		if r.Domain == d || r.PrivateDomain == d || slices.Contains(r.LegacyDomains, d) {
			return r, true
		}
	}
	return Region{}, false
}

// DomainForRegion returns the public (or, with private set, the private)
// domain of a region given by name or alias.
func DomainForRegion(region string, private bool) (string, error) {
	r, ok := LookupRegion(region)
	if !ok {
		return "", fmt.Errorf("region %q: %w", redact.Userinfo(region), ErrUnknownRegion)
	}
	if private {
		return r.PrivateDomain, nil
	}
	return r.Domain, nil
}

// Endpoints selects public domains, private domains or both.
type Endpoints int

const (
	// AllEndpoints selects public and private domains, as the all-icr-io
	// secret of `ibmcloud oc cluster pull-secret apply` has them.
	AllEndpoints Endpoints = iota
	// PublicEndpoints selects only the public domains (us.icr.io, ...).
	PublicEndpoints
	// PrivateEndpoints selects only the private domains (private.us.icr.io, ...).
	PrivateEndpoints
)

// DomainOptions selects registry domains. The zero value selects every
// public and private domain of every region, global included: the domains of
// the all-icr-io secret.
type DomainOptions struct {
	// Regions limits the result to these regions, by name or alias. Empty
	// means every region. GlobalRegion selects icr.io.
	Regions []string
	// Endpoints chooses public, private or both (the default).
	Endpoints Endpoints
	// ExcludeGlobal leaves out icr.io and private.icr.io even when Regions
	// is empty.
	ExcludeGlobal bool
}

// Domains returns the registry domains that opts select, in region order
// with each public domain before its private one. An unknown region is an
// error naming every unknown region.
func Domains(opts DomainOptions) ([]string, error) {
	selected := regions
	if len(opts.Regions) > 0 {
		selected = nil
		var errs []error
		for _, name := range opts.Regions {
			r, ok := LookupRegion(name)
			if !ok {
				errs = append(errs, fmt.Errorf("region %q: %w", redact.Userinfo(name), ErrUnknownRegion))
				continue
			}
			if !slices.ContainsFunc(selected, func(s Region) bool { return s.Name == r.Name }) {
				selected = append(selected, r)
			}
		}
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	}
	var out []string
	for _, r := range selected {
		if opts.ExcludeGlobal && r.Name == GlobalRegion {
			continue
		}
		if opts.Endpoints != PrivateEndpoints {
			out = append(out, r.Domain)
		}
		if opts.Endpoints != PublicEndpoints {
			out = append(out, r.PrivateDomain)
		}
	}
	return out, nil
}

// APIKeyConfig builds the .dockerconfigjson document that gives an IBM Cloud IAM
// API key pull (and, with a Writer policy, push) access to each domain, with
// username APIKeyUsername — the document of the all-icr-io secret. With no
// domains it uses every public and private domain (Domains(DomainOptions{})).
//
// The API key goes only into the returned document; errors never contain it.
func APIKeyConfig(apiKey string, domains []string) (*dockerconfig.Config, error) {
	if len(domains) == 0 {
		domains, _ = Domains(DomainOptions{})
	}
	return credentialConfig(APIKeyUsername, apiKey, domains)
}

// EntitledConfig builds the .dockerconfigjson document for the entitled
// registry cp.icr.io with an entitlement key and username EntitledUsername.
func EntitledConfig(entitlementKey string) (*dockerconfig.Config, error) {
	return credentialConfig(EntitledUsername, entitlementKey, []string{EntitledDomain})
}

func credentialConfig(username, password string, domains []string) (*dockerconfig.Config, error) {
	var errs []error
	if strings.TrimSpace(password) == "" {
		errs = append(errs, fmt.Errorf("%s password: %w", username, ErrEmptyCredential))
	}
	cfg := &dockerconfig.Config{}
	for _, d := range domains {
		if _, err := dockerconfig.NormalizeServer(d); err != nil {
			errs = append(errs, fmt.Errorf("registry domain: %w", err))
			continue
		}
		cfg.Set(d, dockerconfig.Entry{Username: username, Password: password})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return cfg, nil
}
