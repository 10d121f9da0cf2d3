// Package dockerconfig reads, edits, merges and writes registry credential
// documents: the .dockerconfigjson data of a kubernetes.io/dockerconfigjson
// Secret (also ~/.docker/config.json) and the older .dockercfg of a
// kubernetes.io/dockercfg Secret. It is pure: no I/O, no Kubernetes
// imports, the standard library only (and the module's internal/redact).
//
// # What is kept
//
// Parse → change → Marshal loses nothing. Top-level keys other than "auths"
// ("credsStore", "credHelpers", "HttpHeaders", ...) and entry keys other
// than username, password, email, auth, identitytoken and registrytoken
// (such as "serveraddress") are kept as raw JSON and written back. An entry
// you do not change is written back as it was read, only compacted and
// escaped as below: an "auth"-only entry stays "auth"-only and a padding
// choice is kept. Server keys are kept exactly as written.
//
// # What is normalised
//
//   - Marshal output is compact, with top-level keys and server keys sorted
//     and strings escaped as encoding/json escapes them (including its HTML
//     escaping of <, > and &), so it is deterministic. For
//     Set(server, Entry{Username, Password, Email}) it is byte-identical to
//     `kubectl create secret docker-registry`: fields username, password,
//     email (omitted when empty), auth.
//   - "auth" is derived: a new or changed entry with a username or password
//     is written with auth = base64(username:password), because
//     containers/image and CRI-O read only "auth". An entry parsed with a
//     username or password but no "auth" is re-encoded for the same reason.
//   - Decoding accepts padded and unpadded standard base64. Parse fills
//     Username and Password from "auth"; when the document also has
//     username or password fields that disagree, "auth" wins, because it is
//     what the kubelet, CRI-O and the Docker CLI use. Round trip: an
//     unchanged entry is written back verbatim (the disagreeing fields
//     included); once changed it is re-encoded from Username and Password
//     with a fresh "auth". Equal compares meaning, so a document and its
//     Marshal output are Equal, and an "auth"-only entry equals the
//     same credential given as Username and Password.
//   - Registries are compared by NormalizeServer: the kubelet's key form,
//     with the http(s) scheme and a leading /v1/ or /v2/ removed
//     ("https://us.icr.io/v1/" ≡ "us.icr.io"). Set, Get, Remove and Merge
//     use it.
//
// # Matching
//
// Lookup follows the kubelet (k8s.io/kubernetes pkg/credentialprovider):
// the image is normalised first ("ubuntu" and
// "index.docker.io/library/ubuntu" are "docker.io/library/ubuntu"), then
// normalised keys are tried in reverse order (most specific first), glob
// per host label with path.Match ("*.icr.io" matches "us.icr.io", not
// "icr.io"), equal ports, path as a string prefix; when no key matches,
// images on hosts without '.' or ':' (Docker Hub, "localhost/...") fall
// back to the "index.docker.io" entry. So a "docker.io" key answers for
// every Docker Hub image, and "index.docker.io" only when no key matches.
// See Lookup for the details.
//
// # Merging, and the one difference from jq
//
// Merge(base, overlay) is a registry-level upsert. For registries that do
// not collide its result equals `jq -s '.[0] * .[1]'`, unknown top-level
// keys included (overlay wins per key, objects merge recursively). The
// deliberate difference is for a registry in both documents: jq's deep `*`
// merges the two entries field by field, so an overlay that carries a new
// "password" but no "auth" (or no "identitytoken") leaves the base's stale
// "auth" beside it; CRI-O and containers/image read that stale "auth" and
// the pull fails with an error that points nowhere near the merge. Merge
// replaces the base entry whole instead, and treats equivalent keys
// ("https://us.icr.io/v1/" and "us.icr.io") as the same registry, where jq
// would keep both and leave the kubelet to pick one. MergeBytes does the
// same on raw documents, quickly, with the same bytes as
// Marshal(Merge(Parse(base), Parse(overlay))). Both are idempotent to the
// byte: merging the same overlay again changes nothing, because an unknown
// object they merge is written with each repeated key once (its last value
// at its first place, as jq and encoding/json read it).
//
// # Secrets
//
// Entry and Config implement String, GoString, fmt.Formatter,
// json.Marshaler and slog.LogValuer, so however they are reached (at the top
// level, or inside a slice, a map, a struct field or an interface, such as
// the Matches of Lookup or cfg.Auths) every format verb, encoding/json and
// both log/slog handlers show server keys and usernames only, never a
// password, auth or token, nor the value of an unknown key. json.Marshal of
// an Entry or a Config writes that redacted text as a JSON string, never
// the document: the ways out of a secret are explicit, Entry's exported
// fields, Marshal and MarshalLegacy. User information in a server key
// ("https://user:password@host") is shown as "https://REDACTED@host" in
// String forms and errors. Errors are *ParseError values (or a
// *SecretTypeError) wrapping a sentinel such as ErrInvalidAuth; they name
// the registry and the field, never a value.
//
// # Limits
//
//   - Documents over MaxSize (1 MiB, the Secret size limit) are refused,
//     and so is Marshal output over it; escaping can make output a little
//     larger than its input.
//   - Known keys are matched exactly as Docker writes them (lowercase); a
//     key spelled "Username" is kept as an unknown key, though
//     encoding/json-based readers would accept it.
//   - Hosts are compared case-sensitively and default ports are not
//     removed, as in the kubelet; "us.icr.io:443" is not "us.icr.io".
//   - Lookup checks image references only as far as the Docker Hub rules
//     need (no white space, lowercase repository path); an image the
//     kubelet cannot parse for other reasons still gets an answer.
//   - Credential helpers ("credsStore", "credHelpers") are kept but not
//     run: this package never reads files or starts programs.
//   - fmt prints an unexported field of a struct type of yours without
//     calling its methods (true of every Go type), so an Entry or a Config
//     kept in one is printed in clear by %v; keep them in exported fields
//     or behind a pointer. The keys of cfg.Auths, a plain map, are printed
//     as they are.
//   - A Config is not safe for concurrent mutation.
package dockerconfig
