package iam_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
)

// names returns the names of the server's service IDs.
func names(t *testing.T, srv *iamtest.Server) []string {
	t.Helper()
	var out []string
	for _, s := range srv.ServiceIDs() {
		out = append(out, s.Name)
	}
	return out
}

// count returns how many requests of op the client sent.
func count(srv *iamtest.Server, op string) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Op == op {
			n++
		}
	}
	return n
}

func TestEnsureServiceID(t *testing.T) {
	tests := []struct {
		name        string
		seed        []string // existing service IDs, in creation order
		fault       func(*iamtest.Server)
		want        registrykit.Action
		wantNames   []string
		wantCreates int
	}{
		{name: "absent is created", want: registrykit.Created, wantNames: []string{"cluster-abc"}, wantCreates: 1},
		{name: "present is unchanged", seed: []string{"cluster-abc"}, want: registrykit.Unchanged, wantNames: []string{"cluster-abc"}},
		{name: "similar names do not count", seed: []string{"cluster-abcd", "x-cluster-abc", "CLUSTER-ABC"},
			want: registrykit.Created, wantNames: []string{"cluster-abcd", "x-cluster-abc", "CLUSTER-ABC", "cluster-abc"}, wantCreates: 1},
		{name: "ambiguous create (applied, answered 500) is not repeated",
			fault: func(s *iamtest.Server) {
				s.FailAfterApply(iamtest.OpCreateServiceID, 1, http.StatusInternalServerError)
			},
			want: registrykit.Created, wantNames: []string{"cluster-abc"}, wantCreates: 1},
		{name: "ambiguous create (applied, answered 502), the re-list retried by the SDK",
			fault: func(s *iamtest.Server) {
				s.FailAfterApply(iamtest.OpCreateServiceID, 1, http.StatusBadGateway)
				s.Fail(iamtest.OpListServiceIDs, 2, http.StatusServiceUnavailable) // the re-list is retried by the SDK
			},
			want: registrykit.Created, wantNames: []string{"cluster-abc"}, wantCreates: 1},
		{name: "create failed without applying is retried",
			fault: func(s *iamtest.Server) { s.Fail(iamtest.OpCreateServiceID, 1, http.StatusInternalServerError) },
			want:  registrykit.Created, wantNames: []string{"cluster-abc"}, wantCreates: 2},
		{name: "create rate limited is retried after Retry-After",
			fault: func(s *iamtest.Server) { s.RateLimit(iamtest.OpCreateServiceID, 1, 0) },
			want:  registrykit.Created, wantNames: []string{"cluster-abc"}, wantCreates: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			for _, n := range tt.seed {
				f.srv.AddServiceID(n, "seeded")
			}
			if tt.fault != nil {
				tt.fault(f.srv)
			}
			sid, res, err := f.client.EnsureServiceID(ctx(t), "cluster-abc", "pull secret for cluster abc")
			if err != nil {
				t.Fatalf("EnsureServiceID: %v", err)
			}
			if res != tt.want {
				t.Errorf("result = %v, want %v", res, tt.want)
			}
			if diff := cmp.Diff(tt.wantNames, names(t, f.srv)); diff != "" {
				t.Errorf("service IDs (-want +got):\n%s", diff)
			}
			if got := count(f.srv, iamtest.OpCreateServiceID); got != tt.wantCreates {
				t.Errorf("create requests = %d, want %d", got, tt.wantCreates)
			}
			var stored iamtest.ServiceID
			for _, s := range f.srv.ServiceIDs() {
				if s.Name == "cluster-abc" {
					stored = s
				}
			}
			want := iam.ServiceID{ID: stored.ID, IAMID: stored.IAMID, Name: stored.Name, Description: stored.Description,
				AccountID: stored.AccountID, CRN: stored.CRN}
			if diff := cmp.Diff(want, sid, cmpopts.IgnoreFields(iam.ServiceID{}, "CreatedAt")); diff != "" {
				t.Errorf("service ID (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnsureServiceIDPaging(t *testing.T) {
	f := newFixture(t)
	// IAM does not keep names unique: 250 service IDs named cluster-abc
	// (made by a tool that did not look first) fill three pages of the
	// name-filtered list; the oldest is the one to use, and every page is
	// read to be sure of that. Names that merely contain the name are not
	// listed at all.
	want := f.srv.AddServiceID("cluster-abc", "the one")
	for range 249 {
		f.srv.AddServiceID("cluster-abc", "")
	}
	for i := range 50 {
		f.srv.AddServiceID(fmt.Sprintf("cluster-abc-%03d", i), "")
	}

	sid, res, err := f.client.EnsureServiceID(ctx(t), "cluster-abc", "")
	if err != nil {
		t.Fatal(err)
	}
	if res != registrykit.Unchanged || sid.ID != want.ID {
		t.Errorf("got %v %s, want unchanged %s", res, sid.ID, want.ID)
	}
	if n := len(f.srv.ServiceIDs()); n != 300 {
		t.Errorf("service IDs = %d, want 300 (no new one)", n)
	}
	var tokens []string
	for _, r := range f.srv.Requests() {
		if r.Op == iamtest.OpListServiceIDs {
			tokens = append(tokens, r.Query.Get("pagetoken"))
			if r.Query.Get("name") != "cluster-abc" || r.Query.Get("account_id") != f.srv.AccountID() {
				t.Errorf("list query = %v, want name and account_id", r.Query)
			}
		}
	}
	if len(tokens) != 3 || tokens[0] != "" || tokens[1] == "" || tokens[2] == "" {
		t.Errorf("page tokens = %q, want 3 pages followed by next links", tokens)
	}
}

func TestEnsureServiceIDDuplicatesPickOldest(t *testing.T) {
	f := newFixture(t)
	first := f.srv.AddServiceID("dup", "1")
	f.srv.AddServiceID("dup", "2")
	sid, res, err := f.client.EnsureServiceID(ctx(t), "dup", "")
	if err != nil || res != registrykit.Unchanged || sid.ID != first.ID {
		t.Errorf("got %s %v %v, want the oldest %s unchanged", sid.ID, res, err, first.ID)
	}
}

func TestEnsureServiceIDGivesUp(t *testing.T) {
	f := newFixture(t, func(o *iam.Options) { o.Retries = 2 })
	for i := 1; i <= 3; i++ {
		f.srv.Fail(iamtest.OpCreateServiceID, i, http.StatusInternalServerError)
	}
	_, _, err := f.client.EnsureServiceID(ctx(t), "cluster-abc", "")
	var apiErr *iam.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 {
		t.Fatalf("error = %v, want *APIError 500", err)
	}
	if got := count(f.srv, iamtest.OpCreateServiceID); got != 3 {
		t.Errorf("create requests = %d, want 3 (1 + 2 retries)", got)
	}
	if len(f.srv.ServiceIDs()) != 0 {
		t.Errorf("service IDs = %v, want none", f.srv.ServiceIDs())
	}
}

func TestEnsureServiceIDValidates(t *testing.T) {
	for _, name := range []string{"", "  ", "\t", " cluster-abc", "cluster-abc\n"} {
		t.Run(fmt.Sprintf("%q", name), func(t *testing.T) {
			f := newFixture(t)
			_, res, err := f.client.EnsureServiceID(ctx(t), name, "")
			if diff := cmp.Diff([]string{"name"}, invalidFields(t, err)); diff != "" {
				t.Errorf("field errors (-want +got):\n%s", diff)
			}
			if res != registrykit.Failed {
				t.Errorf("action = %q, want %q", res, registrykit.Failed)
			}
			if n := len(f.srv.Requests()); n != 0 {
				t.Errorf("%d requests sent for invalid input", n)
			}
		})
	}
}

func TestGetListDeleteServiceID(t *testing.T) {
	f := newFixture(t)
	sid, _, err := f.client.EnsureServiceID(ctx(t), "svc", "d")
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.client.GetServiceID(ctx(t), sid.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sid, got); diff != "" {
		t.Errorf("GetServiceID (-want +got):\n%s", diff)
	}
	all, err := f.client.ListServiceIDs(ctx(t))
	if err != nil || len(all) != 1 {
		t.Errorf("ListServiceIDs = %v, %v; want one", all, err)
	}
	if _, err := f.client.CreateAPIKey(ctx(t), sid.IAMID, iam.APIKeyOptions{Name: "k"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.DeleteServiceID(ctx(t), sid.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.DeleteServiceID(ctx(t), sid.ID); err != nil {
		t.Errorf("second delete: %v, want nil (idempotent)", err)
	}
	if _, err := f.client.GetServiceID(ctx(t), sid.ID); !errors.Is(err, iam.ErrNotFound) {
		t.Errorf("GetServiceID after delete: %v, want ErrNotFound", err)
	}
	for _, k := range f.srv.APIKeys() {
		if k.IAMID == sid.IAMID {
			t.Errorf("key %s of the deleted service ID survived", k.ID)
		}
	}
}

// dropFirstAnswer forwards every request but loses the answer to the first
// service ID create: the server applied it, the client saw a transport error.
type dropFirstAnswer struct {
	mu      sync.Mutex
	dropped bool
}

func (d *dropFirstAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err == nil && !d.dropped && r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/serviceids") {
		d.dropped = true
		resp.Body.Close()
		return nil, errors.New("connection reset by peer")
	}
	return resp, err
}

func TestEnsureServiceIDTransportErrorAfterApply(t *testing.T) {
	f := newFixture(t, func(o *iam.Options) { o.HTTPClient = &http.Client{Transport: &dropFirstAnswer{}} })
	sid, res, err := f.client.EnsureServiceID(ctx(t), "cluster-abc", "")
	if err != nil || res != registrykit.Created {
		t.Fatalf("EnsureServiceID = %v %v", res, err)
	}
	if got := names(t, f.srv); len(got) != 1 || sid.ID != f.srv.ServiceIDs()[0].ID {
		t.Errorf("service IDs = %v, want exactly the one returned", got)
	}
	if n := count(f.srv, iamtest.OpCreateServiceID); n != 1 {
		t.Errorf("create requests = %d, want 1", n)
	}
}
