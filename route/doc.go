// Package route exposes OpenShift's integrated image registry outside the
// cluster with a Route, the way the IBM Cloud guide "Setting up an image
// registry" does by hand:
//
//	oc create route reencrypt --service=image-registry -n openshift-image-registry [--hostname H]
//	oc annotate route image-registry --overwrite haproxy.router.openshift.io/balance=source
//
// # ExposeRegistry
//
// ExposeRegistry finds the registry Service (OpenShift 4.x:
// openshift-image-registry/image-registry, tried first; 3.11:
// default/docker-registry) unless ExposeOptions names one, picks its port
// named "5000-tcp" (or its only port if that is 5000), and creates a Route
// named after the service in the service's namespace with:
//
//   - spec.to: the Service; spec.port.targetPort: the port's name;
//   - spec.tls.termination: reencrypt, no certificates: the router presents
//     its default (wildcard) certificate and verifies the registry with the
//     service CA unless DestinationCACertificate is given — exactly what oc
//     does without --cert/--key/--dest-ca-cert;
//   - spec.tls.insecureEdgeTerminationPolicy left unset (oc's default: plain
//     HTTP is not served) unless InsecureEdgeTerminationPolicy is given;
//   - spec.host: Hostname, or empty so the router generates
//     <name>-<namespace>.<apps domain>;
//   - the service's labels (as oc copies them) and the annotation
//     haproxy.router.openshift.io/balance: source (BalanceSource, default
//     true), so that all requests of one client reach the same registry pod.
//
// The managed fields are those listed above (host, insecure policy and
// destination CA only when set). An existing route whose managed fields
// already match is Unchanged and not written; otherwise only the managed
// fields are changed and everything else (labels, annotations, weight,
// certificates someone added) is kept. Updates re-read the route and retry
// on conflict.
//
// Inputs are validated before any API call: the host must be a lower-case
// DNS-1123 subdomain with labels of at most 63 characters (no scheme, port,
// wildcard or trailing dot), and every problem is reported at once as one
// *registrykit.InvalidError of field errors, matching registrykit.ErrInvalid
// (a host echoed in it has any userinfo removed). A registry service without the
// registry port is a *PortError (ErrNoRegistryPort); no service at all is
// ErrNoRegistryService.
//
// # Waiting for the host
//
// WaitForHost watches one route until a router admits it and returns
// status.ingress[].host, or a *NotAdmittedError when every router rejected
// it. It waits as long as ctx allows; give ctx a deadline.
//
// EnableDefaultRoute is the operator-managed alternative on 4.x: it sets
// spec.defaultRoute on the imageregistry operator config "cluster" and waits
// for openshift-image-registry/default-route.
//
// # Limits
//
// The package never deletes routes and does not remove the balance
// annotation when BalanceSource is false. It does not check that the
// registry actually serves TLS: a 3.11 registry without a serving
// certificate needs an edge route instead, and a 3.11 registry whose
// certificate is not signed by the service CA needs DestinationCACertificate.
// Changing spec.host of an existing route needs the routes/custom-host
// permission. Dry runs are the API server's (metav1.DryRunAll): fake
// clientsets ignore them.
package route
