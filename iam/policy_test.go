package iam_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
)

// policyBody is the documented create-policy request body.
type policyBody struct {
	Type     string `json:"type"`
	Subjects []struct {
		Attributes []attr `json:"attributes"`
	} `json:"subjects"`
	Roles []struct {
		RoleID string `json:"role_id"`
	} `json:"roles"`
	Resources []struct {
		Attributes []attr `json:"attributes"`
	} `json:"resources"`
}

type attr struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	Operator string `json:"operator,omitempty"`
}

// createPolicyBodies decodes every create-policy request the client sent.
func createPolicyBodies(t *testing.T, srv *iamtest.Server) []policyBody {
	t.Helper()
	var out []policyBody
	for _, r := range srv.Requests() {
		if r.Op != iamtest.OpCreatePolicy {
			continue
		}
		var b policyBody
		if err := json.Unmarshal([]byte(r.Body), &b); err != nil {
			t.Fatalf("create policy body %q: %v", r.Body, err)
		}
		out = append(out, b)
	}
	return out
}

func TestEnsureRegistryPolicyRequestBody(t *testing.T) {
	const account = iamtest.DefaultAccountID
	eq := func(name, value string) attr { return attr{name, value, "stringEquals"} }
	base := []attr{eq("accountId", account), eq("serviceName", "container-registry")}
	tests := []struct {
		name     string
		access   iam.Access
		wantRole string
		wantRes  []attr
		wantOut  iam.Access
	}{
		{"Reader on all regions", iam.Access{Role: "Reader"}, "Reader", base, iam.Access{Role: "Reader"}},
		{"Writer on us-south", iam.Access{Role: "writer", Region: "us-south"}, "Writer",
			append(base, eq("region", "us-south")), iam.Access{Role: "Writer", Region: "us-south"}},
		{"Manager on global (geography)", iam.Access{Role: "MANAGER", Region: "global"}, "Manager",
			append(base, eq("geography", "global")), iam.Access{Role: "Manager", Region: "global"}},
		{"Reader on namespace team-a in de", iam.Access{Role: "Reader", Region: "de", Namespace: "team-a"}, "Reader",
			append(base, eq("region", "eu-de"), eq("resourceType", "namespace"), eq("resource", "team-a")),
			iam.Access{Role: "Reader", Region: "eu-de", Namespace: "team-a"}},
		{"Reader on namespace team-a in eu-de", iam.Access{Role: "Reader", Region: "eu-de", Namespace: "team-a"}, "Reader",
			append(base, eq("region", "eu-de"), eq("resourceType", "namespace"), eq("resource", "team-a")),
			iam.Access{Role: "Reader", Region: "eu-de", Namespace: "team-a"}},
		{"Reader on uk-south is eu-gb", iam.Access{Role: "Reader", Region: "uk-south"}, "Reader",
			append(base, eq("region", "eu-gb")), iam.Access{Role: "Reader", Region: "eu-gb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			const subject = "iam-ServiceId-1234"
			p, res, err := f.client.EnsureRegistryPolicy(ctx(t), subject, tt.access)
			if err != nil {
				t.Fatal(err)
			}
			if res != registrykit.Created {
				t.Errorf("result = %v, want created", res)
			}
			bodies := createPolicyBodies(t, f.srv)
			if len(bodies) != 1 {
				t.Fatalf("create policy requests = %d, want 1", len(bodies))
			}
			b := bodies[0]
			if b.Type != "access" {
				t.Errorf("type = %q, want access", b.Type)
			}
			if len(b.Subjects) != 1 || len(b.Subjects[0].Attributes) != 1 {
				t.Fatalf("subjects = %+v, want one iam_id attribute", b.Subjects)
			}
			if diff := cmp.Diff(attr{Name: "iam_id", Value: subject}, b.Subjects[0].Attributes[0]); diff != "" {
				t.Errorf("subject (-want +got):\n%s", diff)
			}
			if len(b.Roles) != 1 || b.Roles[0].RoleID != iamtest.RoleCRN(tt.wantRole) {
				t.Errorf("roles = %+v, want %s", b.Roles, iamtest.RoleCRN(tt.wantRole))
			}
			if len(b.Resources) != 1 {
				t.Fatalf("resources = %+v, want one", b.Resources)
			}
			if diff := cmp.Diff(tt.wantRes, b.Resources[0].Attributes); diff != "" {
				t.Errorf("resource attributes (-want +got):\n%s", diff)
			}
			resource := map[string]string{}
			for _, a := range tt.wantRes {
				resource[a.Name] = a.Value
			}
			want := iam.Policy{
				ID: f.srv.Policies()[0].ID, IAMID: subject, AccountID: account, Registry: true, Access: tt.wantOut,
				Roles: []string{tt.wantRole}, RoleCRNs: []string{iamtest.RoleCRN(tt.wantRole)}, Resource: resource,
			}
			if diff := cmp.Diff(want, p, cmpopts.IgnoreFields(iam.Policy{}, "CreatedAt")); diff != "" {
				t.Errorf("policy (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnsureRegistryPolicyEveryRegion(t *testing.T) {
	f := newFixture(t)
	const subject = "iam-ServiceId-1234"
	for _, region := range iam.Regions() {
		p, res, err := f.client.EnsureRegistryPolicy(ctx(t), subject, iam.Access{Role: "Reader", Region: region})
		if err != nil || res != registrykit.Created || p.Access.Region != region {
			t.Errorf("%s: %v %v %+v", region, res, err, p.Access)
		}
	}
	// Second round: all exist.
	for _, region := range iam.Regions() {
		if _, res, err := f.client.EnsureRegistryPolicy(ctx(t), subject, iam.Access{Role: "reader", Region: region}); err != nil || res != registrykit.Unchanged {
			t.Errorf("%s again: %v %v", region, res, err)
		}
	}
	if got, want := len(f.srv.Policies()), len(iam.Regions()); got != want {
		t.Errorf("policies = %d, want %d", got, want)
	}
	for _, p := range f.srv.Policies() {
		_, geo := p.Attributes["geography"]
		_, reg := p.Attributes["region"]
		if geo == reg {
			t.Errorf("policy %s: want exactly one of region and geography: %v", p.ID, p.Attributes)
		}
	}
	if n := f.srv.Calls(iamtest.OpListRoles); n != 1 {
		t.Errorf("ListRoles calls = %d, want 1 (cached per client)", n)
	}
}

func TestEnsureRegistryPolicyExisting(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, f *fixture) string // returns the existing policy's id
	}{
		{"listed equal policy", func(t *testing.T, f *fixture) string {
			other := newFixtureOn(t, f.srv, f.key) // another client (own role cache)
			p, _, err := other.client.EnsureRegistryPolicy(ctx(t), "iam-ServiceId-1", iam.Access{Role: "Writer", Region: "us-south"})
			if err != nil {
				t.Fatal(err)
			}
			return p.ID
		}},
		{"409 policy_conflict_error after an ambiguous create", func(t *testing.T, f *fixture) string {
			// The create is applied, answered 500, retried by the SDK and
			// then refused with 409: the existing policy's id comes from
			// conflicts_with.
			f.srv.FailAfterApply(iamtest.OpCreatePolicy, 1, http.StatusInternalServerError)
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			wantID := tt.setup(t, f)
			p, res, err := f.client.EnsureRegistryPolicy(ctx(t), "iam-ServiceId-1", iam.Access{Role: "writer", Region: "us-south"})
			if err != nil {
				t.Fatal(err)
			}
			all := f.srv.Policies()
			if len(all) != 1 {
				t.Fatalf("policies = %d, want 1", len(all))
			}
			if wantID == "" {
				wantID = all[0].ID
				var statuses []int
				for _, r := range f.srv.Requests() {
					if r.Op == iamtest.OpCreatePolicy {
						statuses = append(statuses, r.Status)
					}
				}
				if diff := cmp.Diff([]int{500, 409}, statuses); diff != "" {
					t.Errorf("create policy answers (-want +got):\n%s", diff)
				}
			}
			if res != registrykit.Unchanged {
				t.Errorf("result = %v, want unchanged", res)
			}
			if p.ID != wantID {
				t.Errorf("policy id = %q, want %q", p.ID, wantID)
			}
		})
	}
}

func TestEnsureRegistryPolicyValidation(t *testing.T) {
	f := newFixture(t)
	_, _, err := f.client.EnsureRegistryPolicy(ctx(t), "", iam.Access{Role: "Owner", Region: "mars-1", Namespace: "No"})
	want := []string{"iamID", "accesses[0].role", "accesses[0].region", "accesses[0].namespace"}
	if diff := cmp.Diff(want, invalidFields(t, err)); diff != "" {
		t.Errorf("field errors (-want +got):\n%s", diff)
	}
	for _, v := range []string{`"Owner"`, `"mars-1"`, `"No"`} {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("error %q does not quote %s", err, v)
		}
	}
	if n := len(f.srv.Requests()); n != 0 {
		t.Errorf("%d requests sent for invalid input", n)
	}
}

func TestAccessNormalize(t *testing.T) {
	tests := []struct {
		in      iam.Access
		want    iam.Access
		wantErr bool
	}{
		{in: iam.Access{Role: "reader"}, want: iam.Access{Role: "Reader"}},
		{in: iam.Access{Role: "Writer", Region: "US-SOUTH"}, want: iam.Access{Role: "Writer", Region: "us-south"}},
		{in: iam.Access{Role: "Reader", Region: "jp2"}, want: iam.Access{Role: "Reader", Region: "jp-osa"}},
		{in: iam.Access{Role: "Reader", Namespace: "team_a-1"}, want: iam.Access{Role: "Reader", Namespace: "team_a-1"}},
		{in: iam.Access{}, wantErr: true},
		{in: iam.Access{Role: "Reader", Namespace: "abc"}, wantErr: true},
		{in: iam.Access{Role: "Reader", Namespace: "-team"}, wantErr: true},
		{in: iam.Access{Role: "Reader", Namespace: strings.Repeat("a", 31)}, wantErr: true},
		{in: iam.Access{Role: "Reader", Region: "eu-central-1"}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := tt.in.Normalize()
		if (err != nil) != tt.wantErr {
			t.Errorf("%+v.Normalize() error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%+v.Normalize() (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestListAndDeleteRegistryPolicies(t *testing.T) {
	f := newFixture(t)
	const subject = "iam-ServiceId-1"
	for _, a := range []iam.Access{{Role: "Reader"}, {Role: "Writer", Region: "global"}, {Role: "Manager", Region: "eu-gb", Namespace: "team-b"}} {
		if _, _, err := f.client.EnsureRegistryPolicy(ctx(t), subject, a); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := f.client.EnsureRegistryPolicy(ctx(t), "iam-ServiceId-other", iam.Access{Role: "Reader"}); err != nil {
		t.Fatal(err)
	}
	got, err := f.client.ListRegistryPolicies(ctx(t), subject)
	if err != nil {
		t.Fatal(err)
	}
	var access []iam.Access
	for _, p := range got {
		access = append(access, p.Access)
	}
	want := []iam.Access{{Role: "Reader"}, {Role: "Writer", Region: "global"}, {Role: "Manager", Region: "eu-gb", Namespace: "team-b"}}
	if diff := cmp.Diff(want, access); diff != "" {
		t.Errorf("listed access (-want +got):\n%s", diff)
	}
	for _, p := range got {
		if _, err := f.client.DeletePolicy(ctx(t), p.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.client.DeletePolicy(ctx(t), got[0].ID); err != nil {
		t.Errorf("deleting again: %v, want nil", err)
	}
	if n := len(f.srv.Policies()); n != 1 {
		t.Errorf("policies left = %d, want 1 (the other subject's)", n)
	}
}

func TestEnsureRegistryPoliciesListsOnce(t *testing.T) {
	f := newFixture(t)
	const subject = "iam-ServiceId-5678"
	var accesses []iam.Access
	for _, region := range iam.Regions() {
		accesses = append(accesses, iam.Access{Role: "Reader", Region: region})
	}
	accesses = append(accesses, accesses[1]) // a repeat finds the one just made

	pols, results, err := f.client.EnsureRegistryPolicies(ctx(t), subject, accesses)
	if err != nil {
		t.Fatal(err)
	}
	if len(pols) != len(accesses) || len(results) != len(accesses) {
		t.Fatalf("%d policies, %d results for %d accesses", len(pols), len(results), len(accesses))
	}
	for i, r := range results[:len(results)-1] {
		if r != registrykit.Created {
			t.Errorf("access %d: %v, want created", i, r)
		}
	}
	if last := results[len(results)-1]; last != registrykit.Unchanged || pols[len(pols)-1].ID != pols[1].ID {
		t.Errorf("repeated access: %v %s, want unchanged %s", last, pols[len(pols)-1].ID, pols[1].ID)
	}
	if n := f.srv.Calls(iamtest.OpListV2Policies); n != 1 {
		t.Errorf("ListPolicies calls = %d, want 1", n)
	}
	if got, want := len(f.srv.Policies()), len(iam.Regions()); got != want {
		t.Errorf("policies = %d, want %d", got, want)
	}

	// Rerun: one list, no create.
	before := f.srv.Calls(iamtest.OpCreatePolicy)
	_, results, err = f.client.EnsureRegistryPolicies(ctx(t), subject, accesses)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r != registrykit.Unchanged {
			t.Errorf("rerun access %d: %v", i, r)
		}
	}
	if n := f.srv.Calls(iamtest.OpListV2Policies); n != 2 {
		t.Errorf("ListPolicies calls after rerun = %d, want 2", n)
	}
	if n := f.srv.Calls(iamtest.OpCreatePolicy); n != before {
		t.Errorf("rerun created %d policies", n-before)
	}
}

func TestEnsureRegistryPoliciesValidatesEverythingFirst(t *testing.T) {
	f := newFixture(t)
	_, _, err := f.client.EnsureRegistryPolicies(ctx(t), "", []iam.Access{{Role: "Owner", Region: "us-south"}, {Role: "Reader", Region: "mars-1"}})
	want := []string{"iamID", "accesses[0].role", "accesses[1].region"}
	if diff := cmp.Diff(want, invalidFields(t, err)); diff != "" {
		t.Errorf("field errors (-want +got):\n%s", diff)
	}
	if n := len(f.srv.Requests()); n != 0 {
		t.Errorf("%d requests before validation passed", n)
	}
}
