package iamtest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	grantAPIKey       = "urn:ibm:params:oauth:grant-type:apikey"
	grantCRToken      = "urn:ibm:params:oauth:grant-type:cr-token"
	grantRefreshToken = "refresh_token"
)

// DefaultTokenLifetime is how long the access tokens the server issues
// are valid unless WithTokenLifetime or SetTokenLifetime says otherwise:
// an hour, like IAM's.
const DefaultTokenLifetime = time.Hour

// Error codes of the token endpoint's trusted-profile (cr-token) grant.
// IAM documents the request and the error body ({"errorCode",
// "errorMessage", "context"}) and answers 400 to parameters that fail
// validation; these codes are plausible, not copied from IAM.
const (
	// CodePropertyMissing: a required form property (cr_token, or every
	// one of profile_id, profile_name and profile_crn) is missing. 400.
	CodePropertyMissing = "BXNIM0109E"
	// CodeInvalidCRToken: the cr_token is not a compute-resource token
	// the server issued, or it has expired. 400.
	CodeInvalidCRToken = "BXNIM0487E"
	// CodeProfileNotFound: no trusted profile has that id, name or CRN in
	// the compute resource's account. 400.
	CodeProfileNotFound = "BXNIM0488E"
	// CodeProfileNotTrusted: the profile exists but trusts no such
	// compute resource (no link, no matching trust rule). 403.
	CodeProfileNotTrusted = "BXNIM0489E"
)

type tokenInfo struct {
	iamID   string
	expires time.Time
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	Expiration   int64  `json:"expiration"`
	Scope        string `json:"scope"`
}

// token implements POST /identity/token for the apikey, refresh_token and
// cr-token grants.
func (s *Server) token(w http.ResponseWriter, r *http.Request, body []byte, _ string) {
	form, err := url.ParseQuery(string(body))
	if err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		s.writeTokenError(w, http.StatusBadRequest, CodePropertyMissing, "Property missing or empty.")
		return
	}
	var iamID string
	withRefresh := true
	grant := form.Get("grant_type")
	switch grant {
	case grantAPIKey:
		k := s.keyByValue(form.Get("apikey"))
		if k == nil {
			s.writeTokenError(w, http.StatusBadRequest, "BXNIM0415E", "Provided API key could not be found.")
			return
		}
		if k.Disabled {
			s.writeTokenError(w, http.StatusBadRequest, "BXNIM0430E", "Provided API key is disabled.")
			return
		}
		iamID = k.IAMID
	case grantRefreshToken:
		var ok bool
		if iamID, ok = s.refresh[form.Get("refresh_token")]; !ok {
			s.writeTokenError(w, http.StatusBadRequest, "BXNIM0407E", "Provided refresh token is invalid.")
			return
		}
	case grantCRToken:
		p, status, code, msg := s.profileForCRToken(form)
		if p == nil {
			s.writeTokenError(w, status, code, msg)
			return
		}
		iamID = p.IAMID
		withRefresh = false // IAM issues no refresh token for this grant
	default:
		s.writeTokenError(w, http.StatusBadRequest, "BXNIM0103E", "Unsupported grant type.")
		return
	}
	access, exp, lifetime := s.issue(iamID, grant)
	answer := tokenResponse{
		AccessToken: access, TokenType: "Bearer",
		ExpiresIn: int64(lifetime / time.Second), Expiration: exp.Unix(), Scope: "ibm openid",
	}
	if withRefresh {
		answer.RefreshToken = RefreshTokenPrefix + randomString(48)
		s.refresh[answer.RefreshToken] = iamID
	}
	s.writeJSON(w, http.StatusOK, answer)
}

// writeTokenError answers in the token service's shape:
// {"errorCode", "errorMessage", "context": {"requestId", ...}}.
func (s *Server) writeTokenError(w http.ResponseWriter, status int, code, msg string) {
	trace := s.traceID()
	w.Header().Set("Transaction-Id", trace)
	s.writeJSON(w, status, map[string]any{
		"errorCode":    code,
		"errorMessage": msg,
		"context":      map[string]any{"requestId": trace, "requestType": "incoming.Identity_Token"},
	})
}

// issue mints an access token for iamID: a JWT (HS256 with a per-server
// key) whose claims carry iam_id, account.bss, iat and exp as IAM's do. It
// returns the token, its expiry and its lifetime (whole seconds, as
// expires_in announces it).
func (s *Server) issue(iamID, grant string) (string, time.Time, time.Duration) {
	now := time.Now()
	lifetime := s.tokenLifetime.Round(time.Second)
	if lifetime < time.Second {
		lifetime = time.Second
	}
	exp := now.Add(lifetime)
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	subType := "user"
	switch {
	case strings.HasPrefix(iamID, "iam-ServiceId-"):
		subType = "ServiceId"
	case strings.HasPrefix(iamID, "iam-Profile-"):
		subType = "Profile"
	}
	head := enc(map[string]string{"alg": "HS256", "typ": "JWT", "kid": "iamtest"})
	claims := enc(map[string]any{
		"iam_id": iamID, "id": iamID, "sub": iamID, "sub_type": subType,
		"account": map[string]any{"bss": s.accountID, "valid": true},
		"iat":     now.Unix(), "exp": exp.Unix(),
		"iss": s.srv.URL + "/identity", "grant_type": grant,
		"scope": "ibm openid", "client_id": "default", "jti": randomString(16),
	})
	mac := hmac.New(sha256.New, s.signKey)
	mac.Write([]byte(head + "." + claims))
	tok := head + "." + claims + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	s.tokens[tok] = tokenInfo{iamID: iamID, expires: exp}
	s.issued = append(s.issued, tok)
	return tok, exp, lifetime
}

// authenticate checks the bearer token and returns its owner.
func (s *Server) authenticate(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	info, ok := s.tokens[tok]
	if !ok || time.Now().After(info.expires) {
		return "", false
	}
	return info.iamID, true
}

// IssueToken mints an access token for iamID without a key exchange, for
// clients that authenticate with core.BearerTokenAuthenticator.
func (s *Server) IssueToken(iamID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, _, _ := s.issue(iamID, grantAPIKey)
	return tok
}

// IssuedTokens returns every access token the server has issued, so a test
// can assert that none of them leaked into logs or errors.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// RevokeTokens invalidates every issued access token; the next call with
// one is answered 401.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// SetTokenLifetime changes the lifetime of the access tokens issued from
// now on (rounded to whole seconds, at least one): short-lived tokens let
// a test watch renewal happen. Tokens already issued keep theirs.
func (s *Server) SetTokenLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenLifetime = d
}

// WithTokenLifetime sets the lifetime of the access tokens the server
// issues (see SetTokenLifetime).
func WithTokenLifetime(d time.Duration) Option { return func(s *Server) { s.tokenLifetime = d } }
