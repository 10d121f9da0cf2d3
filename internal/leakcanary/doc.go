// Package leakcanary holds only tests: the leak canary. It drives every
// registry workflow, the lower-level calls that take credentials
// (dockerconfig, pullsecret, iam) and every program under examples/ with
// recognisable sentinel credentials, on the registrytest fakes and an
// iamtest server, and scans everything a user could see for them: every
// error string (the whole wrapped tree), every log record (a capturing
// slog.Handler that resolves LogValuers), the %v, %+v, %#v, %s, %q and
// JSON forms of every returned value and of everything it reaches through
// exported fields, elements and pointers (credential documents included:
// json.Marshal of a dockerconfig.Config is redacted too), what log/slog's
// own text and JSON handlers write for dockerconfig values nested at depth
// two and more, and the examples' stdout and stderr. A credential counts as found raw, as hex or
// as the decimal bytes fmt prints for a []byte, and in base64 at any of
// the three byte alignments it can take inside a registry auth
// (base64("user:" + password)). The test passes only with zero hits.
//
// What is looked for:
//
//   - in process: the sentinels the tests plant (the caller's API key, an
//     entitlement key, a registry password, a service account token, a
//     planted key to rotate), every key iamtest mints (iamtest.KeyPrefix),
//     every access token iamtest issued, and anything shaped like a JWT;
//   - in the examples' output: iamtest.KeyPrefix, the demo credentials of
//     exampleenv (exampleenv.DemoCredentialPrefix), the service account
//     tokens of the embedded cluster's generated dockercfg secrets, the
//     values the canary puts in every credential-like environment variable
//     an example declares, and anything shaped like a JWT.
//
// User input is attacked too: a credential pasted as userinfo into every
// host, server, domain, route hostname, region, image reference and IAM URL
// an entry point takes, and every field error that validation returns for
// it (registrykit.Invalid redacts userinfo in every field error's value).
// Every token source (API key, trusted profile by file and in memory) is
// printed with its credential and cached token inside, and its failures
// (an unknown key, an untrusted workload, an unknown compute-resource
// token, an IAM outage) are scanned.
//
// The examples are found by listing examples/*/main.go (examples/internal
// excluded) when the test runs, built with one go build into a temporary
// directory, and run at most two at a time, embedded (an environment with
// only HOME and TMPDIR: no KUBECONFIG, no IBMCLOUD_API_KEY): with -h and
// with --help (each must exit 0 with the usage), with -v (debug records on
// stderr), with -v --dry-run, with -v and each of the
// program's own boolean flags (read from its -h), and with -v and every
// credential-like environment variable its source names (REGISTRY_PASSWORD,
// IBM_ENTITLEMENT_KEY, ...) set to a sentinel. The plain -v run must
// succeed and say on its first line that it runs embedded; the others may
// stop early (logged), and their output is scanned all the same. A program
// without exampleenv's -v or --dry-run is run without them. exampleenv's
// constants are read from its source (it is internal to examples/). A
// kubelet image credential provider (a program that imports the kubelet's
// credentialprovider API) has no embedded mode: it is run against an
// iamtest server with requests on stdin, failing with sentinel
// credentials in its key file, its compute-resource token file and the
// request's service account token, and succeeding with a key IAM knows;
// its successful answer carries an access token by design and is scanned
// for everything else. The examples are skipped with -short.
//
// Limits: it finds credentials it knows or can recognise. A credential
// transformed some other way (encrypted, truncated, hashed, split across
// lines) is not found. IAM refresh tokens are not looked for: iamtest
// mints them without a recognisable prefix and does not list them.
package leakcanary
