package iamtest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultAccountID is the account the server manages unless WithAccountID
// says otherwise.
const DefaultAccountID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"

// Operation names, as the SDK names them. They label the request log and
// select calls for fault injection.
const (
	OpGetToken          = "GetToken"
	OpListServiceIDs    = "ListServiceIds"
	OpCreateServiceID   = "CreateServiceID"
	OpGetServiceID      = "GetServiceID"
	OpDeleteServiceID   = "DeleteServiceID"
	OpListAPIKeys       = "ListAPIKeys"
	OpCreateAPIKey      = "CreateAPIKey"
	OpGetAPIKey         = "GetAPIKey"
	OpGetAPIKeysDetails = "GetAPIKeysDetails"
	OpDeleteAPIKey      = "DeleteAPIKey"
	OpListPolicies      = "ListPolicies"
	OpCreatePolicy      = "CreatePolicy"
	OpGetPolicy         = "GetPolicy"
	OpDeletePolicy      = "DeletePolicy"
	OpListRoles         = "ListRoles"
	OpListV2Policies    = "ListV2Policies"
	OpGetV2Policy       = "GetV2Policy"
	OpDeleteV2Policy    = "DeleteV2Policy"
)

const redacted = "[REDACTED]"

// Server is an in-memory fake of IBM Cloud IAM: the token service, IAM
// Identity (service IDs, API keys) and IAM Policy Management (policies,
// roles). It is safe for concurrent use.
type Server struct {
	srv       *httptest.Server
	accountID string
	signKey   []byte

	mu         sync.Mutex
	seq        int          // object ids
	traceSeq   int          // trace ids
	serviceIDs []*serviceID // creation order
	apiKeys    []*apiKey    // creation order
	policies   []*policy    // creation order
	tokens     map[string]tokenInfo
	refresh    map[string]string // refresh token → iam_id
	issued     []string
	requests   []Request
	faults     []*armedFault
	calls      map[string]int

	tokenLifetime time.Duration
	profiles      []*TrustedProfile
	crTokens      map[string]crToken // compute-resource token → what it vouches for
	outages       map[string]*outage // operation → its outage

	apiKeyLimit    int // API keys per identity
	serviceIDLimit int // service IDs per account
}

// Option configures a Server.
type Option func(*Server)

// WithAccountID sets the one account the server manages.
func WithAccountID(id string) Option { return func(s *Server) { s.accountID = id } }

// NewServer starts a fake IAM. Close it when done.
func NewServer(opts ...Option) *Server {
	s := &Server{
		accountID: DefaultAccountID,
		signKey:   []byte(randomString(32)),
		tokens:    map[string]tokenInfo{},
		refresh:   map[string]string{},
		calls:     map[string]int{},

		tokenLifetime: DefaultTokenLifetime,
		crTokens:      map[string]crToken{},
		outages:       map[string]*outage{},

		apiKeyLimit:    DefaultAPIKeyLimit,
		serviceIDLimit: DefaultServiceIDLimit,
	}
	for _, o := range opts {
		o(s)
	}
	mux := http.NewServeMux()
	s.route(mux, "POST /identity/token", OpGetToken, false, s.token)
	for _, p := range []string{"/v1/serviceids/{$}", "/v1/serviceids"} {
		s.route(mux, "GET "+p, OpListServiceIDs, true, s.listServiceIDs)
		s.route(mux, "POST "+p, OpCreateServiceID, true, s.createServiceID)
	}
	s.route(mux, "GET /v1/serviceids/{id}", OpGetServiceID, true, s.getServiceID)
	s.route(mux, "DELETE /v1/serviceids/{id}", OpDeleteServiceID, true, s.deleteServiceID)
	s.route(mux, "GET /v1/apikeys", OpListAPIKeys, true, s.listAPIKeys)
	s.route(mux, "POST /v1/apikeys", OpCreateAPIKey, true, s.createAPIKey)
	s.route(mux, "GET /v1/apikeys/details", OpGetAPIKeysDetails, true, s.apiKeyDetails)
	s.route(mux, "GET /v1/apikeys/{id}", OpGetAPIKey, true, s.getAPIKey)
	s.route(mux, "DELETE /v1/apikeys/{id}", OpDeleteAPIKey, true, s.deleteAPIKey)
	s.route(mux, "GET /v1/policies", OpListPolicies, true, s.listPolicies)
	s.route(mux, "POST /v1/policies", OpCreatePolicy, true, s.createPolicy)
	s.route(mux, "GET /v1/policies/{id}", OpGetPolicy, true, s.getPolicy)
	s.route(mux, "DELETE /v1/policies/{id}", OpDeletePolicy, true, s.deletePolicy)
	s.route(mux, "GET /v2/roles", OpListRoles, true, s.listRoles)
	s.route(mux, "GET /v2/policies", OpListV2Policies, true, s.listV2Policies)
	s.route(mux, "GET /v2/policies/{id}", OpGetV2Policy, true, s.getV2Policy)
	s.route(mux, "DELETE /v2/policies/{id}", OpDeleteV2Policy, true, s.deletePolicy)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.record(r, "", readBody(r), http.StatusNotFound)
		s.writeError(w, http.StatusNotFound, "not_found", "no such operation: "+r.Method+" "+r.URL.Path)
	})
	s.srv = httptest.NewServer(mux)
	return s
}

// URL is the server's base URL: use it as iam.Options.URL (token service,
// Identity and Policy Management all live under it, as on iam.cloud.ibm.com).
func (s *Server) URL() string { return s.srv.URL }

// AccountID is the account the server manages.
func (s *Server) AccountID() string { return s.accountID }

// Close shuts the server down. Requests held by an Outage with status 0
// are answered 503 first.
func (s *Server) Close() {
	s.mu.Lock()
	for op, o := range s.outages {
		o.end()
		delete(s.outages, op)
	}
	s.mu.Unlock()
	s.srv.Close()
}

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// handler runs with s.mu held. caller is the IAM ID of the bearer token's
// owner ("" for the token endpoint).
type handler func(w http.ResponseWriter, r *http.Request, body []byte, caller string)

// route registers h behind request logging, fault injection and (if auth)
// the bearer token check.
func (s *Server) route(mux *http.ServeMux, pattern, op string, auth bool, h handler) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		body := readBody(r)
		s.mu.Lock()
		if o := s.outages[op]; o != nil {
			s.calls[op]++
			s.serveOutage(w, r, op, body, o) // unlocks s.mu
			return
		}
		defer s.mu.Unlock()
		s.calls[op]++
		fault := s.takeFault(op, s.calls[op])
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() { s.record(r, op, body, rec.status) }()
		s.serve(rec, r, op, auth, body, fault, h)
	})
}

func (s *Server) serve(w *statusWriter, r *http.Request, op string, auth bool, body []byte, fault *Fault, h handler) {
	if fault != nil && !fault.AfterApply {
		s.writeFault(w, op, fault)
		return
	}
	caller := ""
	if auth {
		var ok bool
		caller, ok = s.authenticate(r)
		if !ok {
			s.writeError(w, http.StatusUnauthorized, "BXNIM0308E", "Bearer token missing, invalid or expired.")
			return
		}
	}
	if fault != nil {
		// Apply the operation, throw its answer away, then fail: the
		// ambiguous outcome a client cannot tell from a real failure.
		h(httptest.NewRecorder(), r, body, caller)
		s.writeFault(w, op, fault)
		return
	}
	h(w, r, body, caller)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func readBody(r *http.Request) []byte {
	if r.Body == nil {
		return nil
	}
	b, _ := io.ReadAll(r.Body)
	_ = r.Body.Close()
	return b
}

// ---- faults ----

// Fault makes the server fail one call of an operation.
type Fault struct {
	// Op is the operation (OpCreateServiceID, ...).
	Op string
	// Nth selects the call: 1 is the next call of Op after Inject, 2 the
	// one after that, and so on.
	Nth int
	// Status is the HTTP status to answer (e.g. 500, 429, 403).
	Status int
	// Code is the IAM error code in the body; empty picks one for Status.
	Code string
	// RetryAfter, if not empty, is sent as the Retry-After header.
	RetryAfter string
	// AfterApply performs the operation (the state changes) before
	// answering Status: a create that succeeded but was reported failed.
	AfterApply bool
}

type armedFault struct {
	Fault
	call int // absolute call number of Op that fails
}

// Inject arms a fault. Each fault fires once.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Nth < 1 {
		f.Nth = 1
	}
	s.faults = append(s.faults, &armedFault{Fault: f, call: s.calls[f.Op] + f.Nth})
}

// Fail makes the nth next call of op answer status.
func (s *Server) Fail(op string, nth, status int) {
	s.Inject(Fault{Op: op, Nth: nth, Status: status})
}

// RateLimit makes the nth next call of op answer 429 with Retry-After set
// to retryAfter seconds.
func (s *Server) RateLimit(op string, nth, retryAfter int) {
	s.Inject(Fault{Op: op, Nth: nth, Status: http.StatusTooManyRequests, RetryAfter: strconv.Itoa(retryAfter)})
}

// FailAfterApply makes the nth next call of op take effect and then answer
// status (typically 500): the ambiguous failure of a write.
func (s *Server) FailAfterApply(op string, nth, status int) {
	s.Inject(Fault{Op: op, Nth: nth, Status: status, AfterApply: true})
}

func (s *Server) takeFault(op string, call int) *Fault {
	for i, f := range s.faults {
		if f.Op == op && f.call == call {
			s.faults = slices.Delete(s.faults, i, i+1)
			return &f.Fault
		}
	}
	return nil
}

func (s *Server) writeFault(w http.ResponseWriter, op string, f *Fault) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	code := f.Code
	if code == "" {
		code = defaultCode(f.Status)
	}
	msg := fmt.Sprintf("injected fault: %s answered %d", op, f.Status)
	if op == OpGetToken {
		s.writeTokenError(w, f.Status, code, msg)
		return
	}
	s.writeError(w, f.Status, code, msg)
}

func defaultCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusConflict:
		return "conflict"
	case http.StatusTooManyRequests:
		return "too_many_requests"
	case http.StatusServiceUnavailable:
		return "service_unavailable"
	}
	return "internal_server_error"
}

// ---- outages ----

// outage is an Outage in force for one operation.
type outage struct {
	status  int           // 0: hang
	release chan struct{} // closed when the outage ends
	once    sync.Once
}

func (o *outage) end() { o.once.Do(func() { close(o.release) }) }

// Outage makes every call of op fail until Resume(op) (use OpGetToken for
// an IAM token service outage). A status above zero answers that status
// at once, with IAM's error body for op (Retry-After is not sent). Status
// 0 is a hung service: the request is accepted and never answered, until
// the client gives up (its request context ends), Resume is called, or
// the server is closed; the last two answer 503. Calls made during an
// outage count for Calls and appear in Requests (Status 0 while hung).
func (s *Server) Outage(op string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.outages[op]; o != nil {
		o.end()
	}
	s.outages[op] = &outage{status: status, release: make(chan struct{})}
}

// Resume ends the outage of op; hung requests are answered 503.
func (s *Server) Resume(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.outages[op]; o != nil {
		o.end()
		delete(s.outages, op)
	}
}

// serveOutage answers a call of op during its outage. It is called with
// s.mu held and unlocks it (a hung request must not hold the server).
func (s *Server) serveOutage(w http.ResponseWriter, r *http.Request, op string, body []byte, o *outage) {
	if o.status > 0 {
		defer s.mu.Unlock()
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		s.writeFault(rec, op, &Fault{Op: op, Status: o.status, Code: defaultCode(o.status)})
		s.record(r, op, body, rec.status)
		return
	}
	s.record(r, op, body, 0)
	s.mu.Unlock()
	select {
	case <-r.Context().Done():
		return
	case <-o.release:
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writeFault(w, op, &Fault{Op: op, Status: http.StatusServiceUnavailable, Code: "service_unavailable"})
}

// ---- responses ----

func (s *Server) traceID() string {
	s.traceSeq++
	return fmt.Sprintf("iamtest-%06d", s.traceSeq)
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	if w.Header().Get("Transaction-Id") == "" {
		w.Header().Set("Transaction-Id", s.traceID())
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type errorItem struct {
	Code        string         `json:"code"`
	MessageCode string         `json:"message_code,omitempty"`
	Message     string         `json:"message"`
	Details     map[string]any `json:"details,omitempty"`
}

type errorBody struct {
	Trace      string      `json:"trace"`
	Errors     []errorItem `json:"errors"`
	StatusCode int         `json:"status_code"`
}

// writeError answers in the shape IAM Identity and Policy Management use:
// {"trace": ..., "errors": [{"code", "message"}], "status_code": ...}.
func (s *Server) writeError(w http.ResponseWriter, status int, code, msg string) {
	s.writeErrorItem(w, status, errorItem{Code: code, Message: msg})
}

func (s *Server) writeErrorItem(w http.ResponseWriter, status int, item errorItem) {
	trace := s.traceID()
	w.Header().Set("Transaction-Id", trace)
	s.writeJSON(w, status, errorBody{Trace: trace, Errors: []errorItem{item}, StatusCode: status})
}

// ---- request log ----

// Request is one request as the client sent it, with credentials redacted:
// the Authorization and IAM-ApiKey headers, apikey/refresh_token form and
// JSON fields, and any API key value or token the server knows of,
// wherever it appears.
type Request struct {
	// Op is the operation ("" for an unknown path).
	Op     string
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	// Body is the request body (form or JSON), redacted.
	Body string
	// Status is what the server answered.
	Status int
}

// Requests returns the request log, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Query = cloneValues(r.Query)
		r.Header = r.Header.Clone()
		out[i] = r
	}
	return out
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// Calls returns how many calls of op the server has received.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

func (s *Server) record(r *http.Request, op string, body []byte, status int) {
	req := Request{
		Op: op, Method: r.Method, Path: r.URL.Path, Status: status,
		Query:  cloneValues(r.URL.Query()),
		Header: r.Header.Clone(),
		Body:   redactBody(r.Header.Get("Content-Type"), body),
	}
	for k, vs := range req.Header {
		for i, v := range vs {
			switch http.CanonicalHeaderKey(k) {
			case "Authorization":
				scheme, _, _ := strings.Cut(v, " ")
				v = scheme + " " + redacted
			case "Iam-Apikey":
				v = redacted
			}
			vs[i] = s.scrub(v)
		}
	}
	for _, vs := range req.Query {
		for i, v := range vs {
			vs[i] = s.scrub(v)
		}
	}
	req.Body = s.scrub(req.Body)
	s.requests = append(s.requests, req)
}

// secretFields are the form and JSON fields whose values are credentials.
var secretFields = map[string]bool{"apikey": true, "refresh_token": true, "access_token": true, "cr_token": true, "password": true, "client_secret": true}

func redactBody(contentType string, body []byte) string {
	if len(body) == 0 {
		return ""
	}
	if strings.HasPrefix(contentType, "application/x-www-form-urlencoded") {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return redacted
		}
		for k := range form {
			if secretFields[k] {
				form[k] = []string{redacted}
			}
		}
		return form.Encode()
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return string(body)
	}
	out, _ := json.Marshal(redactJSON(v))
	return string(out)
}

func redactJSON(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if _, isString := x.(string); isString && secretFields[k] {
				t[k] = redacted
			} else {
				t[k] = redactJSON(x)
			}
		}
	case []any:
		for i := range t {
			t[i] = redactJSON(t[i])
		}
	}
	return v
}

// scrub replaces every API key value and token the server knows with
// [REDACTED].
func (s *Server) scrub(v string) string {
	if v == "" {
		return v
	}
	for _, k := range s.apiKeys {
		v = strings.ReplaceAll(v, k.value, redacted)
	}
	for _, t := range s.issued {
		v = strings.ReplaceAll(v, t, redacted)
	}
	for t := range s.refresh {
		v = strings.ReplaceAll(v, t, redacted)
	}
	for t := range s.crTokens {
		v = strings.ReplaceAll(v, t, redacted)
	}
	return v
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// ---- helpers ----

func (s *Server) nextID() string {
	s.seq++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", s.seq)
}

// KeyPrefix starts the value of every API key the server mints: the keys
// of AddAPIKey and of POST /v1/apikeys. The rest of the value is random, so
// no test can know a minted key in advance, but any test can recognise one
// wherever it appears (output, logs, errors) by this prefix.
const KeyPrefix = "iamtest-apikey-"

// RefreshTokenPrefix starts every refresh token the token endpoint issues,
// so a test can recognise one wherever it appears, as with KeyPrefix.
// (Access tokens are JWTs: recognisable by their shape.)
const RefreshTokenPrefix = "iamtest-refresh-"

// keyLength is the length of a minted key value, that of a real IBM Cloud
// API key.
const keyLength = 44

// newKeyValue returns a fresh key value: KeyPrefix and random characters.
func newKeyValue() string { return KeyPrefix + randomString(keyLength-len(KeyPrefix)) }

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// page parses pagesize/pagetoken (Identity) or limit/start (Policy
// Management) and slices n items; it returns the window and the next token.
func page(q url.Values, sizeParam, tokenParam string, def, n int) (from, to int, next string, err error) {
	size := def
	if v := q.Get(sizeParam); v != "" {
		size, err = strconv.Atoi(v)
		if err != nil || size < 1 || size > 100 {
			return 0, 0, "", fmt.Errorf("%s must be between 1 and 100", sizeParam)
		}
	}
	if v := q.Get(tokenParam); v != "" {
		raw, derr := base64.RawURLEncoding.DecodeString(v)
		off, aerr := strconv.Atoi(strings.TrimPrefix(string(raw), "offset:"))
		if derr != nil || aerr != nil || off < 0 || !strings.HasPrefix(string(raw), "offset:") {
			return 0, 0, "", fmt.Errorf("invalid %s", tokenParam)
		}
		from = off
	}
	from = min(from, n)
	to = min(from+size, n)
	if to < n {
		next = base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(to)))
	}
	return from, to, next, nil
}

func (s *Server) pageURL(r *http.Request, tokenParam, token string) string {
	q := r.URL.Query()
	q.Del(tokenParam)
	if token != "" {
		q.Set(tokenParam, token)
	}
	return s.srv.URL + r.URL.Path + "?" + q.Encode()
}
