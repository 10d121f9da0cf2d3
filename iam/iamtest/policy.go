package iamtest

import (
	"encoding/json"
	"net/http"
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
	CreatedAt  time.Time
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
	doc       policyJSON
	createdAt time.Time
}

// roleJSON is Policy Management's Role model.
type roleJSON struct {
	DisplayName string   `json:"display_name"`
	Description string   `json:"description"`
	Actions     []string `json:"actions"`
	CRN         string   `json:"crn"`
}

// registryRoles are the container-registry service roles the server
// offers, with IAM's CRN form.
var registryRoles = []roleJSON{
	{"Reader", "Pull images from namespaces.", []string{"container-registry.image.pull", "container-registry.image.inspect"}, "crn:v1:bluemix:public:container-registry::::serviceRole:Reader"},
	{"Writer", "Push, pull and delete images.", []string{"container-registry.image.push", "container-registry.image.pull", "container-registry.image.delete"}, "crn:v1:bluemix:public:container-registry::::serviceRole:Writer"},
	{"Manager", "Manage namespaces, retention, quotas and images.", []string{"container-registry.namespace.create", "container-registry.image.push", "container-registry.settings.set"}, "crn:v1:bluemix:public:container-registry::::serviceRole:Manager"},
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
	out := Policy{ID: p.doc.ID, Type: p.doc.Type, Attributes: map[string]string{}, CreatedAt: p.createdAt}
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

// key identifies what makes two policies the same grant: type, subjects,
// roles and resources, each as a sorted set (operator defaulting to
// stringEquals).
func (p *policyJSON) key() string {
	var subj, roles, res []string
	for _, s := range p.Subjects {
		for _, a := range s.Attributes {
			subj = append(subj, a.Name+"="+a.Value)
		}
	}
	for _, r := range p.Roles {
		roles = append(roles, r.RoleID)
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
	sort.Strings(roles)
	sort.Strings(res)
	b, _ := json.Marshal([]any{p.Type, subj, roles, res})
	return string(b)
}

// createPolicy implements POST /v1/policies. A policy equal to an existing
// one (same type, subjects, roles and resources) is refused with 409
// policy_conflict_error naming the existing policy in
// errors[0].details.conflicts_with.
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
	key := in.key()
	for _, p := range s.policies {
		if p.doc.key() == key {
			s.writeErrorItem(w, http.StatusConflict, errorItem{
				Code:    "policy_conflict_error",
				Message: "Failed to create policy.",
				Details: map[string]any{"conflicts_with": map[string]any{
					"etag": `W/"1-` + p.doc.ID + `"`, "role": p.doc.Roles[0].RoleID, "policy": p.doc,
				}},
			})
			return
		}
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
	for _, p := range s.policies {
		snap := p.snapshot()
		if id := q.Get("iam_id"); id != "" && snap.SubjectIAMID != id {
			continue
		}
		if t := q.Get("type"); t != "" && snap.Type != t {
			continue
		}
		match = append(match, p.doc)
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
	s.writeJSON(w, http.StatusOK, p.doc)
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
