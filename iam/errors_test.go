package iam_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/IBM/go-sdk-core/v5/core"
	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
)

func TestStatusSentinels(t *testing.T) {
	sentinels := []error{iam.ErrNotFound, iam.ErrConflict, iam.ErrUnauthorized, iam.ErrForbidden, iam.ErrRateLimited}
	tests := []struct {
		status int
		want   error
	}{
		{http.StatusUnauthorized, iam.ErrUnauthorized},
		{http.StatusForbidden, iam.ErrForbidden},
		{http.StatusNotFound, iam.ErrNotFound},
		{http.StatusConflict, iam.ErrConflict},
		{http.StatusTooManyRequests, iam.ErrRateLimited},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			f := newFixture(t, func(o *iam.Options) { o.Retries = -1 })
			f.srv.Fail(iamtest.OpListServiceIDs, 1, tt.status)
			_, _, err := f.client.EnsureServiceID(ctx(t), "svc", "")
			for _, s := range sentinels {
				if got := errors.Is(err, s); got != (s == tt.want) {
					t.Errorf("errors.Is(%v, %v) = %v", err, s, got)
				}
			}
			var apiErr *iam.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v is not an *APIError", err)
			}
			if apiErr.StatusCode != tt.status || apiErr.Code == "" || !strings.HasPrefix(apiErr.TraceID, "iamtest-") {
				t.Errorf("APIError = %+v, want status, code and trace id", apiErr)
			}
			msg := err.Error()
			for _, want := range []string{`"svc"`, "list service IDs", apiErr.Code, apiErr.TraceID} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q lacks %q", msg, want)
				}
			}
			var sdkErr *core.SDKProblem
			if !errors.As(err, &sdkErr) {
				t.Errorf("error does not unwrap to the SDK's *core.SDKProblem")
			}
		})
	}
}

func TestUnknownAPIKeyIsUnauthorized(t *testing.T) {
	srv := iamtest.NewServer()
	t.Cleanup(srv.Close)
	f := newFixtureOn(t, srv, "not-a-key-the-server-knows")
	_, _, err := f.client.EnsureServiceID(ctx(t), "svc", "")
	if !errors.Is(err, iam.ErrUnauthorized) {
		t.Fatalf("error = %v, want ErrUnauthorized", err)
	}
	var apiErr *iam.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "BXNIM0415E" || apiErr.TraceID == "" {
		t.Errorf("APIError = %+v, want 400 BXNIM0415E with trace", apiErr)
	}
	if strings.Contains(err.Error(), "not-a-key-the-server-knows") {
		t.Errorf("error contains the key: %v", err)
	}
	if n := count(srv, iamtest.OpListServiceIDs); n != 0 {
		t.Errorf("list requests = %d, want 0 (no token)", n)
	}
}

func TestRevokedTokenIsUnauthorized(t *testing.T) {
	f := newFixture(t)
	if _, _, err := f.client.EnsureServiceID(ctx(t), "svc", ""); err != nil {
		t.Fatal(err)
	}
	f.srv.RevokeTokens()
	_, err := f.client.ListServiceIDs(ctx(t))
	if !errors.Is(err, iam.ErrUnauthorized) {
		t.Errorf("error = %v, want ErrUnauthorized", err)
	}
}

func TestWrongAccountIsForbidden(t *testing.T) {
	f := newFixture(t, func(o *iam.Options) { o.AccountID = "someone-elses" })
	_, _, err := f.client.EnsureServiceID(ctx(t), "svc", "")
	if !errors.Is(err, iam.ErrForbidden) {
		t.Errorf("error = %v, want ErrForbidden", err)
	}
}

// The SDK retries 429 itself and honours Retry-After (this one waits one
// second); no timing is asserted.
func TestRateLimitedRetryAfterOne(t *testing.T) {
	tests := []struct {
		name string
		op   string
	}{
		{"list (SDK retry)", iamtest.OpListServiceIDs},
		{"create (this package's retry)", iamtest.OpCreateServiceID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.srv.RateLimit(tt.op, 1, 1)
			sid, res, err := f.client.EnsureServiceID(ctx(t), "svc", "")
			if err != nil || res != registrykit.Created || sid.ID == "" {
				t.Fatalf("EnsureServiceID = %+v %v %v", sid, res, err)
			}
			var statuses []int
			for _, r := range f.srv.Requests() {
				if r.Op == tt.op {
					statuses = append(statuses, r.Status)
				}
			}
			if len(statuses) != 2 || statuses[0] != 429 || statuses[1] >= 300 {
				t.Errorf("%s answers = %v, want 429 then success", tt.op, statuses)
			}
			if n := len(f.srv.ServiceIDs()); n != 1 {
				t.Errorf("service IDs = %d, want 1", n)
			}
		})
	}
}

func TestRateLimitedExhausted(t *testing.T) {
	f := newFixture(t, func(o *iam.Options) { o.Retries = 1 })
	f.srv.RateLimit(iamtest.OpListServiceIDs, 1, 0)
	f.srv.RateLimit(iamtest.OpListServiceIDs, 2, 0)
	_, err := f.client.ListServiceIDs(ctx(t))
	if !errors.Is(err, iam.ErrRateLimited) {
		t.Errorf("error = %v, want ErrRateLimited", err)
	}
}
