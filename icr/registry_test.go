package icr_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/icr"
)

func TestRegionsTable(t *testing.T) {
	want := map[string][2]string{
		"global":   {"icr.io", "private.icr.io"},
		"us-south": {"us.icr.io", "private.us.icr.io"},
		"eu-gb":    {"uk.icr.io", "private.uk.icr.io"},
		"eu-de":    {"de.icr.io", "private.de.icr.io"},
		"au-syd":   {"au.icr.io", "private.au.icr.io"},
		"jp-tok":   {"jp.icr.io", "private.jp.icr.io"},
		"jp-osa":   {"jp2.icr.io", "private.jp2.icr.io"},
		"ca-tor":   {"ca.icr.io", "private.ca.icr.io"},
		"ca-mon":   {"ca2.icr.io", "private.ca2.icr.io"},
		"br-sao":   {"br.icr.io", "private.br.icr.io"},
		"eu-es":    {"es.icr.io", "private.es.icr.io"},
		"in-che":   {"in.icr.io", "private.in.icr.io"},
		"in-mum":   {"in2.icr.io", "private.in2.icr.io"},
		"eu-fr2":   {"fr2.icr.io", "private.fr2.icr.io"},
	}
	got := map[string][2]string{}
	for _, r := range icr.Regions() {
		got[r.Name] = [2]string{r.Domain, r.PrivateDomain}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Regions() (-want +got):\n%s", diff)
	}
	if first := icr.Regions()[0].Name; first != icr.GlobalRegion {
		t.Errorf("first region = %q, want global", first)
	}
}

func TestRegionsReturnsACopy(t *testing.T) {
	r := icr.Regions()
	r[1].Domain = "changed.example"
	r[2].Aliases[0] = "changed"
	if d, _ := icr.DomainForRegion("us-south", false); d != "us.icr.io" {
		t.Errorf("DomainForRegion after changing a copy = %q", d)
	}
	if _, ok := icr.LookupRegion("uk-south"); !ok {
		t.Error("alias uk-south lost after changing a copy")
	}
}

func TestLookupRegion(t *testing.T) {
	tests := []struct {
		in       string
		wantName string
		wantOK   bool
	}{
		{"us-south", "us-south", true},
		{"US-South", "us-south", true},
		{" eu-gb ", "eu-gb", true},
		{"uk-south", "eu-gb", true},
		{"ap-north", "jp-tok", true},
		{"ap-south", "au-syd", true},
		{"eu-central", "eu-de", true},
		{"global", "global", true},
		{"mars-1", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, ok := icr.LookupRegion(tt.in)
			if ok != tt.wantOK || r.Name != tt.wantName {
				t.Errorf("LookupRegion(%q) = %q, %v; want %q, %v", tt.in, r.Name, ok, tt.wantName, tt.wantOK)
			}
		})
	}
}

func TestRegionForDomain(t *testing.T) {
	tests := map[string]string{
		"us.icr.io":                  "us-south",
		"private.de.icr.io":          "eu-de",
		"icr.io":                     "global",
		"registry.ng.bluemix.net":    "us-south",
		"registry.eu-gb.bluemix.net": "eu-gb",
		"in2.icr.io":                 "in-mum",
	}
	for domain, want := range tests {
		r, ok := icr.RegionForDomain(domain)
		if !ok || r.Name != want {
			t.Errorf("RegionForDomain(%q) = %q, %v; want %q", domain, r.Name, ok, want)
		}
	}
	if _, ok := icr.RegionForDomain("cp.icr.io"); ok {
		t.Error("cp.icr.io is the entitled registry, not a region")
	}
}

func TestDomainForRegion(t *testing.T) {
	if got, err := icr.DomainForRegion("jp-osa", false); err != nil || got != "jp2.icr.io" {
		t.Errorf("DomainForRegion(jp-osa) = %q, %v", got, err)
	}
	if got, err := icr.DomainForRegion("uk-south", true); err != nil || got != "private.uk.icr.io" {
		t.Errorf("DomainForRegion(uk-south, private) = %q, %v", got, err)
	}
	_, err := icr.DomainForRegion("mars-1", false)
	if !errors.Is(err, icr.ErrUnknownRegion) || !strings.Contains(err.Error(), "mars-1") {
		t.Errorf("DomainForRegion(mars-1) error = %v, want ErrUnknownRegion naming the region", err)
	}
	// A credential pasted into the region (a URL instead of a region name)
	// is redacted.
	const pw = "SENTINEL-pw-in-region"
	_, err = icr.DomainForRegion("https://u:"+pw+"@us.icr.io", false)
	if !errors.Is(err, icr.ErrUnknownRegion) || strings.Contains(err.Error(), pw) {
		t.Errorf("DomainForRegion(userinfo) error = %q, want ErrUnknownRegion without the password", strings.ReplaceAll(fmt.Sprint(err), pw, "<MATCH>"))
	}
}

func TestDomains(t *testing.T) {
	tests := []struct {
		name string
		opts icr.DomainOptions
		want []string
	}{
		{
			name: "regions public",
			opts: icr.DomainOptions{Regions: []string{"us-south", "uk-south", "us-south"}, Endpoints: icr.PublicEndpoints},
			want: []string{"us.icr.io", "uk.icr.io"},
		},
		{
			name: "regions private",
			opts: icr.DomainOptions{Regions: []string{"eu-de"}, Endpoints: icr.PrivateEndpoints},
			want: []string{"private.de.icr.io"},
		},
		{
			name: "global both",
			opts: icr.DomainOptions{Regions: []string{"global"}},
			want: []string{"icr.io", "private.icr.io"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := icr.Domains(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Domains (-want +got):\n%s", diff)
			}
		})
	}

	all, err := icr.Domains(icr.DomainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2*len(icr.Regions()) {
		t.Errorf("Domains({}) has %d domains, want %d (every public and private)", len(all), 2*len(icr.Regions()))
	}
	for _, d := range all {
		if strings.Contains(d, "bluemix") {
			t.Errorf("Domains({}) returned retired domain %q", d)
		}
	}
	noGlobal, _ := icr.Domains(icr.DomainOptions{ExcludeGlobal: true})
	for _, d := range noGlobal {
		if d == "icr.io" || d == "private.icr.io" {
			t.Errorf("ExcludeGlobal returned %q", d)
		}
	}

	_, err = icr.Domains(icr.DomainOptions{Regions: []string{"mars-1", "us-south", "venus-2"}})
	if !errors.Is(err, icr.ErrUnknownRegion) {
		t.Fatalf("unknown regions: err = %v", err)
	}
	for _, name := range []string{"mars-1", "venus-2"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %q", err, name)
		}
	}
}

const sentinelKey = "SENTINEL-api-key-0123456789"

func TestAPIKeyConfig(t *testing.T) {
	cfg, err := icr.APIKeyConfig(sentinelKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := icr.Domains(icr.DomainOptions{})
	if diff := cmp.Diff(sortedCopy(all), cfg.Servers()); diff != "" {
		t.Errorf("servers (-want +got):\n%s", diff)
	}
	for _, s := range cfg.Servers() {
		e, _ := cfg.Get(s)
		if e.Username != icr.APIKeyUsername || e.Password != sentinelKey {
			t.Errorf("%s: username %q, password set %v", s, e.Username, e.Password == sentinelKey)
		}
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(verb, cfg); strings.Contains(out, sentinelKey) {
			t.Errorf("Sprintf(%q, cfg) prints the API key", verb)
		}
	}

	one, err := icr.APIKeyConfig(sentinelKey, []string{"de.icr.io"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"de.icr.io"}, one.Servers()); diff != "" {
		t.Errorf("one domain (-want +got):\n%s", diff)
	}
	b, err := one.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := dockerconfig.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := back.Get("de.icr.io"); e.Password != sentinelKey || e.Username != "iamapikey" {
		t.Error("marshalled document does not round-trip the credential")
	}
}

func TestAPIKeyConfigBadInput(t *testing.T) {
	_, err := icr.APIKeyConfig("  ", []string{"us.icr.io", "bad domain"})
	if !errors.Is(err, icr.ErrEmptyCredential) {
		t.Errorf("empty key: err = %v, want ErrEmptyCredential", err)
	}
	if err == nil || !strings.Contains(err.Error(), "registry domain") {
		t.Errorf("bad domain not reported together with the empty key: %v", err)
	}
	_, err = icr.APIKeyConfig(sentinelKey, []string{"ftp://us.icr.io"})
	if err == nil {
		t.Fatal("ftp scheme accepted")
	}
	if strings.Contains(err.Error(), sentinelKey) {
		t.Error("error contains the API key")
	}
}

func TestEntitledConfig(t *testing.T) {
	cfg, err := icr.EntitledConfig(sentinelKey)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := cfg.Get("cp.icr.io")
	if !ok || e.Username != "cp" || e.Password != sentinelKey {
		t.Errorf("cp.icr.io entry: ok=%v username=%q", ok, e.Username)
	}
	if _, err := icr.EntitledConfig(""); !errors.Is(err, icr.ErrEmptyCredential) {
		t.Errorf("empty entitlement key: err = %v", err)
	}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func ExampleDomains() {
	domains, err := icr.Domains(icr.DomainOptions{
		Regions:   []string{"us-south", "uk-south"},
		Endpoints: icr.PublicEndpoints,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(domains)
	// Output: [us.icr.io uk.icr.io]
}

func ExampleAPIKeyConfig() {
	cfg, err := icr.APIKeyConfig("an-api-key", []string{"us.icr.io", "private.us.icr.io"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, server := range cfg.Servers() {
		e, _ := cfg.Get(server)
		fmt.Println(server, e.Username)
	}
	// Output:
	// private.us.icr.io iamapikey
	// us.icr.io iamapikey
}
