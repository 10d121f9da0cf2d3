package iamtest_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/registrykit/registrykit/iam/iamtest"
)

// policyBody is a v1 create body for a container-registry policy of
// subject with roles and extra resource attributes.
func policyBody(s *iamtest.Server, subject string, roles []string, attrs ...string) string {
	var rs, as []string
	for _, r := range roles {
		rs = append(rs, fmt.Sprintf(`{"role_id":%q}`, iamtest.RoleCRN(r)))
	}
	as = append(as, fmt.Sprintf(`{"name":"accountId","value":%q}`, s.AccountID()), `{"name":"serviceName","value":"container-registry"}`)
	for i := 0; i+1 < len(attrs); i += 2 {
		as = append(as, fmt.Sprintf(`{"name":%q,"value":%q}`, attrs[i], attrs[i+1]))
	}
	return fmt.Sprintf(`{"type":"access","subjects":[{"attributes":[{"name":"iam_id","value":%q}]}],"roles":[%s],"resources":[{"attributes":[%s]}]}`,
		subject, strings.Join(rs, ","), strings.Join(as, ","))
}

func TestPolicyConflictsPerRole(t *testing.T) {
	s := iamtest.NewServer()
	defer s.Close()
	h := bearer(s.IssueToken("IBMid-1"))
	if status, _, m := do(t, s, call{"POST", "/v1/policies", h, policyBody(s, "iam-ServiceId-1", []string{"Reader"})}); status != 201 {
		t.Fatalf("create: %d %v", status, m)
	}
	tests := []struct {
		name     string
		body     string
		want     int
		wantRole string
	}{
		{"same role among others", policyBody(s, "iam-ServiceId-1", []string{"Writer", "Reader"}), 409, "Reader"},
		{"other role, same resource", policyBody(s, "iam-ServiceId-1", []string{"Writer"}), 201, ""},
		{"same role, other resource", policyBody(s, "iam-ServiceId-1", []string{"Reader"}, "region", "us-south"), 201, ""},
		{"same role, other subject", policyBody(s, "iam-ServiceId-2", []string{"Reader"}), 201, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, m := do(t, s, call{"POST", "/v1/policies", h, tt.body})
			if status != tt.want {
				t.Fatalf("status %d, want %d: %v", status, tt.want, m)
			}
			if tt.want != 409 {
				return
			}
			e := m["errors"].([]any)[0].(map[string]any)
			cw := e["details"].(map[string]any)["conflicts_with"].(map[string]any)
			if e["code"] != "policy_conflict_error" || cw["role"] != iamtest.RoleCRN(tt.wantRole) || cw["policy"] == nil {
				t.Errorf("409 body = %v", m)
			}
		})
	}
}

func TestRegionGlobalIsRefused(t *testing.T) {
	s := iamtest.NewServer()
	defer s.Close()
	h := bearer(s.IssueToken("IBMid-1"))
	if status, _, m := do(t, s, call{"POST", "/v1/policies", h, policyBody(s, "iam-ServiceId-1", []string{"Reader"}, "region", "global")}); status != 400 {
		t.Errorf("region=global: %d %v, want 400", status, m)
	}
	if status, _, m := do(t, s, call{"POST", "/v1/policies", h, policyBody(s, "iam-ServiceId-1", []string{"Reader"}, "geography", "global")}); status != 201 {
		t.Errorf("geography=global: %d %v, want 201", status, m)
	}
}

func TestV2PolicyIsAPlaceholderInV1(t *testing.T) {
	s := iamtest.NewServer()
	defer s.Close()
	h := bearer(s.IssueToken("IBMid-1"))
	v2 := s.AddV2Policy(iamtest.V2Policy{
		SubjectIAMID: "iam-ServiceId-1", RoleIDs: []string{iamtest.RoleCRN("Reader")},
		Attributes: map[string]string{"serviceName": "container-registry"},
	})
	if !v2.V2 {
		t.Error("snapshot does not say V2")
	}

	_, _, m := do(t, s, call{"GET", "/v1/policies?account_id=" + s.AccountID() + "&iam_id=iam-ServiceId-1", h, ""})
	list := m["policies"].([]any)
	if len(list) != 1 {
		t.Fatalf("v1 list: %v", m)
	}
	ph := list[0].(map[string]any)
	if ph["id"] != v2.ID || len(ph["roles"].([]any)) != 0 || len(ph["resources"].([]any)) != 0 {
		t.Errorf("v1 shows %v, want a placeholder without roles or resources", ph)
	}

	_, _, m = do(t, s, call{"GET", "/v2/policies?account_id=" + s.AccountID() + "&iam_id=iam-ServiceId-1", h, ""})
	got := m["policies"].([]any)[0].(map[string]any)
	roles := got["control"].(map[string]any)["grant"].(map[string]any)["roles"].([]any)
	if got["id"] != v2.ID || roles[0].(map[string]any)["role_id"] != iamtest.RoleCRN("Reader") {
		t.Errorf("v2 shows %v", got)
	}

	// The v2 grant conflicts with the same grant made through v1.
	status, _, m := do(t, s, call{"POST", "/v1/policies", h, policyBody(s, "iam-ServiceId-1", []string{"Reader"})})
	if status != 409 {
		t.Errorf("v1 create of the v2 grant: %d %v, want 409", status, m)
	}
	if status, _, _ := do(t, s, call{"DELETE", "/v2/policies/" + v2.ID, h, ""}); status != 204 {
		t.Errorf("v2 delete: %d", status)
	}
	if len(s.Policies()) != 0 {
		t.Errorf("policies after delete: %v", s.Policies())
	}
}

func TestAPIKeyLimit(t *testing.T) {
	s := iamtest.NewServer(iamtest.WithAPIKeyLimit(2))
	defer s.Close()
	h := bearer(s.IssueToken("IBMid-1"))
	body := `{"name":"k","iam_id":"IBMid-2"}`
	for range 2 {
		if status, _, m := do(t, s, call{"POST", "/v1/apikeys", h, body}); status != 201 {
			t.Fatalf("create: %d %v", status, m)
		}
	}
	status, _, m := do(t, s, call{"POST", "/v1/apikeys", h, body})
	e := m["errors"].([]any)[0].(map[string]any)
	if status != 422 || e["message_code"] != "BXNIM0151E" {
		t.Errorf("third key: %d %v, want 422 BXNIM0151E", status, m)
	}
	if status, _, _ := do(t, s, call{"POST", "/v1/apikeys", h, `{"name":"k","iam_id":"IBMid-3"}`}); status != 201 {
		t.Errorf("another identity's key: %d, want 201", status)
	}
}

func TestServiceIDLimit(t *testing.T) {
	s := iamtest.NewServer(iamtest.WithServiceIDLimit(1))
	defer s.Close()
	h := bearer(s.IssueToken("IBMid-1"))
	body := fmt.Sprintf(`{"account_id":%q,"name":"a"}`, s.AccountID())
	if status, _, _ := do(t, s, call{"POST", "/v1/serviceids/", h, body}); status != 201 {
		t.Fatalf("first: %d", status)
	}
	if status, _, m := do(t, s, call{"POST", "/v1/serviceids/", h, body}); status != 422 {
		t.Errorf("second: %d %v, want 422", status, m)
	}
}

func TestAPIKeyOptionsAreKept(t *testing.T) {
	s := iamtest.NewServer()
	defer s.Close()
	h := bearer(s.IssueToken("IBMid-1"))
	h["Entity-Lock"] = "true"
	status, _, m := do(t, s, call{"POST", "/v1/apikeys", h,
		`{"name":"k","iam_id":"IBMid-2","action_when_leaked":"disable","expires_at":"2030-01-02T03:04+0000"}`})
	if status != 201 || m["locked"] != true || m["action_when_leaked"] != "disable" || m["expires_at"] != "2030-01-02T03:04+0000" {
		t.Errorf("create: %d %v", status, m)
	}
	want := iamtest.APIKey{Locked: true, ActionWhenLeaked: "disable", ExpiresAt: time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)}
	k := s.APIKeys()[0]
	got := iamtest.APIKey{Locked: k.Locked, ActionWhenLeaked: k.ActionWhenLeaked, ExpiresAt: k.ExpiresAt}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
	for _, bad := range []string{`"action_when_leaked":"panic"`, `"expires_at":"tomorrow"`} {
		if status, _, _ := do(t, s, call{"POST", "/v1/apikeys", h, `{"name":"k","iam_id":"IBMid-2",` + bad + `}`}); status != 400 {
			t.Errorf("%s: %d, want 400", bad, status)
		}
	}
}
