package iamtest

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"time"
)

// ServiceName is the Container Registry service's IAM name.
const ServiceName = "container-registry"

// Policy is a snapshot of a policy held by the server.
type Policy struct {
	ID   string
	Type string
	// SubjectIAMID is the iam_id subject attribute.
	SubjectIAMID string
	// RoleIDs are the role CRNs.
	RoleIDs []string
	// Attributes are the resource attributes, name → value.
	Attributes map[string]string
	// V2 reports a policy made through the v2 API (as the console makes
	// them): GET /v1/policies shows it only as a placeholder.
	V2        bool
	CreatedAt time.Time
}

type attribute struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	Operator string `json:"operator,omitempty"`
}

type roleRef struct {
	RoleID      string `json:"role_id"`
	DisplayName string `json:"display_name,omitempty"`
	Description string `json:"description,omitempty"`
}

// policyJSON is Policy Management's Policy model
// (iampolicymanagementv1.Policy).
type policyJSON struct {
	ID       string `json:"id,omitempty"`
	Type     string `json:"type"`
	Subjects []struct {
		Attributes []attribute `json:"attributes"`
	} `json:"subjects"`
	Roles     []roleRef `json:"roles"`
	Resources []struct {
		Attributes []attribute `json:"attributes"`
		Tags       []attribute `json:"tags,omitempty"`
	} `json:"resources"`
	Description      string `json:"description,omitempty"`
	Href             string `json:"href,omitempty"`
	CreatedAt        string `json:"created_at,omitempty"`
	CreatedByID      string `json:"created_by_id,omitempty"`
	LastModifiedAt   string `json:"last_modified_at,omitempty"`
	LastModifiedByID string `json:"last_modified_by_id,omitempty"`
	State            string `json:"state,omitempty"`
}

type policy struct {
	doc       policyJSON // the grant, in the v1 shape
	createdAt time.Time
	v2        bool
	rule      any // a v2 rule (conditions), as seeded
}

// roleJSON is Policy Management's Role model.
type roleJSON struct {
	DisplayName string   `json:"display_name"`
	Description string   `json:"description"`
	Actions     []string `json:"actions"`
	CRN         string   `json:"crn"`
}

// registryRoles are the container-registry service roles the server
// offers. Container Registry uses IAM's generic service roles, whose CRNs
// name no service: crn:v1:bluemix:public:iam::::serviceRole:<Role>, as
// GET /v2/roles?service_name=container-registry lists them and as every
// policy the CLI creates carries them (IBM Cloud docs, "IAM roles and
// actions", Container Registry; issue 12 item 9).
var registryRoles = []roleJSON{
	{"Reader", "Pull images from namespaces.", []string{"container-registry.image.pull", "container-registry.image.inspect"}, "crn:v1:bluemix:public:iam::::serviceRole:Reader"},
	{"Writer", "Push, pull and delete images.", []string{"container-registry.image.push", "container-registry.image.pull", "container-registry.image.delete"}, "crn:v1:bluemix:public:iam::::serviceRole:Writer"},
	{"Manager", "Manage namespaces, retention, quotas and images.", []string{"container-registry.namespace.create", "container-registry.image.push", "container-registry.settings.set"}, "crn:v1:bluemix:public:iam::::serviceRole:Manager"},
}

// platformRoles are IAM's platform (system) roles.
var platformRoles = []roleJSON{
	{"Viewer", "View resources.", []string{"iam.policy.read"}, "crn:v1:bluemix:public:iam::::role:Viewer"},
	{"Operator", "Perform platform actions.", []string{"iam.policy.read"}, "crn:v1:bluemix:public:iam::::role:Operator"},
	{"Editor", "Create and edit resources.", []string{"iam.policy.read"}, "crn:v1:bluemix:public:iam::::role:Editor"},
	{"Administrator", "All platform actions, including assigning access.", []string{"iam.policy.create"}, "crn:v1:bluemix:public:iam::::role:Administrator"},
}

// RoleCRN returns the CRN the server lists for a container-registry service
// role (Reader, Writer, Manager) or platform role (Viewer, Operator,
// Editor, Administrator); "" if there is none.
func RoleCRN(name string) string {
	for _, r := range slices.Concat(registryRoles, platformRoles) {
		if r.DisplayName == name {
			return r.CRN
		}
	}
	return ""
}

func roleByCRN(crn string) (roleJSON, bool) {
	for _, r := range slices.Concat(registryRoles, platformRoles) {
		if r.CRN == crn {
			return r, true
		}
	}
	return roleJSON{}, false
}

func (p *policy) snapshot() Policy {
	out := Policy{ID: p.doc.ID, Type: p.doc.Type, Attributes: map[string]string{}, V2: p.v2, CreatedAt: p.createdAt}
	for _, subj := range p.doc.Subjects {
		for _, a := range subj.Attributes {
			if a.Name == "iam_id" {
				out.SubjectIAMID = a.Value
			}
		}
	}
	for _, r := range p.doc.Roles {
		out.RoleIDs = append(out.RoleIDs, r.RoleID)
	}
	for _, res := range p.doc.Resources {
		for _, a := range res.Attributes {
			out.Attributes[a.Name] = a.Value
		}
	}
	return out
}

// Policies returns the policies, oldest first.
func (s *Server) Policies() []Policy {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Policy, len(s.policies))
	for i, p := range s.policies {
		out[i] = p.snapshot()
	}
	return out
}

// target identifies what a policy grants its roles on: type, subjects and
// resources, each as a sorted set (operator defaulting to stringEquals).
// Two policies of one target that share a role conflict.
func (p *policyJSON) target() string {
	var subj, res []string
	for _, s := range p.Subjects {
		for _, a := range s.Attributes {
			subj = append(subj, a.Name+"="+a.Value)
		}
	}
	for _, r := range p.Resources {
		for _, a := range r.Attributes {
			op := a.Operator
			if op == "" {
				op = "stringEquals"
			}
			res = append(res, a.Name+" "+op+" "+a.Value)
		}
		for _, a := range r.Tags {
			res = append(res, "tag:"+a.Name+"="+a.Value)
		}
	}
	sort.Strings(subj)
	sort.Strings(res)
	b, _ := json.Marshal([]any{p.Type, subj, res})
	return string(b)
}

// conflict returns an existing policy of in's target that grants one of
// in's roles, and that role. A policy with a rule (a condition) grants
// less than the unconditional one, and is taken not to conflict with it:
// whether IAM refuses that pair is not documented.
func (s *Server) conflict(in *policyJSON) (*policy, string) {
	target := in.target()
	for _, p := range s.policies {
		if p.rule != nil || p.doc.target() != target {
			continue
		}
		for _, have := range p.doc.Roles {
			for _, want := range in.Roles {
				if have.RoleID == want.RoleID {
					return p, have.RoleID
				}
			}
		}
	}
	return nil, ""
}

// createPolicy implements POST /v1/policies. A policy whose subjects and
// resources equal an existing policy's (made through v1 or v2) and that
// grants a role the existing one grants is refused per role: 409
// policy_conflict_error, the existing policy and the role in
// errors[0].details.conflicts_with, as the IAM Policy Management API
// reference documents for "Create a policy" (409: "policy conflict") and
// platform-services-go-sdk's examples show; issue 12 item 9.
func (s *Server) createPolicy(w http.ResponseWriter, r *http.Request, body []byte, caller string) {
	var in policyJSON
	if err := json.Unmarshal(body, &in); err != nil {
		s.writeError(w, http.StatusBadRequest, "invalid_body", "request body is not a policy: "+err.Error())
		return
	}
	if msg := s.validatePolicy(&in); msg != "" {
		s.writeError(w, http.StatusBadRequest, "invalid_body", msg)
		return
	}
	if p, role := s.conflict(&in); p != nil {
		s.writeErrorItem(w, http.StatusConflict, errorItem{
			Code:    "policy_conflict_error",
			Message: "Failed to create policy.",
			Details: map[string]any{"conflicts_with": map[string]any{
				"etag": `W/"1-` + p.doc.ID + `"`, "role": role, "policy": p.v1JSON(),
			}},
		})
		return
	}
	now := time.Now().UTC()
	in.ID = s.nextID()
	in.Href = s.srv.URL + "/v1/policies/" + in.ID
	in.CreatedAt, in.LastModifiedAt = timestamp(now), timestamp(now)
	in.CreatedByID, in.LastModifiedByID = caller, caller
	in.State = "active"
	for i := range in.Roles {
		role, _ := roleByCRN(in.Roles[i].RoleID)
		in.Roles[i].DisplayName, in.Roles[i].Description = role.DisplayName, role.Description
	}
	s.policies = append(s.policies, &policy{doc: in, createdAt: now})
	w.Header().Set("ETag", `W/"1-`+in.ID+`"`)
	s.writeJSON(w, http.StatusCreated, in)
}

// validatePolicy checks what Policy Management checks: type, at least one
// subject attribute, known role CRNs, accountId of this account and a
// service attribute on the resource.
func (s *Server) validatePolicy(p *policyJSON) string {
	if p.Type != "access" && p.Type != "authorization" {
		return `type must be "access" or "authorization"`
	}
	if len(p.Subjects) == 0 || len(p.Subjects[0].Attributes) == 0 {
		return "subjects are required"
	}
	if len(p.Roles) == 0 {
		return "roles are required"
	}
	for _, r := range p.Roles {
		if _, ok := roleByCRN(r.RoleID); !ok {
			return "role " + r.RoleID + " does not exist"
		}
	}
	if len(p.Resources) == 0 {
		return "resources are required"
	}
	attrs := map[string]string{}
	for _, res := range p.Resources {
		for _, a := range res.Attributes {
			if a.Name == "" || a.Value == "" {
				return "resource attributes need a name and a value"
			}
			attrs[a.Name] = a.Value
		}
	}
	if attrs["accountId"] != s.accountID {
		return "resource attribute accountId must be " + s.accountID
	}
	if attrs["serviceName"] == "" && attrs["serviceType"] == "" && attrs["resourceGroupId"] == "" {
		return "resource needs serviceName, serviceType or resourceGroupId"
	}
	// global is a geography, not a region: Container Registry's global
	// registry icr.io is granted with geography=global, and a policy with
	// region=global is refused (IBM Cloud docs, Container Registry "Granting
	// access to IBM Cloud Container Registry resources"; issue 12 item 9).
	// The wording of IAM's refusal is not copied.
	if attrs["region"] == "global" {
		return "resource attribute region: global is not a region; use geography=global"
	}
	return ""
}

// listPolicies implements GET /v1/policies: account_id is required; iam_id
// and type filter; limit (default 50, at most 100) and start page.
func (s *Server) listPolicies(w http.ResponseWriter, r *http.Request, _ []byte, _ string) {
	q := r.URL.Query()
	if q.Get("account_id") == "" {
		s.writeError(w, http.StatusBadRequest, "invalid_parameter", "account_id is required")
		return
	}
	if q.Get("account_id") != s.accountID {
		s.writeError(w, http.StatusForbidden, "forbidden", "not authorized for account "+q.Get("account_id"))
		return
	}
	var match []policyJSON
	for _, p := range s.filterPolicies(q) {
		match = append(match, p.v1JSON())
	}
	from, to, next, err := page(q, "limit", "start", 50, len(match))
	if err != nil {
		s.writeError(w, http.StatusBadRequest, "invalid_parameter", err.Error())
		return
	}
	resp := map[string]any{
		"limit":    to - from,
		"first":    map[string]string{"href": s.pageURL(r, "start", "")},
		"policies": nonNil(match[from:to]),
	}
	if next != "" {
		resp["next"] = map[string]string{"href": s.pageURL(r, "start", next), "start": next}
	}
	s.writeJSON(w, http.StatusOK, resp)
}

func (s *Server) policyByID(id string) (int, *policy) {
	for i, p := range s.policies {
		if p.doc.ID == id {
			return i, p
		}
	}
	return -1, nil
}

func (s *Server) writePolicyNotFound(w http.ResponseWriter, id string) {
	s.writeError(w, http.StatusNotFound, "policy_not_found", "Policy with ID "+id+" not found.")
}

func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request, _ []byte, _ string) {
	_, p := s.policyByID(r.PathValue("id"))
	if p == nil {
		s.writePolicyNotFound(w, r.PathValue("id"))
		return
	}
	s.writeJSON(w, http.StatusOK, p.v1JSON())
}

func (s *Server) deletePolicy(w http.ResponseWriter, r *http.Request, _ []byte, _ string) {
	i, p := s.policyByID(r.PathValue("id"))
	if p == nil {
		s.writePolicyNotFound(w, r.PathValue("id"))
		return
	}
	s.policies = append(s.policies[:i:i], s.policies[i+1:]...)
	w.WriteHeader(http.StatusNoContent)
}

// listRoles implements GET /v2/roles: with service_name=container-registry
// the registry's service roles, and always the platform (system) roles.
func (s *Server) listRoles(w http.ResponseWriter, r *http.Request, _ []byte, _ string) {
	service := []roleJSON{}
	if r.URL.Query().Get("service_name") == ServiceName {
		service = registryRoles
	}
	s.writeJSON(w, http.StatusOK, map[string]any{
		"custom_roles":  []any{},
		"service_roles": service,
		"system_roles":  platformRoles,
	})
}

// filterPolicies returns the policies a list query selects: iam_id, type
// and state (active unless asked otherwise; the server deletes for good,
// so state=deleted selects nothing).
func (s *Server) filterPolicies(q url.Values) []*policy {
	var out []*policy
	for _, p := range s.policies {
		snap := p.snapshot()
		if id := q.Get("iam_id"); id != "" && snap.SubjectIAMID != id {
			continue
		}
		if t := q.Get("type"); t != "" && snap.Type != t {
			continue
		}
		if st := q.Get("state"); st != "" && st != "active" {
			continue
		}
		out = append(out, p)
	}
	return out
}

// ---- v2 policies ----

// v2PlaceholderDescription is the description of a v2 policy's v1
// placeholder.
const v2PlaceholderDescription = "This policy was created with the v2 API. Use /v2/policies to read it."

// v1JSON is the policy as GET /v1/policies shows it. A policy made through
// the v2 API is shown only as a placeholder (IBM Cloud docs, IAM Policy
// Management API change log: "The v1 API is not forwards compatible with
// the v2 API"; issue 12 item 5): id, type, subject, state and dates, no
// roles and no resources, so a v1 client cannot recognise the grant. The
// placeholder's exact content is modelled, not copied from IAM.
func (p *policy) v1JSON() policyJSON {
	if !p.v2 {
		return p.doc
	}
	ph := policyJSON{
		ID: p.doc.ID, Type: p.doc.Type, Subjects: p.doc.Subjects, Roles: []roleRef{},
		Description: v2PlaceholderDescription, Href: p.doc.Href,
		CreatedAt: p.doc.CreatedAt, CreatedByID: p.doc.CreatedByID,
		LastModifiedAt: p.doc.LastModifiedAt, LastModifiedByID: p.doc.LastModifiedByID, State: p.doc.State,
	}
	ph.Resources = make([]struct {
		Attributes []attribute `json:"attributes"`
		Tags       []attribute `json:"tags,omitempty"`
	}, 0)
	return ph
}

// v2Attribute is a v2 subject or resource attribute.
type v2Attribute struct {
	Key      string `json:"key"`
	Operator string `json:"operator"`
	Value    any    `json:"value"`
}

type v2Role struct {
	RoleID string `json:"role_id"`
}

// v2PolicyJSON is Policy Management's v2 policy model
// (iampolicymanagementv1.V2PolicyTemplateMetaData).
type v2PolicyJSON struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
	Subject     struct {
		Attributes []v2Attribute `json:"attributes"`
	} `json:"subject"`
	Resource struct {
		Attributes []v2Attribute `json:"attributes"`
		Tags       []v2Attribute `json:"tags,omitempty"`
	} `json:"resource"`
	Pattern string `json:"pattern,omitempty"`
	Rule    any    `json:"rule,omitempty"`
	Control struct {
		Grant struct {
			Roles []v2Role `json:"roles"`
		} `json:"grant"`
	} `json:"control"`
	Href             string `json:"href"`
	CreatedAt        string `json:"created_at"`
	CreatedByID      string `json:"created_by_id"`
	LastModifiedAt   string `json:"last_modified_at"`
	LastModifiedByID string `json:"last_modified_by_id"`
	State            string `json:"state"`
}

// v2JSON is the policy as GET /v2/policies shows it: every policy, made
// through v1 or v2, in the v2 shape.
func (p *policy) v2JSON(base string) v2PolicyJSON {
	out := v2PolicyJSON{
		ID: p.doc.ID, Type: p.doc.Type, Description: p.doc.Description,
		Rule: p.rule, Href: base + "/v2/policies/" + p.doc.ID,
		CreatedAt: p.doc.CreatedAt, CreatedByID: p.doc.CreatedByID,
		LastModifiedAt: p.doc.LastModifiedAt, LastModifiedByID: p.doc.LastModifiedByID, State: p.doc.State,
	}
	if p.rule != nil {
		out.Pattern = "time-based-conditions:weekly:custom-hours"
	}
	for _, sj := range p.doc.Subjects {
		for _, a := range sj.Attributes {
			out.Subject.Attributes = append(out.Subject.Attributes, v2Attribute{Key: a.Name, Operator: "stringEquals", Value: a.Value})
		}
	}
	for _, r := range p.doc.Resources {
		for _, a := range r.Attributes {
			op := a.Operator
			if op == "" {
				op = "stringEquals"
			}
			out.Resource.Attributes = append(out.Resource.Attributes, v2Attribute{Key: a.Name, Operator: op, Value: a.Value})
		}
		for _, a := range r.Tags {
			out.Resource.Tags = append(out.Resource.Tags, v2Attribute{Key: a.Name, Operator: "stringEquals", Value: a.Value})
		}
	}
	out.Control.Grant.Roles = []v2Role{}
	for _, r := range p.doc.Roles {
		out.Control.Grant.Roles = append(out.Control.Grant.Roles, v2Role{RoleID: r.RoleID})
	}
	return out
}

// V2Policy describes a policy to seed as the console makes it: through the
// v2 API.
type V2Policy struct {
	// SubjectIAMID is the iam_id of the subject.
	SubjectIAMID string
	// RoleIDs are the role CRNs granted (RoleCRN gives them).
	RoleIDs []string
	// Attributes are the resource attributes, all stringEquals. accountId
	// defaults to the server's account.
	Attributes map[string]string
	// Description is the policy's description.
	Description string
	// Rule, if set, is the policy's v2 rule (a condition such as a time
	// window), listed as given.
	Rule any
}

// AddV2Policy creates an access policy as if made in the console, through
// the v2 API (no request is logged), and returns it.
func (s *Server) AddV2Policy(in V2Policy) Policy {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now().UTC()
	doc := policyJSON{ID: s.nextID(), Type: "access", Description: in.Description, State: "active",
		CreatedAt: timestamp(now), LastModifiedAt: timestamp(now), CreatedByID: "IBMid-console", LastModifiedByID: "IBMid-console"}
	doc.Href = s.srv.URL + "/v1/policies/" + doc.ID
	doc.Subjects = []struct {
		Attributes []attribute `json:"attributes"`
	}{{Attributes: []attribute{{Name: "iam_id", Value: in.SubjectIAMID}}}}
	for _, id := range in.RoleIDs {
		role, _ := roleByCRN(id)
		doc.Roles = append(doc.Roles, roleRef{RoleID: id, DisplayName: role.DisplayName, Description: role.Description})
	}
	attrs := map[string]string{"accountId": s.accountID}
	maps.Copy(attrs, in.Attributes)
	names := slices.Sorted(maps.Keys(attrs))
	doc.Resources = []struct {
		Attributes []attribute `json:"attributes"`
		Tags       []attribute `json:"tags,omitempty"`
	}{{}}
	for _, n := range names {
		doc.Resources[0].Attributes = append(doc.Resources[0].Attributes, attribute{Name: n, Value: attrs[n], Operator: "stringEquals"})
	}
	p := &policy{doc: doc, createdAt: now, v2: true, rule: in.Rule}
	s.policies = append(s.policies, p)
	return p.snapshot()
}

// listV2Policies implements GET /v2/policies: every policy, made through
// v1 or v2, in the v2 shape; account_id is required; iam_id, type and
// state filter; limit (default 50, at most 100) and start page.
func (s *Server) listV2Policies(w http.ResponseWriter, r *http.Request, _ []byte, _ string) {
	q := r.URL.Query()
	if q.Get("account_id") == "" {
		s.writeError(w, http.StatusBadRequest, "invalid_parameter", "account_id is required")
		return
	}
	if q.Get("account_id") != s.accountID {
		s.writeError(w, http.StatusForbidden, "forbidden", "not authorized for account "+q.Get("account_id"))
		return
	}
	var match []v2PolicyJSON
	for _, p := range s.filterPolicies(q) {
		match = append(match, p.v2JSON(s.srv.URL))
	}
	from, to, next, err := page(q, "limit", "start", 50, len(match))
	if err != nil {
		s.writeError(w, http.StatusBadRequest, "invalid_parameter", err.Error())
		return
	}
	resp := map[string]any{
		"limit":    to - from,
		"first":    map[string]string{"href": s.pageURL(r, "start", "")},
		"policies": nonNil(match[from:to]),
	}
	if next != "" {
		resp["next"] = map[string]string{"href": s.pageURL(r, "start", next), "start": next}
	}
	s.writeJSON(w, http.StatusOK, resp)
}

func (s *Server) getV2Policy(w http.ResponseWriter, r *http.Request, _ []byte, _ string) {
	_, p := s.policyByID(r.PathValue("id"))
	if p == nil {
		s.writePolicyNotFound(w, r.PathValue("id"))
		return
	}
	s.writeJSON(w, http.StatusOK, p.v2JSON(s.srv.URL))
}
