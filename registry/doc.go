// Package registry holds the workflows of the IBM Cloud guide "Setting up an
// image registry" for Red Hat OpenShift, composed from the lower packages
// (dockerconfig, iam, pullsecret, route, imagestream, build).
//
// What is here today:
//
//   - IBM Cloud Container Registry data: Regions, LookupRegion,
//     RegionForDomain, DomainForRegion and Domains list every region with its
//     public domain (us.icr.io), private domain (private.us.icr.io), older
//     region names (uk-south for eu-gb) and retired domains
//     (registry.ng.bluemix.net, never returned by Domains).
//   - ICRConfig builds the all-icr-io document (username iamapikey, every
//     public and private domain by default); EntitledConfig builds the
//     document for the entitled registry cp.icr.io (username cp).
//   - DetectInternal and Storage describe the cluster's internal registry.
//
// The whole-cluster workflows (ApplyClusterPullSecret, ProjectCredentials,
// CopyICRSecret, EntitledRegistry, ExposeInternalRegistry, RotateAPIKey) are
// not built yet; the README's table says which guide steps are.
//
// The region table is data as IBM Cloud documents it; a region IBM adds later
// is unknown here until the table is updated (LookupRegion reports it as
// unknown rather than guessing a domain).
package registry
