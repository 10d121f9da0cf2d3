package iamtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// ServiceID is a snapshot of a service ID held by the server.
type ServiceID struct {
	ID          string
	IAMID       string
	Name        string
	Description string
	AccountID   string
	CRN         string
	CreatedAt   time.Time
}

// APIKey is a snapshot of an API key held by the server, without its value.
type APIKey struct {
	ID          string
	Name        string
	Description string
	IAMID       string
	AccountID   string
	CRN         string
	Disabled    bool
	// Locked is the entity lock (the Entity-Lock header of the create).
	Locked bool
	// ExpiresAt is the expires_at of the create; zero if the key does not
	// expire.
	ExpiresAt time.Time
	// ActionWhenLeaked is the action_when_leaked of the create ("none",
	// "disable" or "delete"); empty if none was sent.
	ActionWhenLeaked string
	CreatedAt        time.Time
}

type serviceID struct {
	ServiceID
	entityTag string
}

type apiKey struct {
	APIKey
	value     string
	createdBy string
}

// serviceIDJSON is IAM Identity's ServiceID model (iamidentityv1.ServiceID).
type serviceIDJSON struct {
	ID          string `json:"id"`
	IAMID       string `json:"iam_id"`
	EntityTag   string `json:"entity_tag"`
	CRN         string `json:"crn"`
	Locked      bool   `json:"locked"`
	CreatedAt   string `json:"created_at"`
	ModifiedAt  string `json:"modified_at"`
	AccountID   string `json:"account_id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// apiKeyJSON is IAM Identity's APIKey model (iamidentityv1.APIKey). Apikey
// is set only in the create answer.
type apiKeyJSON struct {
	ID               string `json:"id"`
	EntityTag        string `json:"entity_tag"`
	CRN              string `json:"crn"`
	Locked           bool   `json:"locked"`
	Disabled         bool   `json:"disabled"`
	ExpiresAt        string `json:"expires_at,omitempty"`
	ActionWhenLeaked string `json:"action_when_leaked,omitempty"`
	CreatedAt        string `json:"created_at"`
	CreatedBy        string `json:"created_by"`
	ModifiedAt       string `json:"modified_at"`
	Name             string `json:"name"`
	Description      string `json:"description,omitempty"`
	IAMID            string `json:"iam_id"`
	AccountID        string `json:"account_id"`
	Apikey           string `json:"apikey,omitempty"`
}

type listContext struct {
	TransactionID string `json:"transaction_id"`
	Operation     string `json:"operation"`
}

func (sid *serviceID) json() serviceIDJSON {
	ts := timestamp(sid.CreatedAt)
	return serviceIDJSON{
		ID: sid.ID, IAMID: sid.IAMID, EntityTag: sid.entityTag, CRN: sid.CRN,
		CreatedAt: ts, ModifiedAt: ts, AccountID: sid.AccountID, Name: sid.Name, Description: sid.Description,
	}
}

func (k *apiKey) json() apiKeyJSON {
	ts := timestamp(k.CreatedAt)
	out := apiKeyJSON{
		ID: k.ID, EntityTag: "1-" + k.ID[len(k.ID)-12:], CRN: k.CRN, Disabled: k.Disabled, Locked: k.Locked,
		ActionWhenLeaked: k.ActionWhenLeaked,
		CreatedAt:        ts, CreatedBy: k.createdBy, ModifiedAt: ts, Name: k.Name, Description: k.Description,
		IAMID: k.IAMID, AccountID: k.AccountID,
	}
	if !k.ExpiresAt.IsZero() {
		out.ExpiresAt = k.ExpiresAt.UTC().Format(expiresAtLayout)
	}
	return out
}

// ---- limits ----

// The default IAM Identity limits (IBM Cloud docs, "IBM Cloud IAM
// limits"; both can be raised on request, see "Increasing account
// limits").
const (
	// DefaultAPIKeyLimit is how many API keys one identity may hold.
	DefaultAPIKeyLimit = 20
	// DefaultServiceIDLimit is how many service IDs one account may hold.
	DefaultServiceIDLimit = 2000
)

// WithAPIKeyLimit sets how many API keys one identity may hold (default
// DefaultAPIKeyLimit). A create past it is answered 422 BXNIM0151E.
func WithAPIKeyLimit(n int) Option { return func(s *Server) { s.apiKeyLimit = n } }

// WithServiceIDLimit sets how many service IDs the account may hold
// (default DefaultServiceIDLimit). A create past it is answered 422.
func WithServiceIDLimit(n int) Option { return func(s *Server) { s.serviceIDLimit = n } }

// ---- seeding and snapshots ----

// AddServiceID creates a service ID directly (no request is logged).
func (s *Server) AddServiceID(name, description string) ServiceID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newServiceID(name, description).ServiceID
}

// AddAPIKey creates an API key for iamID (a user such as "IBMid-100000AB"
// or a service ID's IAM ID) directly and returns its value: seed the
// account owner's key this way and hand it to iam.Options.APIKey. The
// value starts with KeyPrefix.
func (s *Server) AddAPIKey(iamID string) string {
	v := newKeyValue()
	s.AddAPIKeyValue(iamID, v)
	return v
}

// AddAPIKeyValue is AddAPIKey with a chosen value (a sentinel for leak
// tests, say). The value is stored as given: it need not start with
// KeyPrefix.
func (s *Server) AddAPIKeyValue(iamID, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.newAPIKey(iamID, "seeded", "", value, iamID)
}

// AddAPIKeyNamed creates an API key for iamID with a name and description
// directly (no request is logged) and returns it with its value: seed keys
// that a workflow should find (or leave alone) this way.
func (s *Server) AddAPIKeyNamed(iamID, name, description string) (APIKey, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := newKeyValue()
	return s.newAPIKey(iamID, name, description, v, iamID).APIKey, v
}

// DisableAPIKey marks a key disabled: it no longer gets tokens.
func (s *Server) DisableAPIKey(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.apiKeys {
		if k.ID == id {
			k.Disabled = true
			return true
		}
	}
	return false
}

// ServiceIDs returns the service IDs, oldest first.
func (s *Server) ServiceIDs() []ServiceID {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ServiceID, len(s.serviceIDs))
	for i, sid := range s.serviceIDs {
		out[i] = sid.ServiceID
	}
	return out
}

// APIKeys returns the API keys (without values), oldest first.
func (s *Server) APIKeys() []APIKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]APIKey, len(s.apiKeys))
	for i, k := range s.apiKeys {
		out[i] = k.APIKey
	}
	return out
}

func (s *Server) newServiceID(name, description string) *serviceID {
	uuid := s.nextID()
	id := "ServiceId-" + uuid
	sid := &serviceID{
		ServiceID: ServiceID{
			ID: id, IAMID: "iam-" + id, Name: name, Description: description, AccountID: s.accountID,
			CRN:       fmt.Sprintf("crn:v1:bluemix:public:iam-identity::a/%s::serviceid:%s", s.accountID, id),
			CreatedAt: time.Now().UTC(),
		},
		entityTag: "1-" + uuid[len(uuid)-12:],
	}
	s.serviceIDs = append(s.serviceIDs, sid)
	return sid
}

func (s *Server) newAPIKey(iamID, name, description, value, createdBy string) *apiKey {
	id := "ApiKey-" + s.nextID()
	k := &apiKey{
		APIKey: APIKey{
			ID: id, Name: name, Description: description, IAMID: iamID, AccountID: s.accountID,
			CRN:       fmt.Sprintf("crn:v1:bluemix:public:iam-identity::a/%s::apikey:%s", s.accountID, id),
			CreatedAt: time.Now().UTC(),
		},
		value: value, createdBy: createdBy,
	}
	s.apiKeys = append(s.apiKeys, k)
	return k
}

func (s *Server) keyByValue(v string) *apiKey {
	if v == "" {
		return nil
	}
	for _, k := range s.apiKeys {
		if k.value == v {
			return k
		}
	}
	return nil
}

func (s *Server) serviceIDByID(id string) (int, *serviceID) {
	for i, sid := range s.serviceIDs {
		if sid.ID == id {
			return i, sid
		}
	}
	return -1, nil
}

// ---- service IDs ----

// listServiceIDs implements GET /v1/serviceids/. account_id is required.
// The name filter matches the whole name exactly, case included: the IAM
// Identity API reference (List service IDs, parameter name: "Name of the
// service ID(s) to query") filters by the name, not a pattern; issue 12
// item 9. Pages: pagesize (default 20, at most 100), pagetoken from the
// previous answer's next link.
func (s *Server) listServiceIDs(w http.ResponseWriter, r *http.Request, _ []byte, _ string) {
	q := r.URL.Query()
	if q.Get("account_id") == "" {
		s.writeError(w, http.StatusBadRequest, "invalid_request", "account_id is required")
		return
	}
	if q.Get("account_id") != s.accountID {
		s.writeError(w, http.StatusForbidden, "forbidden", "not authorized for account "+q.Get("account_id"))
		return
	}
	name := q.Get("name")
	var match []serviceIDJSON
	for _, sid := range s.serviceIDs {
		if name == "" || sid.Name == name {
			match = append(match, sid.json())
		}
	}
	writeIdentityPage(s, w, r, OpListServiceIDs, "serviceids", match)
}

// writeIdentityPage answers an IAM Identity list with the page of match
// that pagesize and pagetoken ask for (default 20), under key.
func writeIdentityPage[T any](s *Server, w http.ResponseWriter, r *http.Request, op, key string, match []T) {
	from, to, next, err := page(r.URL.Query(), "pagesize", "pagetoken", 20, len(match))
	if err != nil {
		s.writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	resp := map[string]any{
		"context": listContext{TransactionID: s.traceID(), Operation: op},
		"offset":  from,
		"limit":   to - from,
		"first":   s.pageURL(r, "pagetoken", ""),
		key:       nonNil(match[from:to]),
	}
	if next != "" {
		resp["next"] = s.pageURL(r, "pagetoken", next)
	}
	s.writeJSON(w, http.StatusOK, resp)
}

func (s *Server) createServiceID(w http.ResponseWriter, _ *http.Request, body []byte, _ string) {
	var in struct {
		AccountID   string `json:"account_id"`
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Name == "" || in.AccountID == "" {
		s.writeError(w, http.StatusBadRequest, "invalid_request", "account_id and name are required")
		return
	}
	if in.AccountID != s.accountID {
		s.writeError(w, http.StatusForbidden, "forbidden", "not authorized for account "+in.AccountID)
		return
	}
	if len(s.serviceIDs) >= s.serviceIDLimit {
		s.writeLimit(w, "", "The limit of supported service IDs is reached.")
		return
	}
	sid := s.newServiceID(in.Name, in.Description)
	s.writeJSON(w, http.StatusCreated, sid.json())
}

func (s *Server) getServiceID(w http.ResponseWriter, r *http.Request, _ []byte, _ string) {
	_, sid := s.serviceIDByID(r.PathValue("id"))
	if sid == nil {
		s.writeErrorItem(w, http.StatusNotFound, errorItem{Code: "not_found", MessageCode: "BXNIM0102E", Message: "Service ID not found."})
		return
	}
	s.writeJSON(w, http.StatusOK, sid.json())
}

// deleteServiceID deletes a service ID and its API keys, as IAM does.
func (s *Server) deleteServiceID(w http.ResponseWriter, r *http.Request, _ []byte, _ string) {
	i, sid := s.serviceIDByID(r.PathValue("id"))
	if sid == nil {
		s.writeErrorItem(w, http.StatusNotFound, errorItem{Code: "not_found", MessageCode: "BXNIM0102E", Message: "Service ID not found."})
		return
	}
	s.serviceIDs = append(s.serviceIDs[:i:i], s.serviceIDs[i+1:]...)
	kept := s.apiKeys[:0:0]
	for _, k := range s.apiKeys {
		if k.IAMID != sid.IAMID {
			kept = append(kept, k)
		}
	}
	s.apiKeys = kept
	w.WriteHeader(http.StatusNoContent)
}

// ---- API keys ----

// listAPIKeys implements GET /v1/apikeys filtered by account_id and iam_id,
// paged like service IDs. Values are never listed.
func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request, _ []byte, caller string) {
	q := r.URL.Query()
	if a := q.Get("account_id"); a != "" && a != s.accountID {
		s.writeError(w, http.StatusForbidden, "forbidden", "not authorized for account "+a)
		return
	}
	iamID := q.Get("iam_id")
	if iamID == "" {
		iamID = caller
	}
	var match []apiKeyJSON
	for _, k := range s.apiKeys {
		if k.IAMID == iamID {
			match = append(match, k.json())
		}
	}
	writeIdentityPage(s, w, r, OpListAPIKeys, "apikeys", match)
}

// createAPIKey implements POST /v1/apikeys; the answer carries the value.
// It keeps action_when_leaked ("none", "disable" or "delete"), expires_at
// (yyyy-MM-ddTHH:mm+0000, as iamidentityv1.CreateAPIKeyOptions documents)
// and the Entity-Lock header, and echoes them in every answer. An identity
// that already holds the limit of keys (20 by default, WithAPIKeyLimit) is
// answered 422 BXNIM0151E "The limit of supported API keys is reached":
// the status and message code IBM's IAM team gave for this limit
// (IBM-Cloud/terraform-provider-ibm issue 3626).
func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request, body []byte, caller string) {
	var in struct {
		Name             string `json:"name"`
		IAMID            string `json:"iam_id"`
		Description      string `json:"description"`
		AccountID        string `json:"account_id"`
		ActionWhenLeaked string `json:"action_when_leaked"`
		ExpiresAt        string `json:"expires_at"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Name == "" || in.IAMID == "" {
		s.writeError(w, http.StatusBadRequest, "invalid_request", "name and iam_id are required")
		return
	}
	if in.AccountID != "" && in.AccountID != s.accountID {
		s.writeError(w, http.StatusForbidden, "forbidden", "not authorized for account "+in.AccountID)
		return
	}
	switch in.ActionWhenLeaked {
	case "", "none", "disable", "delete":
	default:
		s.writeError(w, http.StatusBadRequest, "invalid_request", "action_when_leaked must be none, disable or delete")
		return
	}
	var expires time.Time
	if in.ExpiresAt != "" {
		t, err := time.Parse(expiresAtLayout, in.ExpiresAt)
		if err != nil {
			s.writeError(w, http.StatusBadRequest, "invalid_request", "expires_at must be yyyy-MM-ddTHH:mm+0000")
			return
		}
		expires = t.UTC()
	}
	if strings.HasPrefix(in.IAMID, "iam-ServiceId-") {
		if _, sid := s.serviceIDByID(strings.TrimPrefix(in.IAMID, "iam-")); sid == nil {
			s.writeErrorItem(w, http.StatusNotFound, errorItem{Code: "not_found", MessageCode: "BXNIM0102E", Message: "Service ID not found."})
			return
		}
	}
	held := 0
	for _, k := range s.apiKeys {
		if k.IAMID == in.IAMID {
			held++
		}
	}
	if held >= s.apiKeyLimit {
		s.writeLimit(w, "BXNIM0151E", "The limit of supported API keys is reached.")
		return
	}
	k := s.newAPIKey(in.IAMID, in.Name, in.Description, newKeyValue(), caller)
	k.Locked = strings.EqualFold(r.Header.Get("Entity-Lock"), "true")
	k.ExpiresAt = expires
	k.ActionWhenLeaked = in.ActionWhenLeaked
	out := k.json()
	out.Apikey = k.value
	s.writeJSON(w, http.StatusCreated, out)
}

// expiresAtLayout is the expires_at format of IAM Identity
// (iamidentityv1.CreateAPIKeyOptions: "yyyy-MM-ddTHH:mm+0000").
const expiresAtLayout = "2006-01-02T15:04-0700"

// writeLimit answers a create past an IAM Identity limit: 422 with IAM
// Identity's error shape. messageCode is empty where IAM's own code for
// the limit is not known (the service ID limit: its answer is modelled on
// the API key limit's, and only the 422 status and the message's meaning
// are assumed).
func (s *Server) writeLimit(w http.ResponseWriter, messageCode, msg string) {
	s.writeErrorItem(w, http.StatusUnprocessableEntity, errorItem{Code: "unprocessable_entity", MessageCode: messageCode, Message: msg})
}

func (s *Server) apiKeyByID(id string) (int, *apiKey) {
	for i, k := range s.apiKeys {
		if k.ID == id {
			return i, k
		}
	}
	return -1, nil
}

func (s *Server) writeKeyNotFound(w http.ResponseWriter) {
	s.writeErrorItem(w, http.StatusNotFound, errorItem{Code: "not_found", MessageCode: "BXNIM0025E", Message: "API key not found."})
}

func (s *Server) getAPIKey(w http.ResponseWriter, r *http.Request, _ []byte, _ string) {
	_, k := s.apiKeyByID(r.PathValue("id"))
	if k == nil {
		s.writeKeyNotFound(w)
		return
	}
	s.writeJSON(w, http.StatusOK, k.json())
}

func (s *Server) deleteAPIKey(w http.ResponseWriter, r *http.Request, _ []byte, _ string) {
	i, k := s.apiKeyByID(r.PathValue("id"))
	if k == nil {
		s.writeKeyNotFound(w)
		return
	}
	s.apiKeys = append(s.apiKeys[:i:i], s.apiKeys[i+1:]...)
	w.WriteHeader(http.StatusNoContent)
}

// apiKeyDetails implements GET /v1/apikeys/details: the key is named by
// its value in the IAM-ApiKey header.
func (s *Server) apiKeyDetails(w http.ResponseWriter, r *http.Request, _ []byte, _ string) {
	k := s.keyByValue(r.Header.Get("IAM-ApiKey"))
	if k == nil {
		s.writeKeyNotFound(w)
		return
	}
	s.writeJSON(w, http.StatusOK, k.json())
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
