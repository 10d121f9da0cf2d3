// Package iamtest is an in-memory fake of IBM Cloud IAM for tests: the
// token service, IAM Identity (service IDs, API keys) and IAM Policy
// Management (access policies, roles), served by net/http/httptest with
// the JSON shapes of platform-services-go-sdk's models, so the real SDK
// (and go-sdk-core's IamAuthenticator) can be pointed at it:
//
//	srv := iamtest.NewServer()
//	defer srv.Close()
//	key := srv.AddAPIKey("IBMid-100000ABCD") // the account owner's key
//	client, err := iam.New(iam.Options{
//		APIKey: iam.NewSecret(key), AccountID: srv.AccountID(), URL: srv.URL(),
//	})
//
// # What it does
//
//   - POST /identity/token: apikey, refresh_token and trusted-profile
//     (urn:ibm:params:oauth:grant-type:cr-token) grants; an unknown key is
//     answered 400 with errorCode BXNIM0415E. Access tokens are HS256 JWTs
//     with iam_id, account.bss, iat and exp claims, valid one hour unless
//     WithTokenLifetime or SetTokenLifetime says otherwise (whole seconds,
//     so a test can use tokens of a few seconds); refresh tokens start
//     with RefreshTokenPrefix. Every other call needs a valid bearer token
//     (401 otherwise).
//   - Trusted profiles: AddTrustedProfile makes a profile that trusts
//     given workload subjects, CRToken mints a compute-resource token for
//     a subject (a JWT, like a cluster's projected service account token).
//     The cr-token grant takes cr_token and one of profile_id,
//     profile_name or profile_crn, as IAM documents it, and answers
//     without a refresh token. A missing property is 400
//     CodePropertyMissing, an unknown or expired CR token 400
//     CodeInvalidCRToken, an unknown profile 400 CodeProfileNotFound, a
//     profile that does not trust the workload 403 CodeProfileNotTrusted,
//     all in the token service's error shape {"errorCode",
//     "errorMessage", "context": {"requestId"}}.
//   - TokenValidAt and TokenExpiry say whether, and until when, the server
//     accepts an access token, so a test can check every token it finds
//     written somewhere.
//   - /v1/serviceids/: create, list (account_id required; the name filter
//     matches the whole name exactly; pagesize ≤ 100, default 20;
//     pagetoken from the next link), get, delete (which deletes the
//     service ID's API keys). A create past the account's service ID
//     limit (DefaultServiceIDLimit, WithServiceIDLimit) is answered 422.
//   - /v1/apikeys: create (the value is in this answer only; like every
//     key the server mints, it is KeyPrefix followed by random characters,
//     so tests can scan any output for KeyPrefix; action_when_leaked,
//     expires_at and the Entity-Lock header are kept and echoed; a create
//     past the identity's key limit, DefaultAPIKeyLimit or
//     WithAPIKeyLimit, is answered 422 BXNIM0151E as IAM does), list by
//     iam_id (paged like service IDs), get, delete, and GET
//     /v1/apikeys/details by the IAM-ApiKey header.
//   - /v1/policies: create (a policy whose subjects and resources equal an
//     existing one's and that grants one of its roles is answered 409
//     policy_conflict_error with errors[0].details.conflicts_with naming
//     the policy and the role; region=global is refused 400, global being
//     a geography), list by iam_id and type (limit ≤ 100, default 50;
//     start from next.start), get, delete. Policies made through v2
//     appear here only as placeholders without roles or resources.
//   - /v2/policies: list (every policy, in the v2 shape), get, delete.
//     AddV2Policy seeds a policy as the console makes it.
//   - /v2/roles: container-registry's Reader, Writer and Manager service
//     roles (IAM's generic CRNs crn:v1:bluemix:public:iam::::serviceRole:<Role>)
//     and the platform roles.
//
// Requests() is a log of what the client sent, with every credential
// redacted (Authorization, IAM-ApiKey, apikey and cr_token fields, and any
// key value or token the server knows, wherever it appears). Inject, Fail,
// RateLimit and FailAfterApply make a chosen call fail — including the
// ambiguous "applied, then answered 500" — with IAM-shaped error bodies.
// Outage makes every call of an operation fail until Resume: with a
// status, or (status 0) by holding the request unanswered until the
// client gives up — a hung token service is Outage(OpGetToken, 0).
//
// # Limits
//
// One account; no access control beyond "a valid token of this account"
// (a wrong account_id is 403). Locks and expiry of API keys are kept and
// shown but not enforced (a locked key can be deleted, an expired one
// still gets tokens). No service ID groups, trusted profile APIs
// (profiles are seeded, and trust is a list of subjects rather than links
// and rules), access groups, policy templates, v2 policy creation through
// the API (AddV2Policy seeds them), the account's policy limit, or custom
// roles. Deleting a service ID does not delete its policies. Error codes
// other than BXNIM0415E, BXNIM0151E and policy_conflict_error (those of
// the cr-token grant, the service ID limit, region=global and the v1
// placeholder's content included) are plausible, not copied from IAM.
// Lists are immediately consistent, which real IAM does not promise.
package iamtest
