// Package registrykit automates image-registry access for Red Hat OpenShift
// (and plain Kubernetes) clusters, with first-class support for IBM Cloud
// Container Registry (icr.io) and IBM Cloud IAM.
//
// Every step an operator does by hand in the IBM Cloud guide "Setting up an
// image registry" — oc create secret docker-registry, copying all-icr-io into
// other projects, patching service accounts, merging the global pull secret
// with jq, ibmcloud iam service-id-create / service-policy-create /
// service-api-key-create, exposing the internal registry, oc tag — is one
// typed, idempotent, tested call in one of the packages below.
//
// Package map (imports only point down):
//
//	registry       the guide's workflows (ApplyClusterPullSecret, CopyICRSecret,
//	               RotateAPIKey, ...), DetectInternal, the Cluster bundle
//	icr            IBM Cloud Container Registry data: regions, domains, the
//	               iamapikey, entitlement and short-lived iambearer documents
//	pullsecret     Kubernetes image pull secrets: Apply, Copy to projects,
//	               attach to service accounts, MergeGlobal, Audit
//	route          expose the internal registry with a reencrypt route
//	imagestream    oc tag: import icr.io images into image streams
//	build          link secrets to the builder account, BuildConfig secrets
//	iam            IBM Cloud IAM service IDs, container-registry policies,
//	               API keys (never imports Kubernetes)
//	dockerconfig   pure data: the .dockerconfigjson / .dockercfg engine
//
// Test doubles for users' own tests live in iam/iamtest (a stateful fake of
// the IAM endpoints). The integration tier under test/ runs a real
// kube-apiserver and etcd.
//
// This root package holds the vocabulary every package shares, the way
// golang.org/x/oauth2 holds what oauth2/google uses: the Action and Result
// every call reports (with a typed SkipReason), the WriteOptions every call
// that writes honours, and the one invalid-input error, InvalidError, which
// carries apimachinery field errors and matches ErrInvalid.
//
// Conventions shared by every package: calls that do I/O take a
// context.Context first; options are structs whose zero value is the
// default; inputs are validated, every problem at once, before the first
// write; writes report what they did (created, updated, unchanged, skipped);
// nothing is logged unless a *slog.Logger is given; and no credential ever
// appears in an error, a log record or fmt output.
package registrykit
