package iam

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/IBM/go-sdk-core/v5/core"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// NewAuthenticatorTokenSource returns a TokenSource backed by a go-sdk-core
// authenticator: each token is the bearer token the authenticator puts in
// an Authorization header. Its Expiry and IssuedAt come from the token's
// exp and iat claims (IAM's tokens are JWTs); an opaque token has an
// unknown Expiry and is asked of the authenticator at every call. An
// authenticator that sets no bearer token (core.NoAuthAuthenticator,
// core.BasicAuthenticator) makes every Token call fail.
//
// A *core.IamAuthenticator with an ApiKey and a *core.ContainerAuthenticator
// (trusted profile) are not called: their settings (URL, Client, Scope,
// Headers, client id and secret, key or profile and CR token file) are
// used by this package's own token exchange, which honours ctx and shares
// no lock with other clients; go-sdk-core's authenticators serialise every
// token request of the process behind one mutex and are bound only by
// their HTTP client's timeout. Those with DisableSSLVerification set are
// called as they are.
//
// Any other authenticator is called as it is, in a goroutine: Token
// returns when ctx ends, though the authenticator's own request goes on
// until its HTTP timeout. It validates the authenticator but does not
// contact IAM.
func NewAuthenticatorTokenSource(a core.Authenticator) (TokenSource, error) {
	p := field.NewPath("authenticator")
	if a == nil || core.IsNil(a) {
		return nil, invalid("NewAuthenticatorTokenSource", field.ErrorList{field.Required(p, "")})
	}
	creds := &credentials{}
	rememberAuthenticatorSecrets(creds, a)
	if err := a.Validate(); err != nil {
		// The SDK's messages name properties, never their values; scrub
		// anyway.
		return nil, invalid("NewAuthenticatorTokenSource",
			field.ErrorList{field.Invalid(p, field.OmitValueType{}, creds.scrub(err.Error()))})
	}
	return authenticatorSource(a, creds), nil
}

func authenticatorSource(a core.Authenticator, creds *credentials) *cachingSource {
	log := slog.New(slog.DiscardHandler)
	switch v := a.(type) {
	case *core.IamAuthenticator:
		if v.ApiKey != "" && !v.DisableSSLVerification {
			x := authenticatorExchanger("get token (API key)", v.URL, v.Client, creds)
			x.clientID, x.clientSecret, x.scope, x.headers = v.ClientId, NewSecret(v.ClientSecret), v.Scope, v.Headers
			return newAPIKeySource(NewSecret(v.ApiKey), x)
		}
	case *core.ContainerAuthenticator:
		if !v.DisableSSLVerification {
			op := "get token (trusted profile " + v.IAMProfileID + v.IAMProfileName + ")"
			x := authenticatorExchanger(op, v.URL, v.Client, creds)
			x.clientID, x.clientSecret, x.scope, x.headers = v.ClientID, NewSecret(v.ClientSecret), v.Scope, v.Headers
			return newTrustedProfileSource(TrustedProfileOptions{
				ProfileID: v.IAMProfileID, ProfileName: v.IAMProfileName, CRTokenFile: v.CRTokenFilename,
			}, x)
		}
	}
	op := "get token (" + a.AuthenticationType() + " authenticator)"
	return newCachingSource(op, creds, log, func(ctx context.Context) (Token, error) {
		return authenticate(ctx, op, a, creds)
	})
}

func authenticatorExchanger(op, base string, client *http.Client, creds *credentials) *exchanger {
	if base == "" {
		base = PublicURL
	}
	if client == nil {
		client = &http.Client{Timeout: DefaultTokenTimeout}
	}
	return &exchanger{op: op, endpoint: tokenEndpoint(base), client: client, creds: creds, log: slog.New(slog.DiscardHandler)}
}

// rememberAuthenticatorSecrets adds the credentials a go-sdk-core
// authenticator of a known type holds to creds.
func rememberAuthenticatorSecrets(creds *credentials, a core.Authenticator) {
	switch v := a.(type) {
	case *core.IamAuthenticator:
		creds.addPermanent(v.ApiKey)
		creds.addPermanent(v.RefreshToken)
		creds.addPermanent(v.ClientSecret)
	case *core.ContainerAuthenticator:
		creds.addPermanent(v.ClientSecret)
	case *core.BearerTokenAuthenticator:
		creds.addPermanent(v.BearerToken)
	case *core.BasicAuthenticator:
		creds.addPermanent(v.Password)
	}
}

// authenticate asks a go-sdk-core authenticator for a bearer token,
// giving up when ctx ends.
func authenticate(ctx context.Context, op string, a core.Authenticator, creds *credentials) (Token, error) {
	// The request is never sent: it only receives the header.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, PublicURL, nil)
	if err != nil {
		return Token{}, err
	}
	done := make(chan error, 1)
	go func() { done <- a.Authenticate(req) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		return Token{}, &APIError{Op: op, Message: ctx.Err().Error(), errs: []error{ctx.Err()}}
	}
	if err != nil {
		return Token{}, authenticatorError(ctx, op, err, creds)
	}
	scheme, value, _ := strings.Cut(req.Header.Get("Authorization"), " ")
	value = strings.TrimSpace(value)
	if !strings.EqualFold(scheme, "Bearer") || value == "" {
		return Token{}, &APIError{Op: op, Message: "the authenticator set no bearer token"}
	}
	creds.add(value)
	tok := Token{Value: NewSecret(value), IssuedAt: time.Now()}
	if c, ok := jwtClaims(value); ok {
		if c.Exp > 0 {
			tok.Expiry = time.Unix(c.Exp, 0)
		}
		if c.Iat > 0 {
			tok.IssuedAt = time.Unix(c.Iat, 0)
		}
	}
	if tok.Expiry.IsZero() {
		tok.IssuedAt = time.Time{}
	}
	return tok, nil
}

// authenticatorError turns a go-sdk-core authentication error into an
// *APIError. The SDK's error is not kept: its *core.HTTPProblem holds the
// token service's whole answer, which may echo a credential.
func authenticatorError(ctx context.Context, op string, err error, creds *credentials) *APIError {
	e := &APIError{Op: op}
	var ae *core.AuthenticationError
	if errors.As(err, &ae) && ae.HTTPProblem != nil && ae.Response != nil {
		e.StatusCode = ae.Response.StatusCode
		if m, ok := ae.Response.Result.(map[string]any); ok {
			e.Code, e.Message, e.TraceID = errorFields(m)
		}
		if e.TraceID == "" {
			e.TraceID = ae.Response.Headers.Get("Transaction-Id")
		}
	}
	if e.Message == "" {
		e.Message = err.Error()
	}
	e.Code, e.Message, e.TraceID = creds.scrub(e.Code), creds.scrub(e.Message), creds.scrub(e.TraceID)
	if ctx.Err() != nil {
		e.errs = append(e.errs, ctx.Err())
	}
	return e
}

// sourceAuthenticator is the core.Authenticator of a Client's SDK
// services: every request is authenticated with a token from the Client's
// TokenSource, fetched under that request's context.
type sourceAuthenticator struct {
	src   TokenSource
	creds *credentials // the tokens it has sent
	scrub func(string) string
}

func (*sourceAuthenticator) AuthenticationType() string { return "registrykit-token-source" }

func (*sourceAuthenticator) Validate() error { return nil }

func (a *sourceAuthenticator) Authenticate(req *http.Request) error {
	ctx := req.Context()
	var tok Token
	var err error
	if cs, ok := a.src.(*cachingSource); ok {
		tok, err = cs.usable(ctx)
	} else {
		tok, err = a.src.Token(ctx)
	}
	if err == nil && tok.IsZero() {
		err = &APIError{Op: "get token", Message: "the token source returned an empty token"}
	}
	if err != nil {
		return a.failure(ctx, err)
	}
	a.creds.add(tok.Value.Reveal())
	req.Header.Set("Authorization", "Bearer "+tok.Value.Reveal())
	return nil
}

// failure wraps a token error so that go-sdk-core carries it through:
// BaseService keeps the *core.HTTPProblem of a *core.AuthenticationError
// in the SDK error's chain (and an error wrapped by that problem), and
// drops any other error. newAPIError finds the *APIError in that chain.
func (a *sourceAuthenticator) failure(ctx context.Context, err error) error {
	var prob core.Problem
	if errors.As(err, &prob) {
		// An SDK problem from a TokenSource written elsewhere may hold an
		// HTTP answer; keep only its scrubbed message.
		e := &APIError{Op: "get token", Message: a.scrub(err.Error())}
		if ctx.Err() != nil {
			e.errs = append(e.errs, ctx.Err())
		}
		err = e
	}
	status := 0
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		status = apiErr.StatusCode
	}
	msg := a.scrub(err.Error())
	hp := &core.HTTPProblem{
		IBMProblem: core.IBMErrorf(err, core.NewProblemComponent("iam_identity_services", ""), msg, "registrykit-token-source"),
		Response:   &core.DetailedResponse{StatusCode: status},
	}
	return &core.AuthenticationError{Err: fmt.Errorf("%s", msg), HTTPProblem: hp}
}
