// Package propagate keeps image pull secrets converged as a cluster
// changes: a controller that copies each rule's source secret into every
// selected namespace, attaches the copy to the namespace's service accounts,
// and follows every change after that.
//
// It is the continuous form of pullsecret.Copy plus
// pullsecret.AttachToServiceAccounts and decides with the same pure
// builders, so a one-shot run and the controller never disagree about what
// a copy should be.
//
// # What it follows
//
//   - A namespace created, relabelled or deleted: a new namespace gets its
//     copy; one that leaves a rule's selection keeps it, unless the rule
//     has Prune, which detaches and deletes copies the rule made or
//     adopted (never a foreign secret).
//   - A service account created after its namespace (the controller
//     manager creates "default" moments later) gets the reference; a
//     reference someone removed is put back.
//   - The source secret changed: every copy follows, its labels included
//     (a label removed from the source is removed from the copies). The
//     source deleted or made unusable: copies are kept, a Warning Event is
//     recorded on the source and the source_missing metric is 1; nothing
//     is deleted.
//   - A copy edited or deleted: it is restored.
//   - The internal registry's "<sa>-dockercfg-*" token rotated (a rule with
//     InternalRegistry): the source is built again with
//     pullsecret.InternalRegistrySecret, and the copies follow.
//
// # How
//
// client-go shared informers restricted to what the rules read: secrets by
// field selector on the names of the sources and copies, service accounts
// by field selector on their names, and namespaces. The caches drop what no
// decision reads; a copy's data is replaced by its fingerprint, so memory
// does not grow with the size of the secret. Work is a rate-limited queue
// keyed by rule and namespace; each reconcile reads only the caches (a
// foreign secret that may be adopted is read in full) and writes each
// object at most once, with the resourceVersion it read, so a stale cache
// costs a Conflict and a retry, never a lost update or a duplicate
// imagePullSecrets entry. Every namespace is re-checked at each resync
// (Options.Resync, 10 minutes by default) from the caches, without API
// reads.
//
// With Options.LeaderElection the Propagator reconciles only while it
// holds a coordination.k8s.io Lease, so several replicas may run; the
// others keep warm caches and take over when the Lease expires.
//
// Start(ctx) error makes a Propagator a controller-runtime
// manager.Runnable without this module depending on controller-runtime;
// NeedLeaderElection, Healthz and Readyz fit the manager's interfaces too.
// It also runs on its own (see examples/propagate and deploy/).
//
// # Refresher mode (keyless)
//
// A Rule with a Bearer has no source written by anyone else: the
// Propagator writes it, an iambearer credential (icr.BearerConfig) with an
// IAM access token from the Bearer's iam.TokenSource, and writes it again
// with a new token at 80% of the token's lifetime (icr.RefreshPolicy).
// The copies follow as for any source. A copy is written only while the
// source's token stays valid for more than the policy's margin, so a
// namespace created at any moment gets a valid token. When IAM fails, the
// last token is kept while it is valid, renewal is retried with a
// back-off, and each failure is a TokenRenewalFailed Warning Event on the
// source. No API key is ever written to the cluster.
//
// # Builder mode (internal registry)
//
// A Rule with an InternalRegistry has its source built by the Propagator:
// the secret pullsecret.InternalRegistrySecret writes from a service
// account's "<sa>-dockercfg-*" secret, re-keyed to the registry route. It
// watches the kubernetes.io/dockercfg secrets of the source's namespace (by
// field selector on the type) and the service account, and builds the
// source again when OpenShift rotates the token or someone changes the
// built secret. A build reads the service account and its dockercfg
// secret from the API (rotations are rare) and writes only a changed
// source.
//
// # Observability
//
// Prometheus metrics (registrykit_propagate_*): reconciles_total by
// result, errors_total, writes_total by kind and action,
// reconcile_duration_seconds, namespace_attached_seconds (creation of a
// namespace to its copy attached), queue_depth, source_missing and leader;
// in refresher mode token_renewals_total by result, token_age_seconds and
// token_expiry_seconds (of the token the source holds).
// /healthz and /readyz when Options.HealthAddr is set. Warning Events on
// failed writes (on the namespace), on a foreign secret left in place (on
// the secret) and on an unusable source (on the source).
//
// # Limits
//
// Copies are found by name: a rule removed from Options leaves its copies
// unless it is kept as Retired with Prune until they are gone. The rules
// are fixed for the Propagator's life; build a new one to change them.
// Within a rule, a copy is never written into a namespace that the source
// itself lives in under the same name.
package propagate
