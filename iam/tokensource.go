package iam

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/IBM/go-sdk-core/v5/core"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit/internal/redact"
)

// TokenOptions configure how a token source reaches IAM's token service.
// The zero value talks to PublicURL.
type TokenOptions struct {
	// URL is the IAM base URL; the token service is at URL +
	// "/identity/token" (a URL that already ends so is taken as is).
	// Empty means PublicURL, or PrivateURL when Private is true. It must
	// be https without userinfo; plain http is accepted only for a
	// loopback host (an iamtest server, a local proxy).
	URL string
	// Private selects PrivateURL when URL is empty.
	Private bool
	// HTTPClient sends the token requests. Nil means a client with
	// DefaultTokenTimeout. Every request also ends with the ctx of the
	// Token call that caused it.
	HTTPClient *http.Client
	// Logger receives debug records (a token was obtained, its expiry)
	// and warnings (a background renewal failed). Nil means silence. No
	// record ever contains a credential.
	Logger *slog.Logger
}

// TrustedProfileOptions configure a token source for an IAM trusted
// profile, authenticated by the compute-resource token that the platform
// gives the workload (grant type urn:ibm:params:oauth:grant-type:cr-token).
// Exactly one of ProfileID, ProfileName and ProfileCRN is required.
type TrustedProfileOptions struct {
	// ProfileID selects the profile by id ("Profile-..."); it must be in
	// the account of the compute resource.
	ProfileID string
	// ProfileName selects the profile by name, looked up in the account of
	// the compute resource.
	ProfileName string
	// ProfileCRN selects the profile by CRN.
	ProfileCRN string
	// CRTokenFile is the file holding the compute-resource token, read
	// again for every request to IAM (the platform rotates it): on IBM
	// Cloud Kubernetes Service and Red Hat OpenShift on IBM Cloud, a
	// projected service account token with audience "iam". Empty means the
	// first that exists of the files go-sdk-core's ContainerAuthenticator
	// tries: /var/run/secrets/tokens/vault-token,
	// /var/run/secrets/tokens/sa-token and
	// /var/run/secrets/codeengine.cloud.ibm.com/compute-resource-token/token.
	CRTokenFile string
	// CRToken is the compute-resource token itself, for a token handed
	// over in memory rather than mounted: the service account token a
	// kubelet passes to an image credential provider in its request. When
	// set, no file is read; it cannot be combined with CRTokenFile.
	CRToken Secret

	TokenOptions
}

// defaultCRTokenFiles are go-sdk-core's ContainerAuthenticator defaults.
var defaultCRTokenFiles = []string{
	"/var/run/secrets/tokens/vault-token",
	"/var/run/secrets/tokens/sa-token",
	"/var/run/secrets/codeengine.cloud.ibm.com/compute-resource-token/token",
}

// maxCRToken caps how much of a compute-resource token file is read.
const maxCRToken = 64 << 10

// NewAPIKeyTokenSource returns a TokenSource that exchanges an API key for
// access tokens (grant type urn:ibm:params:oauth:grant-type:apikey), as
// `ibmcloud iam oauth-tokens` does. It validates its input but does not
// contact IAM. An API key IAM does not know is answered 400 BXNIM0415E:
// the *APIError matches ErrUnauthorized.
func NewAPIKeyTokenSource(apiKey Secret, opts TokenOptions) (TokenSource, error) {
	var errs field.ErrorList
	errs = append(errs, validAPIKey(field.NewPath("apiKey"), apiKey)...)
	errs = append(errs, validEndpoint(field.NewPath("opts", "url"), opts.URL)...)
	if err := invalid("NewAPIKeyTokenSource", errs); err != nil {
		return nil, err
	}
	return newAPIKeySource(apiKey, tokenOptionsExchanger("get token (API key)", opts)), nil
}

func newAPIKeySource(apiKey Secret, x *exchanger) *cachingSource {
	x.creds.addPermanent(apiKey.Reveal())
	return newCachingSource(x.op, x.creds, x.log, func(ctx context.Context) (Token, error) {
		return x.exchange(ctx, url.Values{"grant_type": {grantAPIKey}, "apikey": {apiKey.Reveal()}})
	})
}

// NewTrustedProfileTokenSource returns a TokenSource for a trusted
// profile: it reads the compute-resource token from opts.CRTokenFile (or
// takes opts.CRToken) and exchanges it, with the profile's id, name or
// CRN, for an access token of the profile. The workload needs no API key; the profile must trust
// the compute resource (a link or a trust rule). IAM issues no refresh
// token for this grant; the source asks again at each renewal. It
// validates its input but does not read the file or contact IAM.
func NewTrustedProfileTokenSource(opts TrustedProfileOptions) (TokenSource, error) {
	var errs field.ErrorList
	p := field.NewPath("opts")
	set := 0
	for _, v := range []string{opts.ProfileID, opts.ProfileName, opts.ProfileCRN} {
		if strings.TrimSpace(v) != "" {
			set++
		}
	}
	switch {
	case set == 0:
		errs = append(errs, field.Required(p.Child("profileID"), "one of profileID, profileName or profileCRN is required"))
	case set > 1:
		errs = append(errs, field.Forbidden(p.Child("profileName"), "set only one of profileID, profileName or profileCRN"))
	}
	if !opts.CRToken.IsZero() && opts.CRTokenFile != "" {
		errs = append(errs, field.Forbidden(p.Child("crToken"), "set only one of crToken or crTokenFile"))
	}
	errs = append(errs, validEndpoint(p.Child("url"), opts.URL)...)
	if err := invalid("NewTrustedProfileTokenSource", errs); err != nil {
		return nil, err
	}
	op := "get token (trusted profile " + strings.TrimSpace(opts.ProfileID+opts.ProfileName+opts.ProfileCRN) + ")"
	return newTrustedProfileSource(opts, tokenOptionsExchanger(op, opts.TokenOptions)), nil
}

func newTrustedProfileSource(opts TrustedProfileOptions, x *exchanger) *cachingSource {
	x.creds.addPermanent(opts.CRToken.Reveal())
	x.creds.addPermanent(strings.TrimSpace(opts.CRToken.Reveal()))
	return newCachingSource(x.op, x.creds, x.log, func(ctx context.Context) (Token, error) {
		cr := strings.TrimSpace(opts.CRToken.Reveal())
		if cr == "" {
			var err error
			if cr, err = readCRToken(opts.CRTokenFile); err != nil {
				return Token{}, fmt.Errorf("iam: %s: %w", x.op, err)
			}
			x.creds.add(cr)
		}
		form := url.Values{"grant_type": {grantCRToken}, "cr_token": {cr}}
		for k, v := range map[string]string{"profile_id": opts.ProfileID, "profile_name": opts.ProfileName, "profile_crn": opts.ProfileCRN} {
			if v = strings.TrimSpace(v); v != "" {
				form.Set(k, v)
			}
		}
		return x.exchange(ctx, form)
	})
}

// readCRToken reads the compute-resource token from file, or from the
// first default file that exists.
func readCRToken(file string) (string, error) {
	files := []string{file}
	if file == "" {
		files = defaultCRTokenFiles
	}
	var errs []error
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		b, err := io.ReadAll(io.LimitReader(f, maxCRToken))
		_ = f.Close()
		if err != nil {
			return "", fmt.Errorf("read compute-resource token: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("compute-resource token file %s is empty", name)
		}
		return tok, nil
	}
	return "", fmt.Errorf("read compute-resource token: %w", errors.Join(errs...))
}

// tokenOptionsExchanger builds the exchanger of validated options.
func tokenOptionsExchanger(op string, opts TokenOptions) *exchanger {
	base := opts.URL
	if base == "" {
		base = PublicURL
		if opts.Private {
			base = PrivateURL
		}
	}
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: DefaultTokenTimeout}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &exchanger{op: op, endpoint: tokenEndpoint(base), client: client, creds: &credentials{}, log: log}
}

func tokenEndpoint(base string) string {
	return strings.TrimSuffix(strings.TrimSuffix(base, "/"), tokenPath) + tokenPath
}

// validAPIKey refuses an empty key and one that starts or ends with a
// brace or a quote (a JSON value pasted whole), as go-sdk-core does. The
// value is never echoed.
func validAPIKey(p *field.Path, key Secret) field.ErrorList {
	switch {
	case key.IsZero():
		return field.ErrorList{field.Required(p, "")}
	case core.HasBadFirstOrLastChar(key.Reveal()):
		return field.ErrorList{field.Invalid(p, field.OmitValueType{}, "must not start or end with a brace or a quote")}
	}
	return nil
}

// validEndpoint checks a base URL given by the user: absolute, https (http
// only to a loopback host), no userinfo, no query or fragment. An empty
// URL is valid (a default applies). The URL is echoed with any userinfo
// removed.
func validEndpoint(p *field.Path, raw string) field.ErrorList {
	if raw == "" {
		return nil
	}
	shown := redact.Userinfo(raw)
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return field.ErrorList{field.Invalid(p, shown, "must be an absolute https URL")}
	}
	var errs field.ErrorList
	if u.User != nil {
		errs = append(errs, field.Invalid(p, shown, "must not contain userinfo"))
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			errs = append(errs, field.Invalid(p, shown, "must use https (http is accepted only for a loopback host)"))
		}
	default:
		errs = append(errs, field.Invalid(p, shown, "must use https"))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, field.Invalid(p, shown, "must not have a query or a fragment"))
	}
	return errs
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
