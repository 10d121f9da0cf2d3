package iam

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/IBM/platform-services-go-sdk/iampolicymanagementv1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit"
)

const (
	policyTypeAccess     = "access"
	operatorStringEquals = "stringEquals"
	codePolicyConflict   = "policy_conflict_error"
)

// Policy is an IAM access policy whose one subject is an IAM ID.
type Policy struct {
	ID string
	// IAMID is the policy subject.
	IAMID     string
	AccountID string
	// Registry reports a Container Registry policy that grants exactly
	// Access: its resource attributes are only those this package writes
	// (accountId, serviceName=container-registry, region or
	// geography=global, resourceType=namespace with resource), all
	// stringEquals, without tags and without a rule. Only such a policy
	// counts as granting an Access.
	Registry bool
	// Access is the granted access when Registry. Access.Role is the role
	// asked for in EnsureRegistryPolicy, or the first of Roles in a
	// listing.
	Access Access
	// Roles are the names of the roles the policy grants ("Reader",
	// "Viewer", ...).
	Roles []string
	// RoleCRNs are the CRNs of Roles.
	RoleCRNs []string
	// Resource holds the resource attributes, name → value, as listed.
	Resource map[string]string
	// Conditional reports a policy whose grant is not what its attributes
	// say at face value: it has a rule (a time-based condition), resource
	// tags, or attributes with an operator other than stringEquals (such
	// as a wildcard). Such policies are made through the v2 API, typically
	// in the console.
	Conditional bool
	Description string
	CreatedAt   time.Time
}

// Grants reports whether p is a Registry policy that grants access (in
// any spelling Access accepts): the same region and namespace, and the
// role among p's roles.
func (p Policy) Grants(access Access) bool {
	a, errs := access.normalize(nil)
	if len(errs) > 0 || !p.Registry {
		return false
	}
	return p.Access.Region == a.Region && p.Access.Namespace == a.Namespace && slices.Contains(p.Roles, a.Role)
}

// EnsureRegistryPolicy makes sure iamID holds access on Container Registry
// through an IAM access policy with subject iam_id=iamID and resource
// attributes accountId, serviceName=container-registry, region=<region> (or
// geography=global), and resourceType=namespace + resource=<namespace>.
//
// The role's CRN is looked up with ListRoles (once per Client). A policy
// with exactly these resource attributes that already grants the role, or
// IAM's 409 policy_conflict_error, gives Unchanged with the existing
// policy's ID. Other policies of the subject are left alone: this call
// never narrows or removes access.
func (c *Client) EnsureRegistryPolicy(ctx context.Context, iamID string, access Access) (Policy, registrykit.Action, error) {
	pols, results, err := c.EnsureRegistryPolicies(ctx, iamID, []Access{access})
	if err != nil {
		return Policy{}, registrykit.Failed, err
	}
	return pols[0], results[0], nil
}

// EnsureRegistryPolicies is EnsureRegistryPolicy for several accesses of one
// subject with one listing of the subject's policies instead of one per
// access: for the 14 regions of `ibmcloud oc cluster pull-secret apply` that
// is 1 list instead of 14. Every access is validated before any call, every
// problem at once. The results are in the order of accesses; on an error,
// the policies and results of the accesses done before it are returned with
// it.
func (c *Client) EnsureRegistryPolicies(ctx context.Context, iamID string, accesses []Access) ([]Policy, []registrykit.Action, error) {
	errs := requireID(field.NewPath("iamID"), iamID)
	if len(accesses) == 0 {
		errs = append(errs, field.Required(field.NewPath("accesses"), "at least one access"))
	}
	norm := make([]Access, len(accesses))
	for i, access := range accesses {
		a, aerrs := access.normalize(field.NewPath("accesses").Index(i))
		errs = append(errs, aerrs...)
		norm[i] = a
	}
	if err := invalid("EnsureRegistryPolicies", errs); err != nil {
		return nil, nil, err
	}

	var existing []Policy
	listed := false
	pols := make([]Policy, 0, len(norm))
	results := make([]registrykit.Action, 0, len(norm))
	for _, a := range norm {
		wrap := func(err error) error {
			return fmt.Errorf("ensure %s policy for %s: %w", describe(a), iamID, err)
		}
		crn, err := c.roleCRN(ctx, a.Role)
		if err != nil {
			return pols, results, wrap(err)
		}
		if !listed {
			if existing, err = c.listPolicies(ctx, iamID); err != nil {
				return pols, results, wrap(err)
			}
			listed = true
		}
		p, res, err := c.ensurePolicy(ctx, iamID, a, crn, existing)
		if err != nil {
			return pols, results, wrap(err)
		}
		if res == registrykit.Created {
			existing = append(existing, p) // a repeated access finds it
		}
		pols, results = append(pols, p), append(results, res)
	}
	return pols, results, nil
}

// ensurePolicy grants a (normalised, role CRN crn) unless existing already
// holds it.
func (c *Client) ensurePolicy(ctx context.Context, iamID string, a Access, crn string, existing []Policy) (Policy, registrykit.Action, error) {
	want := Policy{
		IAMID: iamID, AccountID: c.accountID, Registry: true, Access: a,
		Roles: []string{a.Role}, RoleCRNs: []string{crn}, Resource: a.attributes(c.accountID),
	}
	if p, ok := matchPolicy(existing, a, crn); ok {
		c.log.DebugContext(ctx, "policy exists", "iam_id", iamID, "id", p.ID)
		return p, registrykit.Unchanged, nil
	}

	attrs := a.attributes(c.accountID)
	var resAttrs []iampolicymanagementv1.ResourceAttribute
	for _, name := range []string{"accountId", "serviceName", "region", "geography", "resourceType", "resource"} {
		if v, ok := attrs[name]; ok {
			resAttrs = append(resAttrs, iampolicymanagementv1.ResourceAttribute{
				Name: ptr(name), Value: ptr(v), Operator: ptr(operatorStringEquals),
			})
		}
	}
	res, resp, err := c.policy.CreatePolicyWithContext(ctx, &iampolicymanagementv1.CreatePolicyOptions{
		Type: ptr(policyTypeAccess),
		Subjects: []iampolicymanagementv1.PolicySubject{{
			Attributes: []iampolicymanagementv1.SubjectAttribute{{Name: ptr("iam_id"), Value: ptr(iamID)}},
		}},
		Roles:     []iampolicymanagementv1.PolicyRole{{RoleID: ptr(crn)}},
		Resources: []iampolicymanagementv1.PolicyResource{{Attributes: resAttrs}},
	})
	if err == nil {
		want.ID = deref(res.ID)
		if res.CreatedAt != nil {
			want.CreatedAt = time.Time(*res.CreatedAt).UTC()
		}
		c.log.InfoContext(ctx, "created policy", "iam_id", iamID, "id", want.ID, "role", a.Role)
		return want, registrykit.Created, nil
	}
	apiErr := c.newAPIError(ctx, "create policy", resp, err).markLimit(ErrPolicyLimit)
	if apiErr.StatusCode != 409 {
		return Policy{}, registrykit.Failed, apiErr
	}
	// 409: IAM names the policy it conflicts with.
	if id := conflictingPolicyID(resp.Result); id != "" && apiErr.Code == codePolicyConflict {
		want.ID = id
		c.log.DebugContext(ctx, "policy exists (409)", "iam_id", iamID, "id", id)
		return want, registrykit.Unchanged, nil
	}
	if p, ok, err := c.findPolicy(ctx, iamID, a, crn); err != nil {
		return Policy{}, registrykit.Failed, errors.Join(apiErr, err)
	} else if ok {
		return p, registrykit.Unchanged, nil
	}
	return Policy{}, registrykit.Failed, apiErr
}

func describe(a Access) string {
	s := a.Role + " on " + ServiceName
	if a.Region != "" {
		s += " in " + a.Region
	}
	if a.Namespace != "" {
		s += " namespace " + a.Namespace
	}
	return s
}

// conflictingPolicyID digs errors[0].details.conflicts_with.policy.id out of
// a Policy Management 409 body.
func conflictingPolicyID(result any) string {
	m, _ := result.(map[string]any)
	list, _ := m["errors"].([]any)
	for _, item := range list {
		e, _ := item.(map[string]any)
		details, _ := e["details"].(map[string]any)
		cw, _ := details["conflicts_with"].(map[string]any)
		p, _ := cw["policy"].(map[string]any)
		if id, _ := p["id"].(string); id != "" {
			return id
		}
	}
	return ""
}

// findPolicy returns an active access policy of iamID with exactly a's
// resource attributes that grants the role with CRN crn.
func (c *Client) findPolicy(ctx context.Context, iamID string, a Access, crn string) (Policy, bool, error) {
	all, err := c.listPolicies(ctx, iamID)
	if err != nil {
		return Policy{}, false, err
	}
	p, ok := matchPolicy(all, a, crn)
	return p, ok, nil
}

// matchPolicy finds the Registry policy among all with exactly a's region
// and namespace that grants the role crn.
func matchPolicy(all []Policy, a Access, crn string) (Policy, bool) {
	for _, p := range all {
		if !p.Registry || p.Access.Region != a.Region || p.Access.Namespace != a.Namespace {
			continue
		}
		for i, rc := range p.RoleCRNs {
			if rc == crn {
				p.Access.Role = p.Roles[i]
				return p, true
			}
		}
	}
	return Policy{}, false
}

// ListRegistryPolicies returns the Registry policies (see Policy.Registry)
// whose only subject is iamID. Like ListPolicies it reads the v2 API, so a
// grant made in the console counts.
func (c *Client) ListRegistryPolicies(ctx context.Context, iamID string) ([]Policy, error) {
	if err := invalid("ListRegistryPolicies", requireID(field.NewPath("iamID"), iamID)); err != nil {
		return nil, err
	}
	all, err := c.listPolicies(ctx, iamID)
	if err != nil {
		return nil, err
	}
	var out []Policy
	for _, p := range all {
		if p.Registry {
			out = append(out, p)
		}
	}
	return out, nil
}

// ListPolicies returns every active access policy whose only subject is
// iamID, of any service, oldest first as IAM lists them: what a service ID
// holds, to converge it to a desired set or to remove it. Policies are read
// through the v2 API (GET /v2/policies): policies made in the console use
// v2 and appear in the v1 listing only as placeholders without roles or
// resources, so a v1 reader would not recognise them.
func (c *Client) ListPolicies(ctx context.Context, iamID string) ([]Policy, error) {
	if err := invalid("ListPolicies", requireID(field.NewPath("iamID"), iamID)); err != nil {
		return nil, err
	}
	return c.listPolicies(ctx, iamID)
}

func (c *Client) listPolicies(ctx context.Context, iamID string) ([]Policy, error) {
	var out []Policy
	var start *string
	for {
		res, resp, err := c.policy.ListV2PoliciesWithContext(ctx, &iampolicymanagementv1.ListV2PoliciesOptions{
			AccountID: ptr(c.accountID), IamID: ptr(iamID), Type: ptr(policyTypeAccess),
			State: ptr(iampolicymanagementv1.ListV2PoliciesOptionsStateActiveConst),
			Limit: ptr(int64(pageSize)), Start: start,
		})
		if err != nil {
			return nil, c.newAPIError(ctx, fmt.Sprintf("list policies of %s", iamID), resp, err)
		}
		for i := range res.Policies {
			if p, ok := c.policyFrom(&res.Policies[i], iamID); ok {
				out = append(out, p)
			}
		}
		if res.Next == nil || deref(res.Next.Start) == "" {
			return out, nil
		}
		if start != nil && *start == *res.Next.Start {
			return out, fmt.Errorf("list policies of %s: IAM returned the same page start twice", iamID)
		}
		start = res.Next.Start
	}
}

// policyFrom converts a v2 listed policy; ok is false for anything but an
// active access policy whose only subject is iam_id=iamID.
func (c *Client) policyFrom(p *iampolicymanagementv1.V2PolicyTemplateMetaData, iamID string) (Policy, bool) {
	if deref(p.Type) != policyTypeAccess || (p.State != nil && *p.State != "active") {
		return Policy{}, false
	}
	if p.Subject == nil || len(p.Subject.Attributes) != 1 {
		return Policy{}, false
	}
	subj := p.Subject.Attributes[0]
	if v, _ := subj.Value.(string); deref(subj.Key) != "iam_id" || v != iamID ||
		(subj.Operator != nil && *subj.Operator != operatorStringEquals) {
		return Policy{}, false
	}
	out := Policy{
		ID: deref(p.ID), IAMID: iamID, AccountID: c.accountID, Description: deref(p.Description),
		Resource:    map[string]string{},
		Conditional: p.Rule != nil || deref(p.Pattern) != "",
	}
	if p.Resource != nil {
		out.Conditional = out.Conditional || len(p.Resource.Tags) > 0
		for _, at := range p.Resource.Attributes {
			v, isString := at.Value.(string)
			if !isString {
				v = fmt.Sprint(at.Value)
			}
			if op := deref(at.Operator); !isString || (op != "" && op != operatorStringEquals) {
				out.Conditional = true
			}
			out.Resource[deref(at.Key)] = v
		}
	}
	for _, crn := range grantedRoles(p.Control) {
		out.RoleCRNs = append(out.RoleCRNs, crn)
		out.Roles = append(out.Roles, c.roleName(crn, ""))
	}
	if access, ok := accessFromAttributes(out.Resource); ok && !out.Conditional && out.Resource["accountId"] == c.accountID {
		out.Registry, out.Access = true, access
		if len(out.Roles) > 0 {
			out.Access.Role = out.Roles[0]
		}
	}
	if p.CreatedAt != nil {
		out.CreatedAt = time.Time(*p.CreatedAt).UTC()
	}
	return out, true
}

// grantedRoles returns the role CRNs of a v2 policy's control.
func grantedRoles(ctl iampolicymanagementv1.ControlResponseIntf) []string {
	var out []string
	switch g := ctl.(type) {
	case *iampolicymanagementv1.ControlResponse:
		if g.Grant != nil {
			for _, r := range g.Grant.Roles {
				out = append(out, deref(r.RoleID))
			}
		}
	case *iampolicymanagementv1.ControlResponseControl:
		if g.Grant != nil {
			for _, r := range g.Grant.Roles {
				out = append(out, deref(r.RoleID))
			}
		}
	case *iampolicymanagementv1.ControlResponseControlWithEnrichedRoles:
		if g.Grant != nil {
			for _, r := range g.Grant.Roles {
				out = append(out, deref(r.RoleID))
			}
		}
	}
	return out
}

// DeletePolicy deletes the policy with the given id through the v2 API,
// which serves policies made through v1 and v2 alike: Deleted, or Skipped
// when there is no such policy (the delete is idempotent; the skip reason
// is registrykit.SkipNotFound).
func (c *Client) DeletePolicy(ctx context.Context, id string) (registrykit.Action, error) {
	if err := invalid("DeletePolicy", requireID(field.NewPath("id"), id)); err != nil {
		return registrykit.Failed, err
	}
	resp, err := c.policy.DeleteV2PolicyWithContext(ctx, &iampolicymanagementv1.DeleteV2PolicyOptions{ID: ptr(id)})
	if err != nil {
		e := c.newAPIError(ctx, fmt.Sprintf("delete policy %s", id), resp, err)
		if errors.Is(e, ErrNotFound) {
			return registrykit.Skipped, nil
		}
		return registrykit.Failed, e
	}
	c.log.InfoContext(ctx, "deleted policy", "id", id)
	return registrykit.Deleted, nil
}

// roleCRN resolves a canonical container-registry role name to its CRN
// with ListRoles, caching the service's roles for the Client's lifetime.
func (c *Client) roleCRN(ctx context.Context, role string) (string, error) {
	c.mu.Lock()
	crn, ok := c.roleCRNs[role]
	cached := len(c.roleCRNs) > 0
	c.mu.Unlock()
	if ok {
		return crn, nil
	}
	if !cached {
		res, resp, err := c.policy.ListRolesWithContext(ctx, &iampolicymanagementv1.ListRolesOptions{
			ServiceName: ptr(ServiceName), AccountID: ptr(c.accountID),
		})
		if err != nil {
			return "", c.newAPIError(ctx, "list roles of "+ServiceName, resp, err)
		}
		c.mu.Lock()
		for _, r := range res.ServiceRoles {
			if name, crn := deref(r.DisplayName), deref(r.CRN); name != "" && crn != "" {
				c.roleCRNs[name] = crn
			}
		}
		crn, ok = c.roleCRNs[role]
		c.mu.Unlock()
		if ok {
			return crn, nil
		}
	}
	return "", fmt.Errorf("IAM lists no %s service role %q", ServiceName, role)
}

// roleName maps a role CRN back to its name: the cached ListRoles answer,
// else the display name IAM sent, else the CRN's last segment.
func (c *Client) roleName(crn, display string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, v := range c.roleCRNs {
		if v == crn {
			return name
		}
	}
	if display != "" {
		return display
	}
	return crn[strings.LastIndex(crn, ":")+1:]
}
