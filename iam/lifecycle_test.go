package iam_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
)

// A grant made in the console (through the v2 API) is what the v1 listing
// shows only as a placeholder; reading v2, EnsureRegistryPolicy recognises
// it and creates nothing.
func TestEnsureRegistryPolicyRecognisesAV2Grant(t *testing.T) {
	tests := []struct {
		name        string
		seed        iamtest.V2Policy
		access      iam.Access
		wantAction  registrykit.Action
		wantCreates int
	}{
		{"the same grant", iamtest.V2Policy{RoleIDs: []string{iamtest.RoleCRN("Reader")},
			Attributes: map[string]string{"serviceName": "container-registry"}},
			iam.Access{Role: "Reader"}, registrykit.Unchanged, 0},
		{"the role among several", iamtest.V2Policy{RoleIDs: []string{iamtest.RoleCRN("Writer"), iamtest.RoleCRN("Reader")},
			Attributes: map[string]string{"serviceName": "container-registry", "region": "us-south"}},
			iam.Access{Role: "reader", Region: "us"}, registrykit.Unchanged, 0},
		{"another region", iamtest.V2Policy{RoleIDs: []string{iamtest.RoleCRN("Reader")},
			Attributes: map[string]string{"serviceName": "container-registry", "region": "eu-de"}},
			iam.Access{Role: "Reader", Region: "us-south"}, registrykit.Created, 1},
		{"a conditional grant does not count", iamtest.V2Policy{RoleIDs: []string{iamtest.RoleCRN("Reader")},
			Attributes: map[string]string{"serviceName": "container-registry"},
			Rule:       map[string]any{"key": "{{environment.attributes.day_of_week}}", "operator": "dayOfWeekAnyOf", "value": []string{"1+00:00"}}},
			iam.Access{Role: "Reader"}, registrykit.Created, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			const subject = "iam-ServiceId-1234"
			tt.seed.SubjectIAMID = subject
			seeded := f.srv.AddV2Policy(tt.seed)
			p, act, err := f.client.EnsureRegistryPolicy(ctx(t), subject, tt.access)
			if err != nil {
				t.Fatal(err)
			}
			if act != tt.wantAction {
				t.Errorf("action = %s, want %s", act, tt.wantAction)
			}
			if n := f.srv.Calls(iamtest.OpCreatePolicy); n != tt.wantCreates {
				t.Errorf("create requests = %d, want %d", n, tt.wantCreates)
			}
			if tt.wantAction == registrykit.Unchanged && p.ID != seeded.ID {
				t.Errorf("policy id = %s, want the console's %s", p.ID, seeded.ID)
			}
		})
	}
}

func TestListPoliciesReadsV2(t *testing.T) {
	f := newFixture(t)
	const subject = "iam-ServiceId-1234"
	mine, _, err := f.client.EnsureRegistryPolicy(ctx(t), subject, iam.Access{Role: "Reader"})
	if err != nil {
		t.Fatal(err)
	}
	console := f.srv.AddV2Policy(iamtest.V2Policy{SubjectIAMID: subject, RoleIDs: []string{iamtest.RoleCRN("Writer")},
		Attributes: map[string]string{"serviceName": "container-registry", "geography": "global"}})
	other := f.srv.AddV2Policy(iamtest.V2Policy{SubjectIAMID: subject, RoleIDs: []string{iamtest.RoleCRN("Viewer")},
		Attributes: map[string]string{"serviceName": "cloud-object-storage"}})
	f.srv.AddV2Policy(iamtest.V2Policy{SubjectIAMID: "iam-ServiceId-other", RoleIDs: []string{iamtest.RoleCRN("Reader")},
		Attributes: map[string]string{"serviceName": "container-registry"}})

	all, err := f.client.ListPolicies(ctx(t), subject)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		ID       string
		Registry bool
		Access   iam.Access
		Roles    []string
	}
	var got []row
	for _, p := range all {
		got = append(got, row{p.ID, p.Registry, p.Access, p.Roles})
	}
	want := []row{
		{mine.ID, true, iam.Access{Role: "Reader"}, []string{"Reader"}},
		{console.ID, true, iam.Access{Role: "Writer", Region: "global"}, []string{"Writer"}},
		{other.ID, false, iam.Access{}, []string{"Viewer"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListPolicies (-want +got):\n%s", diff)
	}
	if all[2].Resource["serviceName"] != "cloud-object-storage" {
		t.Errorf("other service's resource = %v", all[2].Resource)
	}
	reg, err := f.client.ListRegistryPolicies(ctx(t), subject)
	if err != nil || len(reg) != 2 {
		t.Errorf("ListRegistryPolicies = %d policies, %v; want 2", len(reg), err)
	}
	if !all[1].Grants(iam.Access{Role: "writer", Region: "global"}) || all[1].Grants(iam.Access{Role: "Reader", Region: "global"}) || all[2].Grants(iam.Access{Role: "Reader"}) {
		t.Error("Grants disagrees with the policies")
	}
	for _, r := range f.srv.Requests() {
		if r.Op == iamtest.OpListPolicies {
			t.Error("the v1 listing was read")
		}
	}

	// Delete through v2 works for both kinds and is idempotent.
	for _, id := range []string{mine.ID, console.ID} {
		if act, err := f.client.DeletePolicy(ctx(t), id); err != nil || act != registrykit.Deleted {
			t.Errorf("DeletePolicy(%s) = %s, %v; want deleted", id, act, err)
		}
	}
	if act, err := f.client.DeletePolicy(ctx(t), mine.ID); err != nil || act != registrykit.Skipped {
		t.Errorf("second DeletePolicy = %s, %v; want skipped", act, err)
	}
	if n := len(f.srv.Policies()); n != 2 {
		t.Errorf("policies left = %d, want 2", n)
	}
}

func TestFindServiceIDAsksForTheNameOnly(t *testing.T) {
	f := newFixture(t)
	for _, n := range []string{"cluster-abc-2", "x-cluster-abc", "CLUSTER-ABC"} {
		f.srv.AddServiceID(n, "")
	}
	if _, ok, err := f.client.FindServiceID(ctx(t), "cluster-abc"); err != nil || ok {
		t.Fatalf("FindServiceID before create = %v, %v; want not found", ok, err)
	}
	want := f.srv.AddServiceID("cluster-abc", iam.Mark("pull secret"))
	f.srv.ResetRequests()
	sid, ok, err := f.client.FindServiceID(ctx(t), "cluster-abc")
	if err != nil || !ok || sid.ID != want.ID || !sid.Marked() {
		t.Fatalf("FindServiceID = %+v, %v, %v; want %s, marked", sid, ok, err, want.ID)
	}
	reqs := f.srv.Requests()
	if len(reqs) != 1 || reqs[0].Query.Get("name") != "cluster-abc" {
		t.Errorf("requests = %+v, want one list with name=cluster-abc", reqs)
	}
	if _, _, err := f.client.FindServiceID(ctx(t), "  "); !errors.Is(err, registrykit.ErrInvalid) {
		t.Errorf("blank name: %v, want invalid", err)
	}
}

func TestDeleteServiceIDReportsTheAction(t *testing.T) {
	f := newFixture(t)
	sid, _, err := f.client.EnsureServiceID(ctx(t), "svc", "")
	if err != nil {
		t.Fatal(err)
	}
	if act, err := f.client.DeleteServiceID(ctx(t), sid.ID); err != nil || act != registrykit.Deleted {
		t.Errorf("DeleteServiceID = %s, %v; want deleted", act, err)
	}
	if act, err := f.client.DeleteServiceID(ctx(t), sid.ID); err != nil || act != registrykit.Skipped {
		t.Errorf("second DeleteServiceID = %s, %v; want skipped", act, err)
	}
}

func TestLimitErrors(t *testing.T) {
	t.Run("API keys per identity", func(t *testing.T) {
		srv := iamtest.NewServer(iamtest.WithAPIKeyLimit(3))
		t.Cleanup(srv.Close)
		f := newFixtureOn(t, srv, srv.AddAPIKey(ownerIAMID))
		for range 3 {
			if _, err := f.client.CreateAPIKey(ctx(t), "iam-x", iam.APIKeyOptions{Name: "k"}); err != nil {
				t.Fatal(err)
			}
		}
		n, err := f.client.CountAPIKeys(ctx(t), "iam-x")
		if err != nil || n != 3 {
			t.Errorf("CountAPIKeys = %d, %v; want 3", n, err)
		}
		_, err = f.client.CreateAPIKey(ctx(t), "iam-x", iam.APIKeyOptions{Name: "k"})
		if !errors.Is(err, iam.ErrKeyLimit) || errors.Is(err, iam.ErrServiceIDLimit) {
			t.Fatalf("error = %v, want ErrKeyLimit", err)
		}
		for _, want := range []string{"BXNIM0151E", "20 API keys per identity", "delete keys"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		if n := f.srv.Calls(iamtest.OpCreateAPIKey); n != 4 {
			t.Errorf("create requests = %d, want 4 (no retry at the limit)", n)
		}
	})
	t.Run("service IDs per account", func(t *testing.T) {
		srv := iamtest.NewServer(iamtest.WithServiceIDLimit(1))
		t.Cleanup(srv.Close)
		f := newFixtureOn(t, srv, srv.AddAPIKey(ownerIAMID))
		srv.AddServiceID("other", "")
		_, act, err := f.client.EnsureServiceID(ctx(t), "cluster-abc", "")
		if !errors.Is(err, iam.ErrServiceIDLimit) || act != registrykit.Failed || !strings.Contains(err.Error(), "2,000 service IDs per account") {
			t.Fatalf("EnsureServiceID = %s, %v; want ErrServiceIDLimit", act, err)
		}
		if n := f.srv.Calls(iamtest.OpCreateServiceID); n != 1 {
			t.Errorf("create requests = %d, want 1", n)
		}
	})
	t.Run("policies per account", func(t *testing.T) {
		f := newFixture(t)
		f.srv.Inject(iamtest.Fault{Op: iamtest.OpCreatePolicy, Status: http.StatusBadRequest, Code: "policy_limit_exceeded"})
		_, _, err := f.client.EnsureRegistryPolicy(ctx(t), "iam-x", iam.Access{Role: "Reader"})
		if !errors.Is(err, iam.ErrPolicyLimit) || !strings.Contains(err.Error(), "4,020 access policies per account") {
			t.Fatalf("error = %v, want ErrPolicyLimit", err)
		}
	})
	t.Run("other refusals are not limits", func(t *testing.T) {
		f := newFixture(t)
		f.srv.Inject(iamtest.Fault{Op: iamtest.OpCreatePolicy, Status: http.StatusBadRequest})
		f.srv.Inject(iamtest.Fault{Op: iamtest.OpCreateAPIKey, Status: http.StatusForbidden})
		_, _, err := f.client.EnsureRegistryPolicy(ctx(t), "iam-x", iam.Access{Role: "Reader"})
		if errors.Is(err, iam.ErrPolicyLimit) {
			t.Errorf("400 without a limit is ErrPolicyLimit: %v", err)
		}
		_, err = f.client.CreateAPIKey(ctx(t), "iam-x", iam.APIKeyOptions{Name: "k"})
		if errors.Is(err, iam.ErrKeyLimit) || !errors.Is(err, iam.ErrForbidden) {
			t.Errorf("403: %v, want ErrForbidden only", err)
		}
	})
}

func TestCreateAPIKeyOptions(t *testing.T) {
	f := newFixture(t)
	expires := time.Now().Add(90 * 24 * time.Hour).UTC().Truncate(time.Minute)
	key, err := f.client.CreateAPIKey(ctx(t), "iam-x", iam.APIKeyOptions{
		Name: "k", Description: iam.Mark("pull key"), ExpiresAt: expires, Lock: true, ActionWhenLeaked: iam.LeakDelete,
	})
	if err != nil {
		t.Fatal(err)
	}
	type opts struct {
		Locked    bool
		ExpiresAt time.Time
		Leak      string
	}
	stored := f.srv.APIKeys()[1]
	if diff := cmp.Diff(opts{true, expires, "delete"}, opts{stored.Locked, stored.ExpiresAt, stored.ActionWhenLeaked}); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(opts{true, expires, "delete"}, opts{key.Locked, key.ExpiresAt, string(key.ActionWhenLeaked)}); diff != "" {
		t.Errorf("returned (-want +got):\n%s", diff)
	}
	if !key.Marked() || key.Description != "pull key "+iam.Marker {
		t.Errorf("description = %q, want marked", key.Description)
	}
	d, err := f.client.APIKeyDetails(ctx(t), key.Value)
	if err != nil || !d.ExpiresAt.Equal(expires) || !d.Marked() {
		t.Errorf("details = %+v, %v", d, err)
	}

	// The default: a leaked key is disabled, and nothing else is sent.
	if _, err := f.client.CreateAPIKey(ctx(t), "iam-x", iam.APIKeyOptions{Name: "plain"}); err != nil {
		t.Fatal(err)
	}
	plain := f.srv.APIKeys()[2]
	if plain.ActionWhenLeaked != "disable" || plain.Locked || !plain.ExpiresAt.IsZero() {
		t.Errorf("default key = %+v, want disable on leak, unlocked, no expiry", plain)
	}
}

func TestAPIKeyOptionsValidate(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		opts iam.APIKeyOptions
		want []string
	}{
		{"zero but a name", iam.APIKeyOptions{Name: "k"}, nil},
		{"no name", iam.APIKeyOptions{Name: " "}, []string{"opts.name"}},
		{"expiry in the past", iam.APIKeyOptions{Name: "k", ExpiresAt: now.Add(-time.Hour)}, []string{"opts.expiresAt"}},
		{"expiry within the minute", iam.APIKeyOptions{Name: "k", ExpiresAt: now.Add(30 * time.Second)}, []string{"opts.expiresAt"}},
		{"unknown leak action", iam.APIKeyOptions{Name: "k", ActionWhenLeaked: "shred"}, []string{"opts.actionWhenLeaked"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, fe := range tt.opts.Validate(fieldPath("opts"), now) {
				got = append(got, fe.Field)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestExpiresWithin(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	week := 7 * 24 * time.Hour
	tests := []struct {
		name    string
		expires time.Time
		want    bool
	}{
		{"never expires", time.Time{}, false},
		{"expired", now.Add(-time.Minute), true},
		{"within the window", now.Add(6 * 24 * time.Hour), true},
		{"at the window's end", now.Add(week), true},
		{"after the window", now.Add(week + time.Minute), false},
	}
	for _, tt := range tests {
		if got := (iam.APIKey{ExpiresAt: tt.expires}).ExpiresWithin(week, now); got != tt.want {
			t.Errorf("%s: APIKey.ExpiresWithin = %v, want %v", tt.name, got, tt.want)
		}
		if got := (iam.APIKeyDetails{ExpiresAt: tt.expires}).ExpiresWithin(week, now); got != tt.want {
			t.Errorf("%s: APIKeyDetails.ExpiresWithin = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestMark(t *testing.T) {
	for in, want := range map[string]string{
		"":                       iam.Marker,
		"pull key":               "pull key " + iam.Marker,
		"pull key " + iam.Marker: "pull key " + iam.Marker,
	} {
		if got := iam.Mark(in); got != want || !iam.IsMarked(got) {
			t.Errorf("Mark(%q) = %q, want %q", in, got, want)
		}
	}
	for _, s := range []string{"", "pull key", iam.Marker + " at the start", "[registrykit-ish]"} {
		if iam.IsMarked(s) {
			t.Errorf("IsMarked(%q) = true", s)
		}
	}
}
