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
	grantRefreshToken = "refresh_token"
	tokenLifetime     = time.Hour
)

type tokenInfo struct {
	iamID   string
	expires time.Time
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	Expiration   int64  `json:"expiration"`
	Scope        string `json:"scope"`
}

// token implements POST /identity/token for the apikey and refresh_token
// grants.
func (s *Server) token(w http.ResponseWriter, r *http.Request, body []byte, _ string) {
	form, err := url.ParseQuery(string(body))
	if err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		s.writeTokenError(w, http.StatusBadRequest, "BXNIM0109E", "Property missing or empty.")
		return
	}
	var iamID string
	switch form.Get("grant_type") {
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
	default:
		s.writeTokenError(w, http.StatusBadRequest, "BXNIM0103E", "Unsupported grant type.")
		return
	}
	access, exp := s.issue(iamID)
	refresh := RefreshTokenPrefix + randomString(48)
	s.refresh[refresh] = iamID
	s.writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken: access, RefreshToken: refresh, TokenType: "Bearer",
		ExpiresIn: int64(tokenLifetime / time.Second), Expiration: exp.Unix(), Scope: "ibm openid",
	})
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
// key) whose claims carry iam_id, account.bss, iat and exp as IAM's do.
func (s *Server) issue(iamID string) (string, time.Time) {
	now := time.Now()
	exp := now.Add(tokenLifetime)
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	subType := "user"
	if strings.HasPrefix(iamID, "iam-ServiceId-") {
		subType = "ServiceId"
	}
	head := enc(map[string]string{"alg": "HS256", "typ": "JWT", "kid": "iamtest"})
	claims := enc(map[string]any{
		"iam_id": iamID, "id": iamID, "sub": iamID, "sub_type": subType,
		"account": map[string]any{"bss": s.accountID, "valid": true},
		"iat":     now.Unix(), "exp": exp.Unix(),
		"iss": s.srv.URL + "/identity", "grant_type": grantAPIKey,
		"scope": "ibm openid", "client_id": "default", "jti": randomString(16),
	})
	mac := hmac.New(sha256.New, s.signKey)
	mac.Write([]byte(head + "." + claims))
	tok := head + "." + claims + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	s.tokens[tok] = tokenInfo{iamID: iamID, expires: exp}
	s.issued = append(s.issued, tok)
	return tok, exp
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
	tok, _ := s.issue(iamID)
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
