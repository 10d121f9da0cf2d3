package iam

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/IBM/platform-services-go-sdk/iamidentityv1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit"
)

// pageSize is the page size asked of IAM list calls (IAM's maximum is 100).
const pageSize = 100

// ServiceID is an IAM service ID.
type ServiceID struct {
	// ID is the service ID's id ("ServiceId-...").
	ID string
	// IAMID is the identity used as a policy subject and API key owner
	// ("iam-ServiceId-...").
	IAMID       string
	Name        string
	Description string
	AccountID   string
	CRN         string
	Locked      bool
	CreatedAt   time.Time
}

// Marked reports whether the service ID's description carries Marker:
// registrykit made it.
func (s ServiceID) Marked() bool { return IsMarked(s.Description) }

func serviceIDFrom(s *iamidentityv1.ServiceID) ServiceID {
	out := ServiceID{
		ID:          deref(s.ID),
		IAMID:       deref(s.IamID),
		Name:        deref(s.Name),
		Description: deref(s.Description),
		AccountID:   deref(s.AccountID),
		CRN:         deref(s.CRN),
		Locked:      deref(s.Locked),
	}
	if s.CreatedAt != nil {
		out.CreatedAt = time.Time(*s.CreatedAt).UTC()
	}
	return out
}

// EnsureServiceID returns the service ID of the account named exactly name,
// creating it (with description) if there is none.
//
// IAM does not refuse two service IDs of one name, so the create is never
// blindly repeated: the create request is sent without transport-level
// retries, and after an ambiguous failure (a 5xx or no answer, when IAM may
// have applied it) the service IDs are listed again before another attempt.
// A 429 is waited out (Retry-After) and the create resent.
//
// An existing service ID's description is left as it is. If several
// service IDs already carry the name, the oldest is returned and a warning
// logged.
func (c *Client) EnsureServiceID(ctx context.Context, name, description string) (ServiceID, registrykit.Action, error) {
	if err := invalid("EnsureServiceID", validateServiceIDName(field.NewPath("name"), name)); err != nil {
		return ServiceID{}, registrykit.Failed, err
	}
	wrap := func(err error) error { return fmt.Errorf("ensure service ID %q: %w", name, err) }

	found, ok, err := c.findServiceID(ctx, name)
	if err != nil {
		return ServiceID{}, registrykit.Failed, wrap(err)
	}
	if ok {
		c.log.DebugContext(ctx, "service ID exists", "name", name, "id", found.ID)
		return found, registrykit.Unchanged, nil
	}

	for attempt := 0; ; attempt++ {
		created, apiErr := c.createServiceID(ctx, name, description)
		if apiErr == nil {
			c.log.InfoContext(ctx, "created service ID", "name", name, "id", created.ID)
			return created, registrykit.Created, nil
		}
		retryable := apiErr.ambiguous() || apiErr.StatusCode == 429
		if !retryable || attempt >= c.retries || ctx.Err() != nil {
			return ServiceID{}, registrykit.Failed, wrap(apiErr)
		}
		wait := c.backoff(attempt, apiErr)
		c.log.WarnContext(ctx, "create service ID failed; will retry",
			"name", name, "status", apiErr.StatusCode, "code", apiErr.Code, "trace", apiErr.TraceID, "wait", wait)
		if err := c.sleep(ctx, wait); err != nil {
			return ServiceID{}, registrykit.Failed, wrap(errors.Join(apiErr, err))
		}
		if apiErr.ambiguous() {
			found, ok, err := c.findServiceID(ctx, name)
			if err != nil {
				return ServiceID{}, registrykit.Failed, wrap(errors.Join(apiErr, err))
			}
			if ok {
				c.log.InfoContext(ctx, "create service ID was applied despite the error", "name", name, "id", found.ID)
				return found, registrykit.Created, nil
			}
		}
	}
}

// validateServiceIDName refuses an empty or blank name and one with white
// space at either end: IAM would store it as given, and a name that differs
// from the intended one only in white space is never found again by exact
// comparison.
func validateServiceIDName(path *field.Path, name string) field.ErrorList {
	switch {
	case strings.TrimSpace(name) == "":
		return field.ErrorList{field.Required(path, "a service ID name must not be empty or blank")}
	case strings.TrimSpace(name) != name:
		return field.ErrorList{field.Invalid(path, name, "must not begin or end with white space")}
	}
	return nil
}

func (c *Client) createServiceID(ctx context.Context, name, description string) (ServiceID, *APIError) {
	opts := &iamidentityv1.CreateServiceIDOptions{AccountID: ptr(c.accountID), Name: ptr(name)}
	if description != "" {
		opts.Description = ptr(description)
	}
	res, resp, err := c.identityOnce.CreateServiceIDWithContext(ctx, opts)
	if err != nil {
		return ServiceID{}, c.newAPIError(ctx, "create service ID", resp, err).markLimit(ErrServiceIDLimit)
	}
	return serviceIDFrom(res), nil
}

// FindServiceID returns the service ID of the account named exactly name;
// ok is false if there is none. It asks IAM for that name only (the list
// API's name filter) and compares names exactly itself, so it costs one
// request however many service IDs the account holds. If several carry
// the name, the oldest is returned, as EnsureServiceID does.
func (c *Client) FindServiceID(ctx context.Context, name string) (sid ServiceID, ok bool, err error) {
	if err := invalid("FindServiceID", validateServiceIDName(field.NewPath("name"), name)); err != nil {
		return ServiceID{}, false, err
	}
	sid, ok, err = c.findServiceID(ctx, name)
	if err != nil {
		return ServiceID{}, false, fmt.Errorf("find service ID %q: %w", name, err)
	}
	return sid, ok, nil
}

// findServiceID lists every page of service IDs matching name and returns
// the oldest whose name is exactly name.
func (c *Client) findServiceID(ctx context.Context, name string) (ServiceID, bool, error) {
	all, err := c.listServiceIDs(ctx, name)
	if err != nil {
		return ServiceID{}, false, err
	}
	var exact []ServiceID
	for _, s := range all {
		if s.Name == name {
			exact = append(exact, s)
		}
	}
	if len(exact) == 0 {
		return ServiceID{}, false, nil
	}
	sort.SliceStable(exact, func(i, j int) bool { return exact[i].CreatedAt.Before(exact[j].CreatedAt) })
	if len(exact) > 1 {
		c.log.WarnContext(ctx, "several service IDs share a name; using the oldest",
			"name", name, "count", len(exact), "id", exact[0].ID)
	}
	return exact[0], true, nil
}

// listServiceIDs returns all service IDs of the account that IAM matches
// with the name filter (empty: all), following next links.
func (c *Client) listServiceIDs(ctx context.Context, name string) ([]ServiceID, error) {
	var out []ServiceID
	var token *string
	for {
		opts := &iamidentityv1.ListServiceIdsOptions{AccountID: ptr(c.accountID), Pagesize: ptr(int64(pageSize)), Pagetoken: token}
		if name != "" {
			opts.Name = ptr(name)
		}
		res, resp, err := c.identity.ListServiceIdsWithContext(ctx, opts)
		if err != nil {
			return nil, c.newAPIError(ctx, "list service IDs", resp, err)
		}
		for i := range res.Serviceids {
			out = append(out, serviceIDFrom(&res.Serviceids[i]))
		}
		next, err := pageToken(res.Next)
		if err != nil || next == "" {
			return out, err
		}
		if token != nil && *token == next {
			return out, fmt.Errorf("list service IDs: IAM returned the same page token twice")
		}
		token = &next
	}
}

// ListServiceIDs returns every service ID of the account (all pages).
func (c *Client) ListServiceIDs(ctx context.Context) ([]ServiceID, error) {
	return c.listServiceIDs(ctx, "")
}

// GetServiceID returns the service ID with the given id.
func (c *Client) GetServiceID(ctx context.Context, id string) (ServiceID, error) {
	if err := invalid("GetServiceID", requireID(field.NewPath("id"), id)); err != nil {
		return ServiceID{}, err
	}
	res, resp, err := c.identity.GetServiceIDWithContext(ctx, &iamidentityv1.GetServiceIDOptions{ID: ptr(id)})
	if err != nil {
		return ServiceID{}, c.newAPIError(ctx, fmt.Sprintf("get service ID %s", id), resp, err)
	}
	return serviceIDFrom(res), nil
}

// DeleteServiceID deletes a service ID (by its id, "ServiceId-...") and,
// as IAM does, its API keys: Deleted, or Skipped when there is no such
// service ID (the delete is idempotent; the skip reason is
// registrykit.SkipNotFound). Delete its access policies first
// (ListPolicies, DeletePolicy): this call does not. A locked service ID is
// refused by IAM.
func (c *Client) DeleteServiceID(ctx context.Context, id string) (registrykit.Action, error) {
	if err := invalid("DeleteServiceID", requireID(field.NewPath("id"), id)); err != nil {
		return registrykit.Failed, err
	}
	resp, err := c.identity.DeleteServiceIDWithContext(ctx, &iamidentityv1.DeleteServiceIDOptions{ID: ptr(id)})
	if err != nil {
		e := c.newAPIError(ctx, fmt.Sprintf("delete service ID %s", id), resp, err)
		if errors.Is(e, ErrNotFound) {
			return registrykit.Skipped, nil
		}
		return registrykit.Failed, e
	}
	c.log.InfoContext(ctx, "deleted service ID", "id", id)
	return registrykit.Deleted, nil
}

// pageToken extracts the pagetoken query parameter of an IAM "next" link.
func pageToken(next *string) (string, error) {
	if next == nil || *next == "" {
		return "", nil
	}
	u, err := url.Parse(*next)
	if err != nil {
		return "", fmt.Errorf("parse next page link: %w", err)
	}
	return u.Query().Get("pagetoken"), nil
}
