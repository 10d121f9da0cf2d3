package iam

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/go-sdk-core/v5/core"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit"
)

// Sentinel errors. Every error returned by a Client call that failed on an
// HTTP status is an *APIError, which matches the sentinel for its status
// with errors.Is.
var (
	// ErrNotFound: 404.
	ErrNotFound = errors.New("iam: not found")
	// ErrConflict: 409.
	ErrConflict = errors.New("iam: conflict")
	// ErrUnauthorized: 401, or the token exchange rejected the API key
	// (400 with IAM code BXNIM0415E, "Provided API key could not be found").
	ErrUnauthorized = errors.New("iam: unauthorized")
	// ErrForbidden: 403.
	ErrForbidden = errors.New("iam: forbidden")
	// ErrRateLimited: 429 (after the retries were used up).
	ErrRateLimited = errors.New("iam: rate limited")
)

// IAM's account limits (IBM Cloud docs, "IBM Cloud IAM limits" and
// "Increasing account limits"). A create that IAM refuses because one is
// reached returns an *APIError matching the sentinel; its message states
// the limit and the way out.
const (
	// DefaultAPIKeyLimit is how many API keys one identity (a user or a
	// service ID) may hold unless IBM raised the account's limit.
	DefaultAPIKeyLimit = 20
	// DefaultServiceIDLimit is how many service IDs one account may hold
	// unless IBM raised the account's limit.
	DefaultServiceIDLimit = 2000
	// PolicyLimit is how many access policies one account may hold; IBM
	// recommends staying under 1,000.
	PolicyLimit = 4020
)

// The limit sentinels.
var (
	// ErrKeyLimit: the identity holds as many API keys as IAM allows.
	ErrKeyLimit = errors.New("iam: API key limit reached: IAM allows 20 API keys per identity by default; " +
		"delete keys of this identity that nothing uses any more (keys registrykit made carry " + Marker +
		" in their description) or ask IBM to raise the limit (IBM Cloud docs: Increasing account limits)")
	// ErrServiceIDLimit: the account holds as many service IDs as IAM
	// allows.
	ErrServiceIDLimit = errors.New("iam: service ID limit reached: IAM allows 2,000 service IDs per account by default; " +
		"delete service IDs that nothing uses any more (those registrykit made carry " + Marker +
		" in their description) or ask IBM to raise the limit (IBM Cloud docs: Increasing account limits)")
	// ErrPolicyLimit: the account holds as many access policies as IAM
	// allows.
	ErrPolicyLimit = errors.New("iam: access policy limit reached: IAM allows 4,020 access policies per account " +
		"(1,000 recommended); delete policies that grant nothing needed, grant through access groups " +
		"instead of per service ID, and keep registrykit's default of one Container Registry policy per service ID")
)

// codeAPIKeyLimit is IAM Identity's message code for a create past the
// API keys per identity limit, answered with status 422 (IBM's IAM team in
// IBM-Cloud/terraform-provider-ibm issue 3626: "BXNIM0151E.msg=The limit
// of supported API keys is reached").
const codeAPIKeyLimit = "BXNIM0151E"

// markLimit records on e that it is the answer of a create that IAM
// refused for reaching a limit, if it is one: status 400, 403, 409 or 422
// and, for API keys, IAM's code BXNIM0151E; for every kind, an IAM code or
// message that speaks of a limit, a quota or a maximum number. IAM's codes
// for the service ID and policy limits are not documented where this
// package could read them, so those two are recognised by their wording.
func (e *APIError) markLimit(sentinel error) *APIError {
	switch e.StatusCode {
	case http.StatusBadRequest, http.StatusForbidden, http.StatusConflict, http.StatusUnprocessableEntity:
	default:
		return e
	}
	if sentinel == ErrKeyLimit && (e.Code == codeAPIKeyLimit || e.messageCode == codeAPIKeyLimit) {
		e.limit = sentinel
		return e
	}
	text := strings.ToLower(e.Code + " " + e.messageCode + " " + e.Message)
	for _, w := range []string{"limit", "quota", "maximum number"} {
		if strings.Contains(text, w) {
			e.limit = sentinel
			break
		}
	}
	return e
}

// Invalid input is reported before any request is sent, every problem at
// once, as a *registrykit.InvalidError (errors.Is(err,
// registrykit.ErrInvalid)) whose field paths name the argument or option:
// "name", "access[1].region", "AccountID".

// codeAPIKeyNotFound is the token endpoint's answer to an unknown API key.
const codeAPIKeyNotFound = "BXNIM0415E"

// APIError describes a failed IAM request. Its message carries IAM's error
// code and trace id (quote the trace id to IBM support), never a key or a
// token. It unwraps to the platform-services-go-sdk error.
type APIError struct {
	// Op names the operation, e.g. "create service ID".
	Op string
	// StatusCode is the HTTP status; 0 when no response was received.
	StatusCode int
	// Code is IAM's error code (e.g. "not_found", "policy_conflict_error",
	// "BXNIM0415E"); may be empty.
	Code string
	// TraceID is IAM's trace or transaction id; may be empty.
	TraceID string
	// Message is IAM's error message, scrubbed of credentials.
	Message string

	retryAfter time.Duration
	errs       []error
	// messageCode is IAM Identity's message_code (BXNIM...), when the
	// body's code field holds something else.
	messageCode string
	// limit is ErrKeyLimit, ErrServiceIDLimit or ErrPolicyLimit when IAM
	// refused a create for a reached limit.
	limit error
	// notSent: the request never left, for want of a token.
	notSent bool
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("iam: ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	if e.StatusCode != 0 {
		b.WriteString(strconv.Itoa(e.StatusCode))
	} else {
		b.WriteString("request failed")
	}
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.messageCode != "" && e.messageCode != e.Code {
		b.WriteString(" ")
		b.WriteString(e.messageCode)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.TraceID != "" {
		b.WriteString(" (trace ")
		b.WriteString(e.TraceID)
		b.WriteString(")")
	}
	if e.limit != nil {
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(e.limit.Error(), "iam: "))
	}
	return b.String()
}

// Unwrap returns the SDK error (and the context error, if the context
// ended the call).
func (e *APIError) Unwrap() []error { return e.errs }

// Is matches the sentinel for the status code.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrConflict:
		return e.StatusCode == http.StatusConflict
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized ||
			(e.StatusCode == http.StatusBadRequest && e.Code == codeAPIKeyNotFound)
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrKeyLimit, ErrServiceIDLimit, ErrPolicyLimit:
		return e.limit == target
	}
	return false
}

// ambiguous reports whether a failed write may nevertheless have been
// applied: a 5xx answer (except 501) or no answer at all.
func (e *APIError) ambiguous() bool {
	if e.notSent {
		return false
	}
	if e.StatusCode == 0 {
		return true
	}
	return e.StatusCode >= 500 && e.StatusCode != http.StatusNotImplemented
}

// newAPIError builds an *APIError from what an SDK call returned.
func (c *Client) newAPIError(ctx context.Context, op string, resp *core.DetailedResponse, err error) *APIError {
	e := &APIError{Op: op, errs: []error{c.sanitizeSDKError(err)}}
	if ctx.Err() != nil {
		e.errs = append(e.errs, ctx.Err())
	}
	if resp != nil {
		e.StatusCode = resp.StatusCode
		if m, ok := resp.Result.(map[string]any); ok {
			e.Code, e.Message, e.TraceID = errorFields(m)
			e.messageCode = messageCode(m)
		}
		if e.TraceID == "" {
			for _, h := range []string{"Transaction-Id", "X-Request-Id", "X-Correlation-Id"} {
				if v := resp.Headers.Get(h); v != "" {
					e.TraceID = v
					break
				}
			}
		}
		if s := resp.Headers.Get("Retry-After"); s != "" {
			if n, perr := strconv.Atoi(s); perr == nil && n >= 0 {
				e.retryAfter = time.Duration(n) * time.Second
			}
		}
	}
	var tokErr *APIError
	if errors.As(err, &tokErr) {
		// The request was never sent: no token could be had for it (the
		// Client's authenticator puts the token source's *APIError in the
		// SDK error's chain). Report what the token service said.
		e.StatusCode, e.Code, e.Message, e.TraceID = tokErr.StatusCode, tokErr.Code, tokErr.Op+": "+tokErr.Message, tokErr.TraceID
		e.retryAfter, e.notSent = tokErr.retryAfter, true
	}
	if e.Message == "" && e.StatusCode == 0 && err != nil {
		e.Message = err.Error()
	}
	e.Message = c.scrub(e.Message)
	e.Code = c.scrub(e.Code)
	e.TraceID = c.scrub(e.TraceID)
	e.messageCode = c.scrub(e.messageCode)
	return e
}

// errorFields extracts code, message and trace id from the error bodies IAM
// sends: {"errors":[{"code","message"}],"trace"} (Identity, Policy
// Management) and {"errorCode","errorMessage","context":{"requestId"}}
// (token endpoint).
func errorFields(m map[string]any) (code, msg, trace string) {
	str := func(v any) string { s, _ := v.(string); return s }
	if list, ok := m["errors"].([]any); ok && len(list) > 0 {
		if first, ok := list[0].(map[string]any); ok {
			code, msg = str(first["code"]), str(first["message"])
			if mc := str(first["message_code"]); mc != "" && code == "" {
				code = mc
			}
		}
	}
	if code == "" {
		code = str(m["errorCode"])
	}
	if code == "" {
		code = str(m["code"])
	}
	if msg == "" {
		msg = str(m["errorMessage"])
	}
	if msg == "" {
		msg = str(m["message"])
	}
	trace = str(m["trace"])
	if ctxm, ok := m["context"].(map[string]any); ok && trace == "" {
		trace = str(ctxm["requestId"])
		if trace == "" {
			trace = str(ctxm["transaction_id"])
		}
	}
	return code, msg, trace
}

// messageCode returns errors[0].message_code of an IAM Identity error body.
func messageCode(m map[string]any) string {
	list, _ := m["errors"].([]any)
	if len(list) == 0 {
		return ""
	}
	first, _ := list[0].(map[string]any)
	mc, _ := first["message_code"].(string)
	return mc
}

// scrub removes the client's own credentials from a server-supplied string.
func (c *Client) scrub(s string) string {
	if c.redact == nil {
		return s
	}
	return c.redact(s)
}

// scrubValue removes one more credential (one passed to a call).
func scrubValue(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, redacted)
}

// invalid returns the *registrykit.InvalidError of call's input, or nil.
func invalid(call string, errs field.ErrorList) error {
	return registrykit.Invalid("iam."+call+" input", errs)
}

// requireID reports an empty (or blank) id argument.
func requireID(path *field.Path, id string) field.ErrorList {
	if strings.TrimSpace(id) == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	return nil
}

// sanitizeSDKError keeps the SDK's error (so errors.As finds its
// *core.SDKProblem) but strips the answer from it: the *core.HTTPProblem in
// its chain holds the whole HTTP answer, body and headers, in Response; a
// server that echoes the credential it was sent would put it there, and fmt
// or a JSON encoder walking the error tree would print it. Only the status
// code is kept. The error is this call's own, so changing it is safe.
func (c *Client) sanitizeSDKError(err error) error {
	var hp *core.HTTPProblem
	if err != nil && errors.As(err, &hp) && hp.Response != nil {
		hp.Response = &core.DetailedResponse{StatusCode: hp.Response.StatusCode}
	}
	c.scrubSDKSummaries(err)
	return err
}

// scrubSDKSummaries scrubs the client's credentials from the summary of
// every go-sdk-core problem in err's tree: the SDK writes the message of
// an error answer there, and a server that echoes what it was sent puts
// the bearer token in that message.
func (c *Client) scrubSDKSummaries(err error) {
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		switch p := e.(type) {
		case *core.SDKProblem:
			if p.IBMProblem != nil {
				p.Summary = c.scrub(p.Summary)
			}
		case *core.HTTPProblem:
			if p.IBMProblem != nil {
				p.Summary = c.scrub(p.Summary)
			}
		case *core.IBMProblem:
			p.Summary = c.scrub(p.Summary)
		}
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
}
