package iamtest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/registrykit/registrykit/iam/iamtest"
)

const workload = "system:serviceaccount:kube-system:registrykit"

func crGrant(t *testing.T, s *iamtest.Server, form url.Values) (int, map[string]any) {
	t.Helper()
	form.Set("grant_type", "urn:ibm:params:oauth:grant-type:cr-token")
	status, _, m := do(t, s, call{"POST", "/identity/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, form.Encode()})
	return status, m
}

// The cr-token grant as IAM documents it: cr_token and one of profile_id,
// profile_name or profile_crn; an access token without a refresh token.
func TestTrustedProfileGrant(t *testing.T) {
	s := iamtest.NewServer()
	defer s.Close()
	p := s.AddTrustedProfile("registrykit", workload)
	s.AddTrustedProfile("other", "system:serviceaccount:x:y")
	cr := s.CRToken(workload, 0)

	for _, sel := range []url.Values{{"profile_id": {p.ID}}, {"profile_name": {p.Name}}, {"profile_crn": {p.CRN}}} {
		sel.Set("cr_token", cr)
		status, m := crGrant(t, s, sel)
		if status != 200 || m["token_type"] != "Bearer" || m["expires_in"] != 3600.0 {
			t.Fatalf("%v: answer %d %v", sel, status, m)
		}
		if _, ok := m["refresh_token"]; ok {
			t.Errorf("%v: a refresh token was issued; IAM issues none for this grant", sel)
		}
		claims := jwtClaims(t, m["access_token"].(string))
		if claims["iam_id"] != p.IAMID || claims["sub_type"] != "Profile" || claims["grant_type"] != "urn:ibm:params:oauth:grant-type:cr-token" {
			t.Errorf("claims = %v, want the profile's identity", claims)
		}
		// The token is accepted by the other APIs.
		if status, _, _ := do(t, s, call{"GET", "/v1/serviceids/?account_id=" + s.AccountID(), bearer(m["access_token"].(string)), ""}); status != 200 {
			t.Errorf("list with the profile's token: %d", status)
		}
	}

	other := s.TrustedProfiles()[1]
	tests := []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"no cr_token", url.Values{"profile_id": {p.ID}}, 400, iamtest.CodePropertyMissing},
		{"no profile", url.Values{"cr_token": {cr}}, 400, iamtest.CodePropertyMissing},
		{"unknown token", url.Values{"cr_token": {"a.b.c"}, "profile_id": {p.ID}}, 400, iamtest.CodeInvalidCRToken},
		{"expired token", url.Values{"cr_token": {s.CRToken(workload, time.Nanosecond)}, "profile_id": {p.ID}}, 400, iamtest.CodeInvalidCRToken},
		{"unknown profile id", url.Values{"cr_token": {cr}, "profile_id": {"Profile-nope"}}, 400, iamtest.CodeProfileNotFound},
		{"unknown profile name", url.Values{"cr_token": {cr}, "profile_name": {"nope"}}, 400, iamtest.CodeProfileNotFound},
		{"id and name of different profiles", url.Values{"cr_token": {cr}, "profile_id": {p.ID}, "profile_name": {"other"}}, 400, iamtest.CodeProfileNotFound},
		{"profile that does not trust the workload", url.Values{"cr_token": {cr}, "profile_id": {other.ID}}, 403, iamtest.CodeProfileNotTrusted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, m := crGrant(t, s, tt.form)
			ctx, _ := m["context"].(map[string]any)
			if status != tt.status || m["errorCode"] != tt.code || m["errorMessage"] == "" || ctx["requestId"] == "" {
				t.Errorf("answer %d %v, want %d %s in IAM's error shape", status, m, tt.status, tt.code)
			}
		})
	}

	for _, r := range s.Requests() {
		if strings.Contains(r.Body, cr) || strings.Contains(r.Body, "cr_token=a.b.c") {
			t.Errorf("request log shows a CR token: %s", r.Body)
		}
	}
}

func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d segments", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTokenLifetime(t *testing.T) {
	s := iamtest.NewServer(iamtest.WithTokenLifetime(3 * time.Second))
	defer s.Close()
	key := s.AddAPIKey("IBMid-1")
	status, m := token(t, s, key)
	if status != 200 || m["expires_in"] != 3.0 {
		t.Fatalf("answer %d %v, want expires_in 3", status, m)
	}
	claims := jwtClaims(t, m["access_token"].(string))
	if claims["exp"].(float64)-claims["iat"].(float64) != 3 {
		t.Errorf("exp - iat = %v, want 3", claims["exp"].(float64)-claims["iat"].(float64))
	}
	s.SetTokenLifetime(time.Second)
	_, m = token(t, s, key)
	tok := m["access_token"].(string)
	if m["expires_in"] != 1.0 {
		t.Errorf("expires_in = %v, want 1", m["expires_in"])
	}
	time.Sleep(1100 * time.Millisecond)
	if status, _, _ := do(t, s, call{"GET", "/v1/serviceids/?account_id=" + s.AccountID(), bearer(tok), ""}); status != 401 {
		t.Errorf("expired token answered %d, want 401", status)
	}
}

func TestOutage(t *testing.T) {
	s := iamtest.NewServer()
	defer s.Close()
	key := s.AddAPIKey("IBMid-1")

	s.Outage(iamtest.OpGetToken, http.StatusServiceUnavailable)
	for range 2 {
		if status, m := token(t, s, key); status != 503 || m["errorCode"] == "" {
			t.Errorf("during the outage: %d %v, want 503 in IAM's token error shape", status, m)
		}
	}
	s.Resume(iamtest.OpGetToken)
	if status, _ := token(t, s, key); status != 200 {
		t.Errorf("after the outage: %d", status)
	}

	// A hung service: the client's deadline ends the request.
	s.Outage(iamtest.OpGetToken, 0)
	form := url.Values{"grant_type": {"urn:ibm:params:oauth:grant-type:apikey"}, "apikey": {key}}
	c, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(c, "POST", s.URL()+"/identity/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if _, err := s.Client().Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hung request: %v, want the client's deadline", err)
	}
	// Resume answers the requests still held with 503.
	held := make(chan int, 1)
	go func() {
		status, _ := token(t, s, key)
		held <- status
	}()
	for s.Calls(iamtest.OpGetToken) < 5 {
		time.Sleep(5 * time.Millisecond)
	}
	s.Resume(iamtest.OpGetToken)
	if status := <-held; status != 503 {
		t.Errorf("held request answered %d after Resume, want 503", status)
	}
	var statuses []int
	for _, r := range s.Requests() {
		statuses = append(statuses, r.Status)
	}
	if diff := cmp.Diff([]int{503, 503, 200, 0, 0}, statuses); diff != "" {
		t.Errorf("logged statuses (-want +got):\n%s", diff)
	}
}
