// Package registry holds the workflows of the IBM Cloud guide "Setting up an
// image registry" for Red Hat OpenShift, composed from the lower packages
// (dockerconfig, iam, pullsecret, route, imagestream, build).
//
// Workflows, one per section of the guide, each returning a Report of every
// step (what was created, updated, reused or left unchanged, and why):
//
//   - ApplyClusterPullSecret: `ibmcloud oc cluster pull-secret apply` — a
//     service ID holding exactly one Reader policy for every region, an API
//     key, the all-icr-io secret in default, attached to the default service
//     account. A rerun reuses a still-valid key; a failure after a key was
//     minted deletes it; keys registrykit made that no pull secret holds
//     are deleted once the new one is in place (never past IAM's 20 keys).
//   - ProjectCredentials: a service ID, scoped policy, API key and pull
//     secret per project ("different IAM API key credentials").
//   - CopyICRSecret: all-icr-io into other projects, attached there.
//   - EntitledRegistry: the cp.icr.io secret for an entitlement key.
//   - ExposeInternalRegistry: reencrypt route, its admitted host, and a pull
//     secret for that host in each project.
//   - BuildPushSecret: a Writer key, its secret linked to the builder
//     account and set as a BuildConfig's push secret.
//   - ImportImage: oc tag plus waiting for the import.
//   - RotateAPIKey: mint, update every copy, verify, then delete the old key
//     unless a pull secret of any name still holds it.
//   - RemoveClusterPullSecret, RemoveProjectCredentials: teardown in a safe
//     order — service-account references, the secrets of ours (copies made
//     or adopted included), the keys no pull secret holds, then the
//     policies and the service ID.
//
// Data and helpers:
//
//   - IBM Cloud Container Registry data (regions, domains, the API key,
//     entitlement and iambearer documents) lives in package icr.
//   - DetectInternal and Storage describe the cluster's internal registry.
//   - Cluster bundles the clients; NewCluster raises client-go's default
//     rate limits; registrytest gives fakes.
//
// Every workflow's options embed registrykit.WriteOptions (dry run, field
// manager, logger). A dry run makes no IAM write (IAM is only read) and
// sends every Kubernetes write with dryRun=All. Each Step carries a
// registrykit.Action, and a typed registrykit.SkipReason when skipped;
// Report.Warnings lists the steps whose skip needs attention (a same-named
// object registrykit did not make was left in place). The workflow logs each
// step once to WriteOptions.Logger; the lower packages' calls it makes get
// no logger of their own.
//
// What no library call can do: after the global pull secret changes, the
// nodes must pick it up (on IBM Cloud, a worker reload or replace); the
// workflows report that a reload is needed instead.
package registry
