package iam

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/IBM/platform-services-go-sdk/iamidentityv1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit"
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
	// Locked keys cannot be changed or deleted until unlocked; they still
	// authenticate.
	Locked   bool
	Disabled bool
	// ExpiresAt is when the key stops authenticating; zero if it does not
	// expire.
	ExpiresAt time.Time
	// ActionWhenLeaked is what IAM does when it finds the key leaked;
	// empty if IAM did not say.
	ActionWhenLeaked LeakAction
	CreatedAt        time.Time
	// Value is the key itself; zero except in CreateAPIKey's result.
	Value Secret
}

// ExpiresWithin reports whether the key expires within d of now (or has
// expired already): the "rotate now" test for automation, for example
// registry.RotateAPIKey when k.ExpiresWithin(7*24*time.Hour, time.Now()).
// A key without an expiry never does.
func (k APIKey) ExpiresWithin(d time.Duration, now time.Time) bool {
	return expiresWithin(k.ExpiresAt, d, now)
}

// Marked reports whether the key's description carries Marker: registrykit
// made it.
func (k APIKey) Marked() bool { return IsMarked(k.Description) }

// APIKeyDetails is what IAM says about an API key presented by value.
type APIKeyDetails struct {
	ID          string
	Name        string
	Description string
	IAMID       string
	AccountID   string
	CRN         string
	// Locked keys cannot be changed or deleted; they still authenticate.
	Locked bool
	// Disabled keys do not authenticate.
	Disabled  bool
	CreatedAt time.Time
	// ExpiresAt is when the key stops authenticating; zero if it does not
	// expire.
	ExpiresAt time.Time
}

// Valid reports whether the key can authenticate: it exists (else
// APIKeyDetails returned ErrNotFound) and is not disabled. Expiry is not
// evaluated; see ExpiresWithin.
func (d APIKeyDetails) Valid() bool { return !d.Disabled }

// ExpiresWithin reports whether the key expires within d of now (or has
// expired already); a key without an expiry never does.
func (d APIKeyDetails) ExpiresWithin(dur time.Duration, now time.Time) bool {
	return expiresWithin(d.ExpiresAt, dur, now)
}

// Marked reports whether the key's description carries Marker.
func (d APIKeyDetails) Marked() bool { return IsMarked(d.Description) }

func expiresWithin(at time.Time, d time.Duration, now time.Time) bool {
	return !at.IsZero() && !at.After(now.Add(d))
}

// LeakAction is what IAM does with an API key it finds leaked (published
// in a public repository, say): IAM Identity's action_when_leaked.
type LeakAction string

// The leak actions.
const (
	// LeakDisable: IAM disables the key. It stops authenticating at once,
	// so pulls fail visibly, and an administrator can still inspect it,
	// re-enable it or delete it. APIKeyOptions' default.
	LeakDisable LeakAction = "disable"
	// LeakDelete: IAM deletes the key; nothing of it is left to inspect.
	LeakDelete LeakAction = "delete"
	// LeakNone: IAM only notifies; the leaked key keeps working.
	LeakNone LeakAction = "none"
)

// APIKeyOptions describe an API key to create. The zero value of every
// field but Name is its default.
type APIKeyOptions struct {
	// Name names the key. Required. IAM does not keep names unique.
	Name string
	// Description describes the key. Pass it through Mark to tell the key
	// apart later as one registrykit made.
	Description string
	// ExpiresAt, if set, is when the key stops authenticating (IAM keeps
	// minutes; it must lie in the future). Expiring keys plus rotation give
	// a bounded key lifetime. IAM deletes a key for good 90 days after both
	// its expiry and its last change.
	ExpiresAt time.Time
	// Lock creates the key locked (IAM's entity lock): it cannot be
	// changed or deleted until someone unlocks it, which guards a
	// production key against accidental deletion but also keeps
	// DeleteAPIKey and key pruning from removing it.
	Lock bool
	// ActionWhenLeaked is what IAM does when it finds the key leaked.
	// Empty means LeakDisable, and it is always sent, so the behaviour does
	// not depend on IAM's or the account's default: a leaked pull key
	// should stop working at once (image pulls fail loudly and a rotation
	// mints a fresh key), but be kept for the incident's investigation,
	// which LeakDelete would destroy and LeakNone would leave usable.
	ActionWhenLeaked LeakAction
}

// expiresAtLayout is IAM Identity's expires_at format
// (iamidentityv1.CreateAPIKeyOptions: "yyyy-MM-ddTHH:mm+0000").
const expiresAtLayout = "2006-01-02T15:04-0700"

// Validate reports every problem of o as field errors under path (nil for
// none), checking ExpiresAt against now.
func (o APIKeyOptions) Validate(path *field.Path, now time.Time) field.ErrorList {
	var errs field.ErrorList
	if strings.TrimSpace(o.Name) == "" {
		errs = append(errs, field.Required(path.Child("name"), ""))
	}
	if !o.ExpiresAt.IsZero() && !o.ExpiresAt.Truncate(time.Minute).After(now) {
		errs = append(errs, field.Invalid(path.Child("expiresAt"), o.ExpiresAt.UTC().Format(time.RFC3339), "must lie in the future (IAM keeps minutes)"))
	}
	switch o.ActionWhenLeaked {
	case "", LeakDisable, LeakDelete, LeakNone:
	default:
		errs = append(errs, field.NotSupported(path.Child("actionWhenLeaked"), o.ActionWhenLeaked, []LeakAction{LeakDisable, LeakDelete, LeakNone}))
	}
	return errs
}

func apiKeyFrom(k *iamidentityv1.APIKey) APIKey {
	out := APIKey{
		ID:               deref(k.ID),
		Name:             deref(k.Name),
		Description:      deref(k.Description),
		IAMID:            deref(k.IamID),
		AccountID:        deref(k.AccountID),
		CRN:              deref(k.CRN),
		Locked:           deref(k.Locked),
		Disabled:         deref(k.Disabled),
		ExpiresAt:        parseExpiry(deref(k.ExpiresAt)),
		ActionWhenLeaked: LeakAction(deref(k.ActionWhenLeaked)),
	}
	if k.CreatedAt != nil {
		out.CreatedAt = time.Time(*k.CreatedAt).UTC()
	}
	return out
}

// parseExpiry reads IAM's expires_at: the documented yyyy-MM-ddTHH:mm+0000,
// or RFC 3339 with or without seconds. Anything else (or nothing) is zero:
// an expiry that cannot be read is not acted on.
func parseExpiry(s string) time.Time {
	for _, layout := range []string{expiresAtLayout, time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// CreateAPIKey creates an API key for iamID (a service ID's IAMID, or a
// user's) and returns it with its Value — the only time IAM reveals it.
// The key is created with opts.ActionWhenLeaked (LeakDisable unless set),
// opts.ExpiresAt and the entity lock if opts.Lock.
//
// The create is not retried after an ambiguous failure (5xx, no answer):
// IAM may have created the key, but its value cannot be read back, so the
// error is returned and a key named opts.Name may be left behind for the
// caller to find with ListAPIKeys and delete. A 429 is waited out and
// resent. An identity that holds as many keys as IAM allows yields an
// error matching ErrKeyLimit.
func (c *Client) CreateAPIKey(ctx context.Context, iamID string, opts APIKeyOptions) (APIKey, error) {
	errs := requireID(field.NewPath("iamID"), iamID)
	errs = append(errs, opts.Validate(field.NewPath("opts"), time.Now())...)
	if err := invalid("CreateAPIKey", errs); err != nil {
		return APIKey{}, err
	}
	leak := opts.ActionWhenLeaked
	if leak == "" {
		leak = LeakDisable
	}
	req := &iamidentityv1.CreateAPIKeyOptions{
		Name: ptr(opts.Name), IamID: ptr(iamID), AccountID: ptr(c.accountID),
		StoreValue: ptr(false), ActionWhenLeaked: ptr(string(leak)),
	}
	if opts.Description != "" {
		req.Description = ptr(opts.Description)
	}
	if !opts.ExpiresAt.IsZero() {
		req.ExpiresAt = ptr(opts.ExpiresAt.UTC().Format(expiresAtLayout))
	}
	if opts.Lock {
		req.EntityLock = ptr("true")
	}
	op := fmt.Sprintf("create API key %q for %s", opts.Name, iamID)
	for attempt := 0; ; attempt++ {
		res, resp, err := c.identityOnce.CreateAPIKeyWithContext(ctx, req)
		if err == nil {
			key := apiKeyFrom(res)
			key.Value = NewSecret(deref(res.Apikey))
			c.log.InfoContext(ctx, "created API key", "name", opts.Name, "iam_id", iamID, "id", key.ID)
			return key, nil
		}
		apiErr := c.newAPIError(ctx, op, resp, err).markLimit(ErrKeyLimit)
		if apiErr.StatusCode != 429 || attempt >= c.retries || ctx.Err() != nil {
			return APIKey{}, apiErr
		}
		wait := c.backoff(attempt, apiErr)
		c.log.WarnContext(ctx, "create API key rate limited; will retry", "name", opts.Name, "wait", wait)
		if err := c.sleep(ctx, wait); err != nil {
			return APIKey{}, errors.Join(apiErr, err)
		}
	}
}

// CountAPIKeys returns how many API keys iamID holds (every page is read;
// one request for up to 100 keys). Compare it with DefaultAPIKeyLimit, or
// the account's raised limit, before minting.
func (c *Client) CountAPIKeys(ctx context.Context, iamID string) (int, error) {
	keys, err := c.ListAPIKeys(ctx, iamID)
	return len(keys), err
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

// DeleteAPIKey deletes the API key with the given id: Deleted, or Skipped
// when there is no such key (the delete is idempotent; the skip reason is
// registrykit.SkipNotFound). A locked key is refused by IAM.
func (c *Client) DeleteAPIKey(ctx context.Context, id string) (registrykit.Action, error) {
	if err := invalid("DeleteAPIKey", requireID(field.NewPath("id"), id)); err != nil {
		return registrykit.Failed, err
	}
	resp, err := c.identity.DeleteAPIKeyWithContext(ctx, &iamidentityv1.DeleteAPIKeyOptions{ID: ptr(id)})
	if err != nil {
		e := c.newAPIError(ctx, fmt.Sprintf("delete API key %s", id), resp, err)
		if errors.Is(e, ErrNotFound) {
			return registrykit.Skipped, nil
		}
		return registrykit.Failed, e
	}
	c.log.InfoContext(ctx, "deleted API key", "id", id)
	return registrykit.Deleted, nil
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
		e.messageCode = scrubValue(e.messageCode, value.Reveal())
		return APIKeyDetails{}, e
	}
	k := apiKeyFrom(res)
	return APIKeyDetails{
		ID: k.ID, Name: k.Name, Description: k.Description, IAMID: k.IAMID, AccountID: k.AccountID, CRN: k.CRN,
		Locked: k.Locked, Disabled: k.Disabled, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt,
	}, nil
}
