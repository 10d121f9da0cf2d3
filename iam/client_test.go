package iam_test

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/IBM/go-sdk-core/v5/core"
	"github.com/google/go-cmp/cmp"
	"github.com/registrykit/registrykit/iam"
)

func TestNewValidatesEverythingAtOnce(t *testing.T) {
	tests := []struct {
		name string
		opts iam.Options
		want []string // substrings of the error, all of them
	}{
		{"empty", iam.Options{}, []string{"AccountID is required", "one of APIKey or Authenticator"}},
		{"both credentials", iam.Options{AccountID: "a", APIKey: iam.NewSecret("k"), Authenticator: &core.NoAuthAuthenticator{}}, []string{"not both"}},
		{"negative interval", iam.Options{AccountID: "a", APIKey: iam.NewSecret("k"), MaxRetryInterval: -1}, []string{"MaxRetryInterval"}},
		{"key with blank edge", iam.Options{AccountID: "a", APIKey: iam.NewSecret(`{k-with-brace}`)}, []string{"APIKey"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := iam.New(tt.opts)
			if !errors.Is(err, iam.ErrInvalid) {
				t.Fatalf("New() error = %v, want ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "k-with-brace") {
				t.Errorf("error %q contains the key", err)
			}
		})
	}
}

// hostRecorder records where requests would go and fails them, so endpoint
// selection is testable without a network.
type hostRecorder struct {
	mu   sync.Mutex
	urls []string
}

func (h *hostRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.urls = append(h.urls, r.URL.Scheme+"://"+r.URL.Host+r.URL.Path)
	return nil, errors.New("offline")
}

func TestEndpoints(t *testing.T) {
	tests := []struct {
		name string
		opts iam.Options
		want []string // token request, then the service call
	}{
		{"public default", iam.Options{}, []string{"https://iam.cloud.ibm.com/identity/token"}},
		{"private", iam.Options{Private: true}, []string{"https://private.iam.cloud.ibm.com/identity/token"}},
		{"token override", iam.Options{TokenURL: "https://tok.example/"}, []string{"https://tok.example/identity/token"}},
		{"bearer: identity override", iam.Options{IdentityURL: "https://id.example", Authenticator: &core.BearerTokenAuthenticator{BearerToken: "t"}},
			[]string{"https://id.example/v1/serviceids/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &hostRecorder{}
			opts := tt.opts
			opts.AccountID = "acct"
			opts.Retries = -1
			opts.HTTPClient = &http.Client{Transport: rec}
			if opts.Authenticator == nil {
				opts.APIKey = iam.NewSecret("key")
			}
			c, err := iam.New(opts)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.EnsureServiceID(ctx(t), "x", ""); err == nil {
				t.Fatal("EnsureServiceID succeeded offline")
			}
			if diff := cmp.Diff(tt.want, rec.urls); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPolicyEndpointOverride(t *testing.T) {
	rec := &hostRecorder{}
	c, err := iam.New(iam.Options{
		AccountID: "acct", Authenticator: &core.BearerTokenAuthenticator{BearerToken: "t"},
		URL: "https://iam.example", PolicyURL: "https://pol.example", Retries: -1,
		HTTPClient: &http.Client{Transport: rec},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.EnsureRegistryPolicy(ctx(t), "iam-ServiceId-x", iam.Access{Role: "Reader"})
	var apiErr *iam.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 0 {
		t.Errorf("error = %v, want an *APIError without status", err)
	}
	if diff := cmp.Diff([]string{"https://pol.example/v2/roles"}, rec.urls); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestResultString(t *testing.T) {
	got := []string{iam.Result(0).String(), iam.Created.String(), iam.Unchanged.String(), iam.Updated.String(), iam.Deleted.String()}
	want := []string{"unknown", "created", "unchanged", "updated", "deleted"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
