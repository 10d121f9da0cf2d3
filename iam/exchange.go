package iam

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// tokenPath is where IAM's token service answers, under the IAM base URL.
const tokenPath = "/identity/token"

// Grant types of IAM's token service.
const (
	grantAPIKey  = "urn:ibm:params:oauth:grant-type:apikey"
	grantCRToken = "urn:ibm:params:oauth:grant-type:cr-token"
)

// DefaultTokenTimeout bounds one token request when TokenOptions.HTTPClient
// is nil and the caller's ctx has no earlier deadline.
const DefaultTokenTimeout = 30 * time.Second

// maxTokenAnswer caps how much of a token service answer is read.
const maxTokenAnswer = 1 << 20

const userAgent = "registrykit-iam-token-source"

// exchanger sends one grant to IAM's token service and turns the answer
// into a Token or an *APIError.
type exchanger struct {
	op       string // names the grant in errors: "get token (API key)"
	endpoint string // <base>/identity/token
	client   *http.Client
	creds    *credentials
	log      *slog.Logger

	// Set only for sources converted from go-sdk-core authenticators.
	clientID     string
	clientSecret Secret
	scope        string
	headers      map[string]string
}

// tokenAnswer is the token service's success body.
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int64  `json:"expires_in"`
	Expiration   int64  `json:"expiration"`
}

func (x *exchanger) exchange(ctx context.Context, form url.Values) (Token, error) {
	if x.scope != "" {
		form.Set("scope", x.scope)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, x.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return Token{}, x.failed(ctx, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	for k, v := range x.headers {
		req.Header.Set(k, v)
	}
	if x.clientID != "" {
		req.SetBasicAuth(x.clientID, x.clientSecret.Reveal())
	}
	sent := time.Now()
	resp, err := x.client.Do(req)
	if err != nil {
		return Token{}, x.failed(ctx, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenAnswer))
	if err != nil {
		return Token{}, x.failed(ctx, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Token{}, x.refused(ctx, resp, raw)
	}
	var a tokenAnswer
	if err := json.Unmarshal(raw, &a); err != nil || a.AccessToken == "" {
		return Token{}, &APIError{Op: x.op, StatusCode: resp.StatusCode, Message: "the answer holds no access token"}
	}
	x.creds.add(a.AccessToken)
	x.creds.add(a.RefreshToken)
	tok := Token{Value: NewSecret(a.AccessToken), IssuedAt: sent}
	switch {
	case a.ExpiresIn > 0:
		tok.Expiry = sent.Add(time.Duration(a.ExpiresIn) * time.Second)
	case a.Expiration > 0:
		tok.Expiry = time.Unix(a.Expiration, 0)
	default:
		if c, ok := jwtClaims(a.AccessToken); ok && c.Exp > 0 {
			tok.Expiry = time.Unix(c.Exp, 0)
		}
	}
	if tok.Expiry.IsZero() {
		return Token{}, &APIError{Op: x.op, StatusCode: resp.StatusCode, Message: "the answer gives no expiry"}
	}
	x.log.DebugContext(ctx, "got IAM access token", "op", x.op, "expiry", tok.Expiry, "lifetime", tok.Lifetime())
	return tok, nil
}

// failed reports a request that got no answer. The error wraps err (a
// *url.Error naming the token endpoint) and, when ctx ended the request,
// ctx.Err().
func (x *exchanger) failed(ctx context.Context, err error) *APIError {
	e := &APIError{Op: x.op, Message: x.creds.scrub(err.Error()), errs: []error{scrubbedError{err, x.creds}}}
	if ctx.Err() != nil {
		e.errs = append(e.errs, ctx.Err())
	}
	return e
}

// refused reports an error answer of the token service:
// {"errorCode", "errorMessage", "context": {"requestId"}}.
func (x *exchanger) refused(ctx context.Context, resp *http.Response, raw []byte) *APIError {
	e := &APIError{Op: x.op, StatusCode: resp.StatusCode}
	var m map[string]any
	if json.Unmarshal(raw, &m) == nil {
		e.Code, e.Message, e.TraceID = errorFields(m)
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	if e.TraceID == "" {
		e.TraceID = resp.Header.Get("Transaction-Id")
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			e.retryAfter = time.Duration(n) * time.Second
		}
	}
	e.Code, e.Message, e.TraceID = x.creds.scrub(e.Code), x.creds.scrub(e.Message), x.creds.scrub(e.TraceID)
	if ctx.Err() != nil {
		e.errs = append(e.errs, ctx.Err())
	}
	return e
}

// scrubbedError keeps an error in a chain (errors.Is and As still see
// it) while its message is scrubbed of credentials.
type scrubbedError struct {
	err   error
	creds *credentials
}

func (e scrubbedError) Error() string { return e.creds.scrub(e.err.Error()) }
func (e scrubbedError) Unwrap() error { return e.err }

// claims are the JWT claims this package reads. Nothing is verified: the
// token service is trusted, and the claims only inform renewal.
type claims struct {
	Exp int64 `json:"exp"`
	Iat int64 `json:"iat"`
}

func jwtClaims(tok string) (claims, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return claims{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return claims{}, false
	}
	var c claims
	if err := json.Unmarshal(raw, &c); err != nil {
		return claims{}, false
	}
	return c, true
}
