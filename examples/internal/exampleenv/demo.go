package exampleenv

// Demo credentials of embedded mode. They only ever reach the in-memory
// fakes, but they stand in for real secrets, so each starts with
// DemoCredentialPrefix: a test can scan whatever a program printed or logged
// for that prefix (raw, and in base64 inside a registry auth) and treat any
// hit as a leak a real credential would suffer too. internal/leakcanary does
// that for every program under examples/.
//
// A program that needs a demo credential uses one of these constants (or
// DemoCredentialPrefix followed by a name) rather than a literal of its own;
// no value that is not a credential may start with DemoCredentialPrefix.
const (
	DemoCredentialPrefix = "embedded-demo-"

	// DemoCallerAPIKey is the embedded IBM Cloud account owner's API key:
	// Env.APIKey in embedded mode.
	DemoCallerAPIKey = DemoCredentialPrefix + "caller-apikey"
	// DemoEntitlementKey stands in for an IBM entitlement key (cp.icr.io).
	DemoEntitlementKey = DemoCredentialPrefix + "entitlement-key"
	// DemoRegistryPassword stands in for a registry password.
	DemoRegistryPassword = DemoCredentialPrefix + "registry-password"
	// DemoServiceAccountToken is the token in the generated
	// <sa>-dockercfg-* secrets of the projects that Projects returns.
	DemoServiceAccountToken = DemoCredentialPrefix + "service-account-token"
)

// demoOwnerIAMID is the IAM ID of the embedded account's owner, whose key
// is DemoCallerAPIKey.
const demoOwnerIAMID = "IBMid-0000EXAMPLE"
