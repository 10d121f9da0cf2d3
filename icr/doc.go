// Package icr holds what is specific to IBM Cloud Container Registry
// (icr.io): its regions and domains, and the .dockerconfigjson documents it
// accepts.
//
// Regions, LookupRegion, RegionForDomain, DomainForRegion and Domains list
// every region with its public domain (us.icr.io), its private domain
// (private.us.icr.io), its older names (uk-south for eu-gb) and its retired
// domains (registry.ng.bluemix.net, which Domains never returns). The zero
// DomainOptions selects every public and private domain of every region,
// global included: the domains of the all-icr-io secret that
// `ibmcloud oc cluster pull-secret apply` writes.
//
// The documents:
//
//   - APIKeyConfig: username "iamapikey", an IAM API key as the password (the
//     guide's all-icr-io). The key never expires.
//   - EntitledConfig: username "cp", an entitlement key, for cp.icr.io.
//   - BearerConfig: username "iambearer", a short-lived IAM access token as
//     the password; RefreshPolicy decides when a stored token must be renewed
//     and whether one may be written, and Refresher renews it from an
//     iam.TokenSource.
//
// The region table is data of this module's version: a region IBM Cloud adds
// later is unknown here until the table is updated (LookupRegion reports it
// as not found, and Domains refuses it).
package icr
