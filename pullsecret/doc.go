// Package pullsecret manages Kubernetes image pull secrets: it creates them,
// copies them to many namespaces, attaches them to service accounts, merges
// the OpenShift global pull secret, derives internal-registry credentials,
// and audits what service accounts reference. It replaces the guide's
// `oc create secret docker-registry`, `oc get secret -o yaml | sed | oc
// create -f -`, `oc patch serviceaccount`, `oc secrets link`, the
// `default-dockercfg-*` decode/re-key steps and the `jq` merge of
// openshift-config/pull-secret. Credential documents are handled by package
// dockerconfig; this package does the Kubernetes I/O.
//
// # Conventions
//
// Every function takes a context and a kubernetes.Interface first (a
// fake.Clientset in tests), validates all of its input before the first API
// call and reports every problem at once: one *registrykit.InvalidError of
// apimachinery field errors ("targets.namespaces[1]: Invalid value: ..."),
// matching registrykit.ErrInvalid. Every options type has a Validate method
// that checks it alone, without I/O. Errors name the object ("copy secret
// default/all-icr-io to team-a: ...") and wrap the API error with %w, so
// apierrors.IsNotFound/IsForbidden/IsConflict still work; missing objects
// are *NotFoundError (errors.Is(err, ErrNotFound)). Secret data never
// appears in errors, Results, Findings or logs.
//
// Each write decision is a registrykit.Result: the Action (Created,
// Updated, Unchanged, Skipped, Deleted), a typed SkipReason when Skipped,
// and a short Reason. Every options struct embeds registrykit.WriteOptions
// (calls without options struct take it directly); its zero value means:
//
//   - DryRun false. When true, writes carry the API server's dryRun=All:
//     admission and validation run, nothing is stored, and the Reason says
//     "dry run". Reads are real; nothing is simulated on the client.
//   - FieldManager "registrykit".
//   - Logger nil: silent. Set an *slog.Logger to get one record per
//     decision (a warning for a skip that needs attention).
//
// # Defaults
//
//   - Copy and AttachToServiceAccounts write 8 namespaces at a time
//     (Concurrency). The client's rate limiter bounds them too: client-go's
//     default QPS 5 / Burst 10 turns 500 creates into about 100 s. Callers
//     that copy to hundreds of namespaces should set rest.Config.QPS and
//     Burst (100 and 200 are reasonable; API Priority and Fairness still
//     protects the server).
//   - Copy keeps the source's name unless CopyOptions.Name is set, and
//     leaves a same-named secret it did not create alone (Skipped with
//     registrykit.SkipForeign, listed by Report.Warnings) unless
//     CopyOptions.Adoption is AdoptForeign (take over a pull secret for the
//     same registries, what the guide's manual copy made) or
//     OverwriteForeign.
//   - Targets.All and Targets.Selector leave out the system namespaces
//     kube-* and openshift-* (DefaultExclude, the propagate controller's
//     default too); each is reported Skipped with registrykit.SkipExcluded.
//     A namespace named in Targets.Namespaces is always a target; an empty
//     non-nil Targets.Exclude includes them all.
//   - Lists are paged 1000 objects at a time (one request up to 999
//     matches; a full page costs one more, possibly empty, request).
//   - MergeGlobal and RemoveFromGlobal protect cloud.openshift.com, quay.io,
//     registry.redhat.io and registry.connect.redhat.com (DefaultRequired):
//     they refuse to remove one or replace its entry, and warn (Result
//     Warnings) about one the secret already lacks.
//   - InternalRegistrySecret uses service account "default" and writes
//     "<sa>-registry-route".
//   - AttachToServiceAccount does not wait for a missing service account
//     unless AttachOptions.WaitForServiceAccount is set.
//   - Link with a zero For links for mount, as `oc secrets link` does
//     without --for.
//
// # Pure decisions
//
// The calls are read, build, compare, write. The build and compare steps
// are exported pure functions, so a controller (package propagate) or a
// user's own reconciler makes exactly the decisions the calls make:
//
//   - DesiredCopy: the copy of a source secret for one namespace.
//   - DecideCopy: what to do about the secret a namespace holds — Created,
//     Updated (in place or by replacing), Unchanged or Skipped with a typed
//     reason — under an Adoption policy. AnnotationContentHash tells that a
//     copy is current without reading its data.
//   - WithImagePullSecret, WithoutImagePullSecret, WithLink: a service
//     account with a reference added or removed, ready for an Update.
//   - ContentHash: the fingerprint AnnotationContentHash holds.
//
// # Reads
//
// Copy does one GET of the source and one namespace List if
// Targets.Selector or Targets.All is set. Up to DirectReadTargets targets it
// reads each with a GET; beyond that, one cluster-wide List of the secrets
// named like the copy (field selector metadata.name), metadata only: the
// AnnotationContentHash tells a current copy without its data, and only
// stale or foreign copies are read in full, one by one. A rerun where every
// copy is current writes nothing. AttachToServiceAccounts lists the service
// accounts of that name. Both need cluster-wide list permission for the
// List; without it they read each target namespace with a GET before
// writing. Copy never creates to find out whether a copy exists: quota
// admission or a webhook can refuse a create before the server would
// answer AlreadyExists.
//
// # Limits
//
//   - Nothing here contacts a registry: a well-formed but revoked credential
//     is not detected, by Audit or anything else.
//   - MergeGlobal changes the secret only. OpenShift 4's Machine Config
//     Operator rolls it out to nodes (and may drain them); on some managed
//     offerings (e.g. IBM Cloud classic workers) nodes must be reloaded or
//     replaced. The Result's Reason says so; this package does neither.
//   - InternalRegistrySecret copies a service-account token; OpenShift
//     rotates it (4.16+), and the call does not follow it. A
//     propagate.Rule with InternalRegistry runs it whenever the token or
//     the service account's reference changes.
//   - Copy keeps a copy's labels equal to the source's, but only adds the
//     source's annotations to a copy's own: an annotation removed from the
//     source stays on the copies. It does not delete copies whose
//     namespaces left the target set.
//   - Link and AttachToServiceAccount do not check that the secret exists
//     (the kubelet skips missing references; Audit reports them).
//   - The fake clientset ignores field selectors and resourceVersion
//     preconditions; the integration tests under test/integration/pullsecret
//     exercise both on a real API server.
package pullsecret
