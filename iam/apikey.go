package iam

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/IBM/platform-services-go-sdk/iamidentityv1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// APIKey is an IAM API key. Value is set only by CreateAPIKey: IAM returns
// a key's value once, when it is created.
type APIKey struct {
	ID          string
	Name        string
	Description string
	// IAMID is the owner's IAM ID (a user or a service ID).
	IAMID     string
	AccountID string
	CRN       string
	Locked    bool
	Disabled  bool
	CreatedAt time.Time
	// Value is the key itself; zero except in CreateAPIKey's result.
	Value Secret
}

// APIKeyDetails is what IAM says about an API key presented by value.
type APIKeyDetails struct {
	ID        string
	Name      string
	IAMID     string
	AccountID string
	CRN       string
	// Locked keys cannot be changed or deleted; they still authenticate.
	Locked bool
	// Disabled keys do not authenticate.
	Disabled  bool
	CreatedAt time.Time
	// ExpiresAt is IAM's expiry timestamp, empty if the key does not expire.
	ExpiresAt string
}

// Valid reports whether the key can authenticate: it exists (else
// APIKeyDetails returned ErrNotFound) and is not disabled. Expiry is not
// evaluated.
func (d APIKeyDetails) Valid() bool { return !d.Disabled }

func apiKeyFrom(k *iamidentityv1.APIKey) APIKey {
	out := APIKey{
		ID:          deref(k.ID),
		Name:        deref(k.Name),
		Description: deref(k.Description),
		IAMID:       deref(k.IamID),
		AccountID:   deref(k.AccountID),
		CRN:         deref(k.CRN),
		Locked:      deref(k.Locked),
		Disabled:    deref(k.Disabled),
	}
	if k.CreatedAt != nil {
		out.CreatedAt = time.Time(*k.CreatedAt).UTC()
	}
	return out
}

// CreateAPIKey creates an API key for iamID (a service ID's IAMID, or a
// user's) and returns it with its Value — the only time IAM reveals it.
//
// The create is not retried after an ambiguous failure (5xx, no answer):
// IAM may have created the key, but its value cannot be read back, so the
// error is returned and a key named name may be left behind for the caller
// to find with ListAPIKeys and delete. A 429 is waited out and resent.
func (c *Client) CreateAPIKey(ctx context.Context, iamID, name, description string) (APIKey, error) {
	errs := requireID(field.NewPath("iamID"), iamID)
	if strings.TrimSpace(name) == "" {
		errs = append(errs, field.Required(field.NewPath("name"), ""))
	}
	if err := invalid("CreateAPIKey", errs); err != nil {
		return APIKey{}, err
	}
	opts := &iamidentityv1.CreateAPIKeyOptions{
		Name: ptr(name), IamID: ptr(iamID), AccountID: ptr(c.accountID),
		StoreValue: ptr(false),
	}
	if description != "" {
		opts.Description = ptr(description)
	}
	op := fmt.Sprintf("create API key %q for %s", name, iamID)
	for attempt := 0; ; attempt++ {
		res, resp, err := c.identityOnce.CreateAPIKeyWithContext(ctx, opts)
		if err == nil {
			key := apiKeyFrom(res)
			key.Value = NewSecret(deref(res.Apikey))
			c.log.InfoContext(ctx, "created API key", "name", name, "iam_id", iamID, "id", key.ID)
			return key, nil
		}
		apiErr := c.newAPIError(ctx, op, resp, err)
		if apiErr.StatusCode != 429 || attempt >= c.retries || ctx.Err() != nil {
			return APIKey{}, apiErr
		}
		wait := c.backoff(attempt, apiErr)
		c.log.WarnContext(ctx, "create API key rate limited; will retry", "name", name, "wait", wait)
		if err := c.sleep(ctx, wait); err != nil {
			return APIKey{}, errors.Join(apiErr, err)
		}
	}
}

// ListAPIKeys returns every API key owned by iamID (all pages), without
// values.
func (c *Client) ListAPIKeys(ctx context.Context, iamID string) ([]APIKey, error) {
	if err := invalid("ListAPIKeys", requireID(field.NewPath("iamID"), iamID)); err != nil {
		return nil, err
	}
	var out []APIKey
	var token *string
	for {
		res, resp, err := c.identity.ListAPIKeysWithContext(ctx, &iamidentityv1.ListAPIKeysOptions{
			AccountID: ptr(c.accountID), IamID: ptr(iamID), Pagesize: ptr(int64(pageSize)), Pagetoken: token,
		})
		if err != nil {
			return nil, c.newAPIError(ctx, fmt.Sprintf("list API keys of %s", iamID), resp, err)
		}
		for i := range res.Apikeys {
			out = append(out, apiKeyFrom(&res.Apikeys[i]))
		}
		next, err := pageToken(res.Next)
		if err != nil || next == "" {
			return out, err
		}
		if token != nil && *token == next {
			return out, fmt.Errorf("list API keys of %s: IAM returned the same page token twice", iamID)
		}
		token = &next
	}
}

// DeleteAPIKey deletes the API key with the given id. A key that does not
// exist is not an error
// (the delete is idempotent).
func (c *Client) DeleteAPIKey(ctx context.Context, id string) error {
	if err := invalid("DeleteAPIKey", requireID(field.NewPath("id"), id)); err != nil {
		return err
	}
	resp, err := c.identity.DeleteAPIKeyWithContext(ctx, &iamidentityv1.DeleteAPIKeyOptions{ID: ptr(id)})
	if err != nil {
		e := c.newAPIError(ctx, fmt.Sprintf("delete API key %s", id), resp, err)
		if errors.Is(e, ErrNotFound) {
			return nil
		}
		return e
	}
	c.log.InfoContext(ctx, "deleted API key", "id", id)
	return nil
}

// APIKeyDetails asks IAM about a key by its value (GET /v1/apikeys/details
// with the IAM-ApiKey header): whose it is, and whether it is locked or
// disabled. An unknown or deleted key yields an error matching ErrNotFound.
func (c *Client) APIKeyDetails(ctx context.Context, value Secret) (APIKeyDetails, error) {
	if value.IsZero() {
		// field.Required: the value of a credential is never reported.
		return APIKeyDetails{}, invalid("APIKeyDetails", field.ErrorList{field.Required(field.NewPath("value"), "")})
	}
	res, resp, err := c.identity.GetAPIKeysDetailsWithContext(ctx, &iamidentityv1.GetAPIKeysDetailsOptions{
		IamAPIKey: ptr(value.Reveal()),
	})
	if err != nil {
		e := c.newAPIError(ctx, "get API key details", resp, err)
		e.Message = scrubValue(e.Message, value.Reveal())
		e.Code = scrubValue(e.Code, value.Reveal())
		e.TraceID = scrubValue(e.TraceID, value.Reveal())
		return APIKeyDetails{}, e
	}
	k := apiKeyFrom(res)
	return APIKeyDetails{
		ID: k.ID, Name: k.Name, IAMID: k.IAMID, AccountID: k.AccountID, CRN: k.CRN,
		Locked: k.Locked, Disabled: k.Disabled, CreatedAt: k.CreatedAt, ExpiresAt: deref(res.ExpiresAt),
	}, nil
}
