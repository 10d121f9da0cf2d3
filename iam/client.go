package iam

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/IBM/go-sdk-core/v5/core"
	"github.com/IBM/platform-services-go-sdk/iamidentityv1"
	"github.com/IBM/platform-services-go-sdk/iampolicymanagementv1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Endpoints of IBM Cloud IAM.
const (
	// PublicURL is the public IAM endpoint (Identity, Policy Management and
	// the token service).
	PublicURL = "https://iam.cloud.ibm.com"
	// PrivateURL is the IAM endpoint reachable over the IBM Cloud private
	// network (virtual private endpoints).
	PrivateURL = "https://private.iam.cloud.ibm.com"
)

// Defaults used when the corresponding Options field is zero.
const (
	DefaultRetries          = 4
	DefaultMaxRetryInterval = 30 * time.Second
)

// Options configure a Client. The zero value of every field is its default;
// AccountID and exactly one of APIKey, TokenSource or Authenticator are
// required.
type Options struct {
	// APIKey is an IBM Cloud API key. The Client exchanges it for access
	// tokens at TokenURL + "/identity/token" with NewAPIKeyTokenSource.
	APIKey Secret
	// TokenSource, if set, supplies the access tokens instead: a trusted
	// profile (NewTrustedProfileTokenSource), or any TokenSource. The
	// Client calls Token before every request, under the request's
	// context.
	TokenSource TokenSource
	// Authenticator, if set, supplies the access tokens instead, through
	// NewAuthenticatorTokenSource (for example a core.IamAuthenticator
	// with a refresh token, a trusted profile authenticator, or
	// core.BearerTokenAuthenticator). It must set a bearer token.
	Authenticator core.Authenticator
	// AccountID is the IBM Cloud account whose service IDs, API keys and
	// policies are managed. Required.
	AccountID string

	// URL is the IAM base URL. Empty means PublicURL, or PrivateURL when
	// Private is true.
	URL string
	// Private selects PrivateURL when URL is empty.
	Private bool
	// IdentityURL overrides the IAM Identity base URL (service IDs, API
	// keys). Empty means URL.
	IdentityURL string
	// PolicyURL overrides the IAM Policy Management base URL (policies,
	// roles). Empty means URL.
	PolicyURL string
	// TokenURL overrides the token service base URL used with APIKey (the
	// token source appends /identity/token). Empty means URL.
	//
	// URL, IdentityURL, PolicyURL and TokenURL must be https and carry no
	// userinfo; plain http is accepted only for a loopback host (an
	// iamtest server, a local proxy).
	TokenURL string

	// Retries is how many times a request is retried after a 429 or a 5xx
	// (other than 501) or a transport error, honouring Retry-After. Zero
	// means DefaultRetries; a negative value disables retries.
	Retries int
	// MaxRetryInterval caps the exponential backoff between retries (a
	// Retry-After given in seconds is honoured as sent). Zero means
	// DefaultMaxRetryInterval.
	MaxRetryInterval time.Duration

	// HTTPClient sends the requests (and the token requests when APIKey is
	// used). Nil means go-sdk-core's default client (and a client with
	// DefaultTokenTimeout for the token requests). Every request, token
	// requests included, also ends with the ctx of the call.
	HTTPClient *http.Client
	// Logger receives debug and warning records. Nil means silence. No
	// record ever contains a key or a token.
	Logger *slog.Logger
}

// Client manages service IDs, container-registry access policies and API
// keys in one IBM Cloud account. It is safe for concurrent use.
type Client struct {
	// identity retries 429/5xx itself; it serves the idempotent calls.
	identity *iamidentityv1.IamIdentityV1
	// identityOnce never retries: creating a service ID or an API key twice
	// creates two, so those calls retry in this package, re-reading first.
	identityOnce *iamidentityv1.IamIdentityV1
	policy       *iampolicymanagementv1.IamPolicyManagementV1

	accountID   string
	retries     int
	maxInterval time.Duration
	log         *slog.Logger
	// redact replaces every credential the client holds or has held (API
	// key, access, refresh and compute-resource tokens) in server-supplied
	// text. A closure, so that no fmt verb applied to a Client can print
	// the credentials it holds.
	redact func(string) string
	sleep  func(context.Context, time.Duration) error

	mu       sync.Mutex
	roleCRNs map[string]string // canonical role name → CRN
}

// New returns a Client. It validates the options (all problems at once,
// as a *registrykit.InvalidError) but does not contact IAM.
func New(opts Options) (*Client, error) {
	var errs field.ErrorList
	if strings.TrimSpace(opts.AccountID) == "" {
		errs = append(errs, field.Required(field.NewPath("accountID"), ""))
	}
	hasAuth := opts.Authenticator != nil && !core.IsNil(opts.Authenticator)
	hasSource := opts.TokenSource != nil && !core.IsNil(opts.TokenSource)
	switch n := btoi(!opts.APIKey.IsZero()) + btoi(hasSource) + btoi(hasAuth); {
	case n == 0:
		errs = append(errs, field.Required(field.NewPath("apiKey"), "one of apiKey, tokenSource or authenticator is required"))
	case n > 1:
		errs = append(errs, field.Forbidden(field.NewPath("authenticator"), "set only one of apiKey, tokenSource or authenticator"))
	case !opts.APIKey.IsZero():
		errs = append(errs, validAPIKey(field.NewPath("apiKey"), opts.APIKey)...)
	}
	if opts.MaxRetryInterval < 0 {
		errs = append(errs, field.Invalid(field.NewPath("maxRetryInterval"), opts.MaxRetryInterval, "must not be negative"))
	}
	for _, u := range []struct{ name, value string }{
		{"url", opts.URL}, {"identityURL", opts.IdentityURL}, {"policyURL", opts.PolicyURL}, {"tokenURL", opts.TokenURL},
	} {
		errs = append(errs, validEndpoint(field.NewPath(u.name), u.value)...)
	}
	if err := invalid("Options", errs); err != nil {
		return nil, err
	}

	base := opts.URL
	if base == "" {
		base = PublicURL
		if opts.Private {
			base = PrivateURL
		}
	}
	pick := func(u string) string {
		if u == "" {
			u = base
		}
		return strings.TrimSuffix(u, "/")
	}

	c := &Client{
		accountID:   opts.AccountID,
		retries:     opts.Retries,
		maxInterval: opts.MaxRetryInterval,
		log:         opts.Logger,
		sleep:       sleepCtx,
		roleCRNs:    map[string]string{},
	}
	if c.retries == 0 {
		c.retries = DefaultRetries
	}
	if c.retries < 0 {
		c.retries = 0
	}
	if c.maxInterval == 0 {
		c.maxInterval = DefaultMaxRetryInterval
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}

	// One token path: every credential becomes a TokenSource, and every
	// request is authenticated from it under the request's context.
	src := opts.TokenSource
	switch {
	case !opts.APIKey.IsZero():
		src = newAPIKeySource(opts.APIKey, tokenOptionsExchanger("get token (API key)", TokenOptions{
			URL: pick(opts.TokenURL), HTTPClient: opts.HTTPClient, Logger: c.log,
		}))
	case hasAuth:
		creds := &credentials{}
		rememberAuthenticatorSecrets(creds, opts.Authenticator)
		if err := opts.Authenticator.Validate(); err != nil {
			// The SDK's messages name properties, never their values.
			return nil, invalid("Options", field.ErrorList{
				field.Invalid(field.NewPath("authenticator"), field.OmitValueType{}, creds.scrub(err.Error())),
			})
		}
		src = authenticatorSource(opts.Authenticator, creds)
	}
	sent := &credentials{}
	c.redact = func(s string) string {
		s = sent.scrub(s)
		if sc, ok := src.(scrubber); ok {
			s = sc.scrub(s)
		}
		return s
	}
	auth := &sourceAuthenticator{src: src, creds: sent, scrub: c.redact}

	var err error
	newIdentity := func() *iamidentityv1.IamIdentityV1 {
		s, e := iamidentityv1.NewIamIdentityV1(&iamidentityv1.IamIdentityV1Options{
			URL: pick(opts.IdentityURL), Authenticator: auth,
		})
		if e != nil {
			err = errors.Join(err, e)
			return nil
		}
		if opts.HTTPClient != nil {
			s.Service.SetHTTPClient(opts.HTTPClient)
		}
		return s
	}
	c.identity = newIdentity()
	c.identityOnce = newIdentity()
	if err != nil {
		return nil, invalid("Options", field.ErrorList{
			field.Invalid(field.NewPath("identityURL"), field.OmitValueType{}, c.scrub(err.Error())),
		})
	}
	c.policy, err = iampolicymanagementv1.NewIamPolicyManagementV1(&iampolicymanagementv1.IamPolicyManagementV1Options{
		URL: pick(opts.PolicyURL), Authenticator: auth,
	})
	if err != nil {
		return nil, invalid("Options", field.ErrorList{
			field.Invalid(field.NewPath("policyURL"), field.OmitValueType{}, c.scrub(err.Error())),
		})
	}
	if opts.HTTPClient != nil {
		c.policy.Service.SetHTTPClient(opts.HTTPClient)
	}
	if c.retries > 0 {
		c.identity.Service.EnableRetries(c.retries, c.maxInterval)
		c.policy.Service.EnableRetries(c.retries, c.maxInterval)
	}
	return c, nil
}

// AccountID returns the account the client manages.
func (c *Client) AccountID() string { return c.accountID }

// backoff is the wait before retry number attempt (0-based) of a
// non-idempotent create: Retry-After if IAM sent one, else exponential from
// one second, capped at MaxRetryInterval.
func (c *Client) backoff(attempt int, e *APIError) time.Duration {
	if e != nil && e.retryAfter > 0 {
		return e.retryAfter
	}
	d := time.Second << min(attempt, 16)
	return min(d, c.maxInterval)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func ptr[T any](v T) *T { return &v }

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
