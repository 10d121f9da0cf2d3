// Package iam provisions IBM Cloud IAM for image-registry access: service
// IDs, IBM Cloud Container Registry access policies and API keys. It is
// what `ibmcloud iam service-id-create`, `ibmcloud iam service-policy-create
// --service-name container-registry` and `ibmcloud iam
// service-api-key-create` do, as typed, idempotent calls.
//
// A Client wraps platform-services-go-sdk's iamidentityv1 and
// iampolicymanagementv1 services and only ever uses their ...WithContext
// calls. Inputs and outputs are plain values; API key values are Secret,
// which cannot be printed, logged or marshalled by accident.
//
// # Defaults
//
// With only Options.APIKey and Options.AccountID set, a Client talks to
// https://iam.cloud.ibm.com (Options.Private selects
// https://private.iam.cloud.ibm.com), exchanges the key for a token at
// <URL>/identity/token, retries 429 and 5xx answers up to 4 times
// honouring Retry-After, and logs nothing.
//
// # Tokens
//
// A TokenSource supplies IAM access tokens (Token: the value, a Secret,
// with its expiry and issue time): NewAPIKeyTokenSource from an API key,
// NewTrustedProfileTokenSource from a trusted profile and the
// compute-resource token the platform mounts in the workload (no key at
// all), NewAuthenticatorTokenSource from any go-sdk-core authenticator.
// They cache the token and renew it once 80% of its lifetime has passed
// (RenewFraction). The same tokens authenticate a registry: IBM Cloud
// Container Registry accepts one as the password of the user "iambearer"
// (package icr builds and refreshes such credentials). ParseToken reads
// the times of a token found stored somewhere from its claims. A trusted
// profile's compute-resource token can also be handed over in memory
// (TrustedProfileOptions.CRToken), as a kubelet hands a service account
// token to an image credential provider.
//
// A Client authenticates every request from one TokenSource (Options.APIKey
// and Options.Authenticator are turned into one), fetched under the
// request's context: a call returns when its ctx ends even if the token
// service does not answer, and each Client has its own cache and lock,
// where go-sdk-core's authenticators share one process-wide mutex. While
// the cached token stays valid, a Client keeps sending it and renews it in
// the background past its renewal point, so a brief token service outage
// does not fail its calls.
//
// # Idempotence
//
// EnsureServiceID (like FindServiceID) asks IAM for the service IDs of the
// wanted name only, compares names exactly, and after an ambiguous failure
// of the create (a 5xx or no answer) lists again before retrying, so one
// name never becomes two service IDs. EnsureRegistryPolicy reads the
// subject's policies through the v2 API, so a grant made in the console
// (v2; a mere placeholder in the v1 listing) is recognised, and treats an
// equal existing policy and IAM's 409 policy_conflict_error as Unchanged;
// it creates policies in the v1 shape. Outcomes are the module's one
// vocabulary, registrykit.Action. Deletes are idempotent: Deleted, or
// Skipped when the object is already gone.
//
// # Lifecycle
//
// Everything registrykit creates it can find again: Mark appends Marker
// to a description, and APIKey.Marked and ServiceID.Marked tell such
// objects apart. ListPolicies, DeletePolicy, CountAPIKeys, DeleteAPIKey
// and DeleteServiceID are the pieces of teardown and of key pruning.
// APIKeyOptions carry what security teams ask of a key: an expiry
// (ExpiresAt; APIKey.ExpiresWithin is the "rotate now" test), the entity
// lock, and what IAM does when it finds the key leaked (disable, by
// default).
//
// # Errors
//
// Failed requests return *APIError (operation, HTTP status, IAM error code,
// trace id), which matches ErrNotFound, ErrConflict, ErrUnauthorized,
// ErrForbidden or ErrRateLimited with errors.Is, and ErrKeyLimit,
// ErrServiceIDLimit or ErrPolicyLimit when IAM refused a create for one of
// its account limits (the message then states the limit and the way out),
// and unwraps to the SDK's
// error (and to the context's error when ctx ended the call). A call that
// could not get a token reports the token service's answer. An error
// never holds a credential the client holds or has held: the API key,
// access and refresh tokens, compute-resource tokens are scrubbed from
// whatever a server (or a proxy) echoes. Invalid input is reported before
// any request, all problems at once, as a *registrykit.InvalidError (field
// errors with paths such as "accesses[1].region"; a credential's value is
// never among them) that matches registrykit.ErrInvalid.
//
// # Limits
//
//   - IAM lists are eventually consistent. If a create was applied but is
//     not yet visible when EnsureServiceID lists again, a second service ID
//     can still be made; the next EnsureServiceID returns the oldest and
//     logs a warning.
//   - An existing service ID's description is not updated.
//   - CreateAPIKey is not retried after an ambiguous failure: IAM shows a
//     key's value only in the create answer, so a key created then may be
//     left behind unreadable; find it with ListAPIKeys and delete it.
//   - EnsureRegistryPolicy never narrows, replaces or deletes other
//     policies; it only adds. Only attributes it writes itself are
//     recognised as equal (no wildcards, tags, resource groups or
//     conditions).
//   - IAM's codes for the service ID and policy limits are not documented;
//     those refusals are recognised by their wording (a limit, a quota, a
//     maximum number), the API key limit by its code BXNIM0151E.
//   - AccountID is not discovered from the token; it must be given.
//   - go-sdk-core has a process-wide logger (core.SetLogger); this package
//     never changes it. At debug level it logs requests with credentials
//     redacted by the SDK; keep it at its default level.
package iam
