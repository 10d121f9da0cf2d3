package iam_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/IBM/go-sdk-core/v5/core"
	"github.com/google/go-cmp/cmp"
	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/iam"
)

func TestNewValidatesEverythingAtOnce(t *testing.T) {
	key := iam.NewSecret("k-0123456789")
	tests := []struct {
		name string
		opts iam.Options
		want []string // the field paths, in order
	}{
		{"empty", iam.Options{}, []string{"accountID", "apiKey"}},
		{"blank account", iam.Options{AccountID: " ", APIKey: key}, []string{"accountID"}},
		{"both credentials", iam.Options{AccountID: "a", APIKey: key, Authenticator: &core.NoAuthAuthenticator{}}, []string{"authenticator"}},
		{"key and token source", iam.Options{AccountID: "a", APIKey: key, TokenSource: staticSource{}}, []string{"authenticator"}},
		{"negative interval", iam.Options{AccountID: "a", APIKey: key, MaxRetryInterval: -1}, []string{"maxRetryInterval"}},
		{"key with blank edge", iam.Options{AccountID: "a", APIKey: iam.NewSecret(`{k-with-brace}`)}, []string{"apiKey"}},
		{"plain http", iam.Options{AccountID: "a", APIKey: key, URL: "http://iam.example.com"}, []string{"url"}},
		{"userinfo", iam.Options{AccountID: "a", APIKey: key, IdentityURL: "https://user:k-with-brace@iam.example.com"}, []string{"identityURL"}},
		{"http with userinfo", iam.Options{AccountID: "a", APIKey: key, TokenURL: "http://k-with-brace@tok.example.com"}, []string{"tokenURL", "tokenURL"}},
		{"not a URL", iam.Options{AccountID: "a", APIKey: key, PolicyURL: "iam.example.com/x"}, []string{"policyURL"}},
		{"other scheme", iam.Options{AccountID: "a", APIKey: key, URL: "ftp://iam.example.com"}, []string{"url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := iam.New(tt.opts)
			var ie *registrykit.InvalidError
			if !errors.As(err, &ie) || !errors.Is(err, registrykit.ErrInvalid) {
				t.Fatalf("New() error = %v, want a *registrykit.InvalidError", err)
			}
			var got []string
			for _, fe := range ie.Errs {
				got = append(got, fe.Field)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("New() field errors (-want +got):\n%s", diff)
			}
			if strings.Contains(err.Error(), "k-with-brace") {
				t.Errorf("error %q contains the key", err)
			}
		})
	}
}

// Plain http is accepted for a loopback host only: an iamtest server or a
// local proxy.
func TestNewAcceptsLoopbackHTTP(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:8080", "http://localhost:1234/", "http://[::1]:99", "https://iam.example.com"} {
		if _, err := iam.New(iam.Options{AccountID: "a", APIKey: iam.NewSecret("k-0123456789"), URL: u}); err != nil {
			t.Errorf("New(URL %q) = %v", u, err)
		}
	}
}

// staticSource is a TokenSource of one token.
type staticSource struct{ tok iam.Token }

func (s staticSource) Token(context.Context) (iam.Token, error) { return s.tok, nil }

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
