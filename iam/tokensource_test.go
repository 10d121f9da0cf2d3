package iam_test

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/IBM/go-sdk-core/v5/core"
	"github.com/google/go-cmp/cmp"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
)

func apiKeySource(t *testing.T, srv *iamtest.Server) iam.TokenSource {
	t.Helper()
	src, err := iam.NewAPIKeyTokenSource(iam.NewSecret(srv.AddAPIKey(ownerIAMID)), iam.TokenOptions{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// A token carries IAM's lifetime, measured from when it was asked for, and
// is served from the cache until its renewal point.
func TestAPIKeyTokenSourceCaches(t *testing.T) {
	srv := iamtest.NewServer(iamtest.WithTokenLifetime(20 * time.Minute))
	t.Cleanup(srv.Close)
	src := apiKeySource(t, srv)

	before := time.Now()
	tok, err := src.Token(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if tok.IsZero() || tok.Lifetime() != 20*time.Minute || tok.IssuedAt.Before(before) || !tok.ValidAt(time.Now()) {
		t.Errorf("token %v issued %v, lifetime %v: want a valid token of 20m issued now", tok, tok.IssuedAt, tok.Lifetime())
	}
	if got, want := tok.RenewAt(), tok.IssuedAt.Add(16*time.Minute); !got.Equal(want) {
		t.Errorf("RenewAt = %v, want %v (80%% of the lifetime)", got, want)
	}
	again, err := src.Token(ctx(t))
	if err != nil || again.Value != tok.Value {
		t.Errorf("second Token = %v, %v: want the cached token", again, err)
	}
	if n := srv.Calls(iamtest.OpGetToken); n != 1 {
		t.Errorf("token requests = %d, want 1", n)
	}
	if got := srv.IssuedTokens(); len(got) != 1 || got[0] != tok.Value.Reveal() {
		t.Errorf("the source returned a token the server did not issue")
	}
}

// Short-lived tokens are renewed once 80% of their life has passed.
func TestTokenSourceRenewsAtEightyPercent(t *testing.T) {
	srv := iamtest.NewServer(iamtest.WithTokenLifetime(2 * time.Second))
	t.Cleanup(srv.Close)
	src := apiKeySource(t, srv)
	first, err := src.Token(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(first.RenewAt()) + 50*time.Millisecond)
	second, err := src.Token(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if second.Value == first.Value || !second.ValidAt(time.Now().Add(time.Second)) {
		t.Errorf("after the renewal point: got the same or a short token (expiry %v)", second.Expiry)
	}
	if n := srv.Calls(iamtest.OpGetToken); n != 2 {
		t.Errorf("token requests = %d, want 2", n)
	}
}

// Concurrent callers share one request to IAM.
func TestTokenSourceSingleFlight(t *testing.T) {
	srv := iamtest.NewServer()
	t.Cleanup(srv.Close)
	src := apiKeySource(t, srv)
	srv.Outage(iamtest.OpGetToken, 0)
	var wg sync.WaitGroup
	toks := make([]iam.Token, 8)
	errs := make([]error, 8)
	for i := range toks {
		wg.Go(func() { toks[i], errs[i] = src.Token(ctx(t)) })
	}
	waitFor(t, func() bool { return srv.Calls(iamtest.OpGetToken) == 1 })
	srv.Resume(iamtest.OpGetToken) // the held request is answered 503
	wg.Wait()
	for i, err := range errs {
		var apiErr *iam.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("caller %d: error = %v, want the shared 503", i, err)
		}
	}
	if n := srv.Calls(iamtest.OpGetToken); n != 1 {
		t.Errorf("token requests = %d, want 1 shared by 8 callers", n)
	}
	for i := range toks {
		wg.Go(func() { toks[i], errs[i] = src.Token(ctx(t)) })
	}
	wg.Wait()
	for i := range toks {
		if errs[i] != nil || toks[i].Value != toks[0].Value {
			t.Errorf("caller %d: %v %v, want the one shared token", i, toks[i], errs[i])
		}
	}
	if n := srv.Calls(iamtest.OpGetToken); n != 2 {
		t.Errorf("token requests = %d, want 2", n)
	}
}

// The caller that started a request gives up; one that waits with a live
// context is not failed by that, and asks again.
func TestTokenSourceWaiterOutlivesTheCallerThatAsked(t *testing.T) {
	srv := iamtest.NewServer()
	t.Cleanup(srv.Close)
	src := apiKeySource(t, srv)
	srv.Outage(iamtest.OpGetToken, 0)

	first, cancelFirst := context.WithCancel(t.Context())
	firstErr := make(chan error, 1)
	go func() { _, err := src.Token(first); firstErr <- err }()
	waitFor(t, func() bool { return srv.Calls(iamtest.OpGetToken) == 1 })
	secondTok := make(chan error, 1)
	go func() { _, err := src.Token(ctx(t)); secondTok <- err }()
	time.Sleep(20 * time.Millisecond) // let the second caller join the request

	cancelFirst()
	if err := <-firstErr; !errors.Is(err, context.Canceled) {
		t.Errorf("first caller: %v, want context.Canceled", err)
	}
	waitFor(t, func() bool { return srv.Calls(iamtest.OpGetToken) == 2 })
	srv.Resume(iamtest.OpGetToken)
	if err := <-secondTok; err != nil {
		// The second caller's own request was held by the outage and
		// answered 503 when it ended; what matters is that it asked.
		var apiErr *iam.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("second caller: %v, want its own request's answer", err)
		}
	}
}

func TestAPIKeyTokenSourceErrors(t *testing.T) {
	srv := iamtest.NewServer()
	t.Cleanup(srv.Close)
	src, err := iam.NewAPIKeyTokenSource(iam.NewSecret("not-a-key-the-server-knows"), iam.TokenOptions{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Token(ctx(t))
	var apiErr *iam.APIError
	if !errors.Is(err, iam.ErrUnauthorized) || !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "BXNIM0415E" || apiErr.TraceID == "" {
		t.Errorf("error = %#v, want a 400 BXNIM0415E *APIError matching ErrUnauthorized", err)
	}

	_, err = iam.NewAPIKeyTokenSource(iam.Secret{}, iam.TokenOptions{URL: "http://u:not-a-key@iam.example.com"})
	if diff := cmp.Diff([]string{"apiKey", "opts.url", "opts.url"}, invalidFields(t, err)); diff != "" {
		t.Errorf("field errors (-want +got):\n%s", diff)
	}
}

func TestTrustedProfileTokenSource(t *testing.T) {
	srv := iamtest.NewServer(iamtest.WithTokenLifetime(10 * time.Minute))
	t.Cleanup(srv.Close)
	p := srv.AddTrustedProfile("registrykit", workload)
	other := srv.AddTrustedProfile("someone-else", "system:serviceaccount:x:y")
	file := writeCRToken(t, srv.CRToken(workload, 0))
	opts := func(o iam.TrustedProfileOptions) iam.TrustedProfileOptions {
		o.CRTokenFile = file
		o.URL = srv.URL()
		return o
	}
	for name, o := range map[string]iam.TrustedProfileOptions{
		"by id":   {ProfileID: p.ID},
		"by name": {ProfileName: p.Name},
		"by CRN":  {ProfileCRN: p.CRN},
	} {
		t.Run(name, func(t *testing.T) {
			src, err := iam.NewTrustedProfileTokenSource(opts(o))
			if err != nil {
				t.Fatal(err)
			}
			tok, err := src.Token(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if tok.Lifetime() != 10*time.Minute {
				t.Errorf("lifetime = %v, want 10m", tok.Lifetime())
			}
			// The token acts as the profile.
			c, err := iam.New(iam.Options{AccountID: srv.AccountID(), URL: srv.URL(), TokenSource: src})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.EnsureServiceID(ctx(t), "from-profile-"+name, ""); err != nil {
				t.Errorf("call as the profile: %v", err)
			}
		})
	}

	// The requests are IAM's documented cr-token grant, the CR token
	// redacted in the server's log.
	grant := "cr_token=%5BREDACTED%5D&grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Acr-token&"
	want := []string{
		grant + "profile_crn=" + url.QueryEscape(p.CRN),
		grant + "profile_id=" + p.ID,
		grant + "profile_name=" + p.Name,
	}
	var forms []string
	for _, r := range srv.Requests() {
		if r.Op == iamtest.OpGetToken {
			forms = append(forms, r.Body)
		}
	}
	sort.Strings(forms)
	if diff := cmp.Diff(want, forms); diff != "" {
		t.Errorf("token request forms (-want +got):\n%s", diff)
	}

	tests := []struct {
		name   string
		opts   iam.TrustedProfileOptions
		token  string
		status int
		code   string
		is     error
	}{
		{"unknown profile", iam.TrustedProfileOptions{ProfileName: "nobody"}, "", 400, iamtest.CodeProfileNotFound, nil},
		{"profile does not trust the workload", iam.TrustedProfileOptions{ProfileID: other.ID}, "", 403, iamtest.CodeProfileNotTrusted, iam.ErrForbidden},
		{"token the server never issued", iam.TrustedProfileOptions{ProfileID: p.ID}, "eyJhbGciOiJIUzI1NiJ9.e30.c2ln", 400, iamtest.CodeInvalidCRToken, nil},
		{"expired token", iam.TrustedProfileOptions{ProfileID: p.ID}, srv.CRToken(workload, time.Nanosecond), 400, iamtest.CodeInvalidCRToken, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts(tt.opts)
			if tt.token != "" {
				o.CRTokenFile = writeCRToken(t, tt.token)
			}
			src, err := iam.NewTrustedProfileTokenSource(o)
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Token(ctx(t))
			var apiErr *iam.APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.status || apiErr.Code != tt.code || apiErr.TraceID == "" {
				t.Fatalf("error = %#v, want %d %s with a trace id", err, tt.status, tt.code)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not match %v", err, tt.is)
			}
		})
	}

	t.Run("missing token file", func(t *testing.T) {
		src, err := iam.NewTrustedProfileTokenSource(iam.TrustedProfileOptions{
			ProfileID: p.ID, CRTokenFile: filepath.Join(t.TempDir(), "absent"), TokenOptions: iam.TokenOptions{URL: srv.URL()},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Token(ctx(t)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error = %v, want fs.ErrNotExist", err)
		}
	})

	// The file is read again at every renewal: the platform rotates it.
	t.Run("rotated token file", func(t *testing.T) {
		srv.SetTokenLifetime(time.Second)
		defer srv.SetTokenLifetime(10 * time.Minute)
		rotating := writeCRToken(t, srv.CRToken(workload, 0))
		src, err := iam.NewTrustedProfileTokenSource(iam.TrustedProfileOptions{
			ProfileID: p.ID, CRTokenFile: rotating, TokenOptions: iam.TokenOptions{URL: srv.URL()},
		})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := src.Token(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(rotating, []byte("not-a-cr-token-any-more"), 0o600); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(tok.RenewAt()) + 50*time.Millisecond)
		if _, err := src.Token(ctx(t)); !hasCode(err, iamtest.CodeInvalidCRToken) {
			t.Errorf("renewal with the rotated file: %v, want %s", err, iamtest.CodeInvalidCRToken)
		}
	})
}

func hasCode(err error, code string) bool {
	var apiErr *iam.APIError
	return errors.As(err, &apiErr) && apiErr.Code == code
}

func TestTrustedProfileTokenSourceValidates(t *testing.T) {
	tests := []struct {
		name string
		opts iam.TrustedProfileOptions
		want []string
	}{
		{"no profile", iam.TrustedProfileOptions{}, []string{"opts.profileID"}},
		{"blank profile", iam.TrustedProfileOptions{ProfileName: "  "}, []string{"opts.profileID"}},
		{"two profiles", iam.TrustedProfileOptions{ProfileID: "Profile-1", ProfileName: "x"}, []string{"opts.profileName"}},
		{"http URL", iam.TrustedProfileOptions{ProfileID: "Profile-1", TokenOptions: iam.TokenOptions{URL: "http://iam.example.com"}}, []string{"opts.url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := iam.NewTrustedProfileTokenSource(tt.opts)
			if diff := cmp.Diff(tt.want, invalidFields(t, err)); diff != "" {
				t.Errorf("field errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAuthenticatorTokenSource(t *testing.T) {
	srv := iamtest.NewServer(iamtest.WithTokenLifetime(30 * time.Minute))
	t.Cleanup(srv.Close)

	t.Run("bearer token: expiry from its claims", func(t *testing.T) {
		jwt := srv.IssueToken(ownerIAMID)
		src, err := iam.NewAuthenticatorTokenSource(&core.BearerTokenAuthenticator{BearerToken: jwt})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := src.Token(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if tok.Value.Reveal() != jwt || tok.Lifetime() != 30*time.Minute {
			t.Errorf("token lifetime %v, want the bearer token with 30m", tok.Lifetime())
		}
	})
	t.Run("opaque bearer token: expiry unknown", func(t *testing.T) {
		src, err := iam.NewAuthenticatorTokenSource(&core.BearerTokenAuthenticator{BearerToken: "opaque-token-value"})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := src.Token(ctx(t))
		if err != nil || !tok.Expiry.IsZero() || !tok.ValidAt(time.Now()) {
			t.Errorf("Token = %v, %v: want an opaque token of unknown expiry", tok, err)
		}
	})
	t.Run("go-sdk-core IamAuthenticator", func(t *testing.T) {
		src, err := iam.NewAuthenticatorTokenSource(&core.IamAuthenticator{ApiKey: srv.AddAPIKey(ownerIAMID), URL: srv.URL()})
		if err != nil {
			t.Fatal(err)
		}
		if tok, err := src.Token(ctx(t)); err != nil || tok.Lifetime() != 30*time.Minute {
			t.Errorf("Token = %v, %v", tok, err)
		}
	})
	t.Run("go-sdk-core IamAuthenticator with an unknown key", func(t *testing.T) {
		src, err := iam.NewAuthenticatorTokenSource(&core.IamAuthenticator{ApiKey: "unknown-key-value", URL: srv.URL()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Token(ctx(t)); !errors.Is(err, iam.ErrUnauthorized) {
			t.Errorf("error = %v, want ErrUnauthorized", err)
		}
	})
	t.Run("go-sdk-core ContainerAuthenticator", func(t *testing.T) {
		p := srv.AddTrustedProfile("container", workload)
		src, err := iam.NewAuthenticatorTokenSource(&core.ContainerAuthenticator{
			IAMProfileName: p.Name, CRTokenFilename: writeCRToken(t, srv.CRToken(workload, 0)), URL: srv.URL(),
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Token(ctx(t)); err != nil {
			t.Errorf("Token: %v", err)
		}
	})
	t.Run("no bearer token", func(t *testing.T) {
		src, err := iam.NewAuthenticatorTokenSource(&core.NoAuthAuthenticator{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Token(ctx(t)); err == nil {
			t.Error("Token succeeded without a bearer token")
		}
	})
	t.Run("invalid", func(t *testing.T) {
		for _, a := range []core.Authenticator{nil, &core.IamAuthenticator{}, (*core.IamAuthenticator)(nil)} {
			_, err := iam.NewAuthenticatorTokenSource(a)
			if diff := cmp.Diff([]string{"authenticator"}, invalidFields(t, err)); diff != "" {
				t.Errorf("%T: field errors (-want +got):\n%s", a, diff)
			}
		}
	})
	t.Run("an authenticator that blocks", func(t *testing.T) {
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		src, err := iam.NewAuthenticatorTokenSource(blockingAuthenticator{release})
		if err != nil {
			t.Fatal(err)
		}
		c, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		if _, err := src.Token(c); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error = %v, want context.DeadlineExceeded", err)
		}
	})
}

// blockingAuthenticator does not return from Authenticate until release
// is closed.
type blockingAuthenticator struct{ release chan struct{} }

func (blockingAuthenticator) AuthenticationType() string { return "blocking" }
func (blockingAuthenticator) Validate() error            { return nil }
func (b blockingAuthenticator) Authenticate(*http.Request) error {
	<-b.release
	return errors.New("released")
}
