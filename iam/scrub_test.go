package iam_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
)

// echoTransport stands for a server or proxy that repeats credentials in
// its error answers. It passes token requests to the fake IAM and
// remembers every credential it sees on the way (API key, CR token,
// access and refresh tokens); when armed, it answers every other request
// 500 with a body, a trace id and a header that repeat all of them,
// current and previous, and the request's Authorization header.
type echoTransport struct {
	next http.RoundTripper

	mu      sync.Mutex
	seen    []string
	armed   bool
	tokenOK bool // token requests pass; false: answer them with the echo too
}

func (e *echoTransport) remember(vs ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, v := range vs {
		if v != "" {
			e.seen = append(e.seen, v)
		}
	}
}

func (e *echoTransport) credentials() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.seen...)
}

func (e *echoTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	isToken := strings.HasSuffix(r.URL.Path, "/identity/token")
	if isToken && r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(b))
		e.remember(form.Get("apikey"), form.Get("cr_token"), form.Get("refresh_token"))
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	_, bearer, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	e.remember(bearer)

	e.mu.Lock()
	echo := e.armed && (!isToken || !e.tokenOK)
	e.mu.Unlock()
	if !echo {
		resp, err := e.next.RoundTrip(r)
		if err != nil || !isToken {
			return resp, err
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		var answer struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		}
		_ = json.Unmarshal(b, &answer)
		e.remember(answer.AccessToken, answer.RefreshToken)
		resp.Body = io.NopCloser(bytes.NewReader(b))
		return resp, nil
	}

	all := strings.Join(e.credentials(), " ")
	msg := "echo: Authorization: " + r.Header.Get("Authorization") + "; seen: " + all
	body := map[string]any{
		"trace":  all,
		"errors": []map[string]any{{"code": "echo " + all, "message": msg}},
		// The token service's shape, too.
		"errorCode": "BXNIM9999E " + all, "errorMessage": msg,
		"context": map[string]any{"requestId": all},
	}
	b, _ := json.Marshal(body)
	h := http.Header{"Content-Type": {"application/json"}, "Transaction-Id": {all}, "X-Echo": {all}}
	status := http.StatusInternalServerError
	if isToken {
		status = http.StatusBadRequest
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(bytes.NewReader(b)), Request: r}, nil
}

// outputs renders an error every way it can be printed or logged: every
// fmt verb, encoding/json, slog's text and JSON handlers, and each error
// in its tree.
func outputs(err error) []string {
	out := []string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		out = append(out, fmt.Sprintf(verb, err))
	}
	if b, jerr := json.Marshal(err); jerr == nil {
		out = append(out, string(b))
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Error("call failed", "err", err, "nested", map[string]any{"errs": []error{err}})
	slog.New(slog.NewTextHandler(&buf, nil)).Error("call failed", "err", err)
	out = append(out, buf.String())
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		out = append(out, e.Error(), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e))
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		}
	}
	walk(err)
	return out
}

// An IAM (or proxy) error answer that repeats the credentials the client
// holds or has held — its API key or CR token, its current and previous
// access tokens, refresh tokens — does not bring them into the error.
func TestAPIErrorScrubsEveryCredential(t *testing.T) {
	for _, kind := range credentialKinds[:2] { // API key, trusted profile
		t.Run(kind.name, func(t *testing.T) {
			srv := iamtest.NewServer(iamtest.WithTokenLifetime(time.Second))
			t.Cleanup(srv.Close)
			echo := &echoTransport{next: http.DefaultTransport, tokenOK: true}
			logs := &logBuffer{}
			opts := iam.Options{
				AccountID: srv.AccountID(), URL: srv.URL(), Retries: -1,
				HTTPClient: &http.Client{Transport: echo},
				Logger:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			}
			kind.set(t, srv, &opts)
			if opts.TokenSource != nil {
				// Route the profile's token requests through the echo too.
				opts.TokenSource = nil
				p := srv.TrustedProfiles()[0]
				src, err := iam.NewTrustedProfileTokenSource(iam.TrustedProfileOptions{
					ProfileID: p.ID, CRTokenFile: writeCRToken(t, srv.CRToken(workload, 0)),
					TokenOptions: iam.TokenOptions{URL: srv.URL(), HTTPClient: &http.Client{Transport: echo}},
				})
				if err != nil {
					t.Fatal(err)
				}
				opts.TokenSource = src
			}
			c, err := iam.New(opts)
			if err != nil {
				t.Fatal(err)
			}
			// Two tokens: one now, one after the first has expired.
			if _, err := c.ListServiceIDs(ctx(t)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(1100 * time.Millisecond)
			if _, err := c.ListServiceIDs(ctx(t)); err != nil {
				t.Fatal(err)
			}
			if n := srv.Calls(iamtest.OpGetToken); n != 2 {
				t.Fatalf("token requests = %d, want 2", n)
			}

			echo.mu.Lock()
			echo.armed = true
			echo.mu.Unlock()
			var errs []error
			_, err = c.ListServiceIDs(ctx(t))
			errs = append(errs, err)
			_, _, err = c.EnsureServiceID(ctx(t), "echoed", "")
			errs = append(errs, err)

			// The token service itself echoing the grant it was sent.
			time.Sleep(1100 * time.Millisecond)
			echo.mu.Lock()
			echo.tokenOK = false
			echo.mu.Unlock()
			_, err = c.ListServiceIDs(ctx(t))
			errs = append(errs, err)

			secrets := echo.credentials()
			if len(secrets) < 5 {
				t.Fatalf("the echo saw %d credentials, want key or CR token, 2 access tokens and more", len(secrets))
			}
			for i, err := range errs {
				var apiErr *iam.APIError
				if !errors.As(err, &apiErr) || !strings.Contains(apiErr.Message, "[REDACTED]") {
					t.Fatalf("call %d: error = %v, want an *APIError with the echo, redacted", i, err)
				}
				for _, out := range append(outputs(err), logs.String()) {
					for _, s := range secrets {
						if strings.Contains(out, s) {
							t.Errorf("call %d: a credential (%.6s...) leaked: %s", i, s, out)
						}
					}
				}
			}
		})
	}
}
