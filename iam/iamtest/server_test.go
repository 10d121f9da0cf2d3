package iamtest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/registrykit/registrykit/iam/iamtest"
)

type call struct {
	method, path string
	header       map[string]string
	body         string
}

// do sends one raw request and decodes the JSON answer.
func do(t *testing.T, s *iamtest.Server, c call) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), c.method, s.URL()+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: body %q: %v", c.method, c.path, b, err)
		}
	}
	return resp.StatusCode, resp.Header, m
}

func token(t *testing.T, s *iamtest.Server, key string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"urn:ibm:params:oauth:grant-type:apikey"}, "apikey": {key}}
	status, _, m := do(t, s, call{"POST", "/identity/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, form.Encode()})
	return status, m
}

func bearer(tok string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
}

func TestTokenEndpoint(t *testing.T) {
	s := iamtest.NewServer()
	defer s.Close()
	key := s.AddAPIKey("IBMid-1")

	status, m := token(t, s, key)
	if status != 200 || m["token_type"] != "Bearer" || m["expires_in"] != 3600.0 || m["refresh_token"] == "" {
		t.Fatalf("token answer %d %v", status, m)
	}
	if rt, _ := m["refresh_token"].(string); !strings.HasPrefix(rt, iamtest.RefreshTokenPrefix) {
		t.Error("refresh token does not start with RefreshTokenPrefix")
	}
	parts := strings.Split(m["access_token"].(string), ".")
	if len(parts) != 3 {
		t.Fatalf("access token is not a JWT: %d segments", len(parts))
	}

	status, m = token(t, s, "unknown")
	if status != 400 || m["errorCode"] != "BXNIM0415E" {
		t.Errorf("unknown key: %d %v, want 400 BXNIM0415E", status, m)
	}
}

func TestBearerRequired(t *testing.T) {
	s := iamtest.NewServer()
	defer s.Close()
	for _, h := range []map[string]string{nil, bearer("forged.token.value"), {"Authorization": "Basic eDp5"}} {
		status, _, m := do(t, s, call{"GET", "/v1/serviceids/?account_id=" + s.AccountID(), h, ""})
		if status != 401 {
			t.Errorf("headers %v: %d %v, want 401", h, status, m)
		}
	}
	status, _, _ := do(t, s, call{"GET", "/v2/roles", bearer(s.IssueToken("IBMid-1")), ""})
	if status != 200 {
		t.Errorf("with an issued token: %d, want 200", status)
	}
}

func TestServiceIDPagingAndFilter(t *testing.T) {
	s := iamtest.NewServer()
	defer s.Close()
	for i := range 45 {
		s.AddServiceID(fmt.Sprintf("svc-%02d", i), "")
	}
	s.AddServiceID("other", "")
	h := bearer(s.IssueToken("IBMid-1"))
	var got []string
	path := "/v1/serviceids/?account_id=" + s.AccountID() + "&pagesize=20"
	for pages := 0; path != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		status, _, m := do(t, s, call{"GET", path, h, ""})
		if status != 200 {
			t.Fatalf("list: %d %v", status, m)
		}
		for _, item := range m["serviceids"].([]any) {
			got = append(got, item.(map[string]any)["name"].(string))
		}
		path = ""
		if next, ok := m["next"].(string); ok {
			u, _ := url.Parse(next)
			path = u.RequestURI()
		}
	}
	if len(got) != 46 || got[0] != "svc-00" || got[44] != "svc-44" || got[45] != "other" {
		t.Errorf("listed %d: %v", len(got), got)
	}
	// The name filter matches the whole name exactly, case included.
	for filter, want := range map[string][]string{"svc-07": {"svc-07"}, "SVC-07": nil, "svc": nil, "svc-0": nil} {
		_, _, m := do(t, s, call{"GET", "/v1/serviceids/?account_id=" + s.AccountID() + "&name=" + filter, h, ""})
		var names []string
		for _, item := range m["serviceids"].([]any) {
			names = append(names, item.(map[string]any)["name"].(string))
		}
		if diff := cmp.Diff(want, names); diff != "" {
			t.Errorf("name=%s (-want +got):\n%s", filter, diff)
		}
	}
	if status, _, _ := do(t, s, call{"GET", "/v1/serviceids/", h, ""}); status != 400 {
		t.Errorf("list without account_id: %d, want 400", status)
	}
	if status, _, _ := do(t, s, call{"GET", "/v1/serviceids/?account_id=" + s.AccountID() + "&pagesize=101", h, ""}); status != 400 {
		t.Errorf("pagesize 101: %d, want 400", status)
	}
}

func TestPolicyConflict(t *testing.T) {
	s := iamtest.NewServer()
	defer s.Close()
	h := bearer(s.IssueToken("IBMid-1"))
	body := fmt.Sprintf(`{"type":"access","subjects":[{"attributes":[{"name":"iam_id","value":"iam-ServiceId-1"}]}],
		"roles":[{"role_id":%q}],
		"resources":[{"attributes":[{"name":"accountId","value":%q},{"name":"serviceName","value":"container-registry"}]}]}`,
		iamtest.RoleCRN("Reader"), s.AccountID())
	status, _, first := do(t, s, call{"POST", "/v1/policies", h, body})
	if status != 201 || first["state"] != "active" {
		t.Fatalf("create: %d %v", status, first)
	}
	status, _, m := do(t, s, call{"POST", "/v1/policies", h, body})
	if status != 409 {
		t.Fatalf("duplicate: %d %v, want 409", status, m)
	}
	e := m["errors"].([]any)[0].(map[string]any)
	conflict := e["details"].(map[string]any)["conflicts_with"].(map[string]any)["policy"].(map[string]any)
	if e["code"] != "policy_conflict_error" || conflict["id"] != first["id"] {
		t.Errorf("409 body = %v, want policy_conflict_error naming %v", m, first["id"])
	}
	bad := strings.Replace(body, iamtest.RoleCRN("Reader"), "crn:v1:bluemix:public:iam::::serviceRole:Owner", 1)
	if status, _, _ := do(t, s, call{"POST", "/v1/policies", h, bad}); status != 400 {
		t.Errorf("unknown role: %d, want 400", status)
	}
}

func TestRolesOfContainerRegistry(t *testing.T) {
	s := iamtest.NewServer()
	defer s.Close()
	_, _, m := do(t, s, call{"GET", "/v2/roles?service_name=container-registry", bearer(s.IssueToken("IBMid-1")), ""})
	var got []string
	for _, r := range m["service_roles"].([]any) {
		role := r.(map[string]any)
		got = append(got, role["display_name"].(string)+"="+role["crn"].(string))
	}
	want := []string{
		"Reader=crn:v1:bluemix:public:iam::::serviceRole:Reader",
		"Writer=crn:v1:bluemix:public:iam::::serviceRole:Writer",
		"Manager=crn:v1:bluemix:public:iam::::serviceRole:Manager",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("service roles (-want +got):\n%s", diff)
	}
	if len(m["system_roles"].([]any)) == 0 {
		t.Error("no platform roles")
	}
}

func TestRequestLogRedacts(t *testing.T) {
	s := iamtest.NewServer()
	defer s.Close()
	key := s.AddAPIKey("IBMid-1")
	_, m := token(t, s, key)
	tok := m["access_token"].(string)
	h := bearer(tok)
	h["IAM-ApiKey"] = key
	do(t, s, call{"GET", "/v1/apikeys/details?echo=" + url.QueryEscape(key), h, `{"apikey":"` + key + `","note":"` + tok + `"}`})

	log := fmt.Sprintf("%+v", s.Requests())
	for name, secret := range map[string]string{"key": key, "token": tok, "refresh token": m["refresh_token"].(string)} {
		if strings.Contains(log, secret) {
			t.Errorf("request log contains the %s: %s", name, log)
		}
	}
	r := s.Requests()[1]
	if r.Header.Get("Authorization") != "Bearer [REDACTED]" || r.Header.Get("IAM-ApiKey") != "[REDACTED]" || r.Op != iamtest.OpGetAPIKeysDetails || r.Status != 200 {
		t.Errorf("logged request = %+v", r)
	}
}

func TestMintedKeysStartWithKeyPrefix(t *testing.T) {
	s := iamtest.NewServer()
	defer s.Close()
	seeded, again := s.AddAPIKey("IBMid-1"), s.AddAPIKey("IBMid-1")
	sid := s.AddServiceID("svc", "")
	body := fmt.Sprintf(`{"name":"k","iam_id":%q,"account_id":%q}`, sid.IAMID, s.AccountID())
	status, _, m := do(t, s, call{"POST", "/v1/apikeys", bearer(s.IssueToken("IBMid-1")), body})
	created, _ := m["apikey"].(string)
	if status != 201 {
		t.Fatalf("create: %d %v", status, m)
	}
	for name, v := range map[string]string{"AddAPIKey": seeded, "POST /v1/apikeys": created} {
		if !strings.HasPrefix(v, iamtest.KeyPrefix) || len(v) != 44 {
			t.Errorf("%s value %q: want %q followed by random characters, 44 in all", name, v, iamtest.KeyPrefix)
		}
	}
	if seeded == again {
		t.Error("two minted keys are equal: the rest of the value is not random")
	}
	const chosen = "chosen-value-without-the-prefix"
	s.AddAPIKeyValue("IBMid-2", chosen)
	if st, _ := token(t, s, chosen); st != 200 {
		t.Errorf("token for a chosen key value: %d, want 200 (AddAPIKeyValue keeps the value as given)", st)
	}
}

func TestFaults(t *testing.T) {
	s := iamtest.NewServer()
	defer s.Close()
	h := bearer(s.IssueToken("IBMid-1"))
	list := call{"GET", "/v1/serviceids/?account_id=" + s.AccountID(), h, ""}
	s.Fail(iamtest.OpListServiceIDs, 2, 503)
	s.RateLimit(iamtest.OpListServiceIDs, 3, 7)
	var statuses []int
	var retryAfter string
	for range 4 {
		status, hdr, _ := do(t, s, list)
		statuses = append(statuses, status)
		if status == 429 {
			retryAfter = hdr.Get("Retry-After")
		}
	}
	if diff := cmp.Diff([]int{200, 503, 429, 200}, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if retryAfter != "7" {
		t.Errorf("Retry-After = %q, want 7", retryAfter)
	}

	s.FailAfterApply(iamtest.OpCreateServiceID, 1, 500)
	create := call{"POST", "/v1/serviceids/", h, fmt.Sprintf(`{"account_id":%q,"name":"x"}`, s.AccountID())}
	if status, _, m := do(t, s, create); status != 500 || m["trace"] == "" {
		t.Errorf("ambiguous create: %d %v", status, m)
	}
	if n := len(s.ServiceIDs()); n != 1 {
		t.Errorf("service IDs after the applied-then-failed create = %d, want 1", n)
	}
}

func TestDeleteServiceIDDeletesKeys(t *testing.T) {
	s := iamtest.NewServer()
	defer s.Close()
	sid := s.AddServiceID("svc", "")
	s.AddAPIKey(sid.IAMID)
	s.AddAPIKey("IBMid-1")
	h := bearer(s.IssueToken("IBMid-1"))
	if status, _, _ := do(t, s, call{"DELETE", "/v1/serviceids/" + sid.ID, h, ""}); status != 204 {
		t.Fatalf("delete: %d", status)
	}
	if status, _, _ := do(t, s, call{"GET", "/v1/serviceids/" + sid.ID, h, ""}); status != 404 {
		t.Errorf("get deleted: %d, want 404", status)
	}
	if keys := s.APIKeys(); len(keys) != 1 || keys[0].IAMID != "IBMid-1" {
		t.Errorf("keys = %+v, want only IBMid-1's", keys)
	}
}

func TestConcurrentUse(t *testing.T) {
	s := iamtest.NewServer()
	defer s.Close()
	h := bearer(s.IssueToken("IBMid-1"))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			do(t, s, call{"POST", "/v1/serviceids/", h, fmt.Sprintf(`{"account_id":%q,"name":"svc-%d"}`, s.AccountID(), i)})
			_ = s.ServiceIDs()
			_ = s.Requests()
		})
	}
	wg.Wait()
	if n := len(s.ServiceIDs()); n != 8 {
		t.Errorf("service IDs = %d, want 8", n)
	}
}
