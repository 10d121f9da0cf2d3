package pullsecret

// The kubelet's reading of image pull secrets, for Explain. Each function
// names the k8s.io/kubernetes v1.37 code it follows; the decoding uses
// encoding/json with the kubelet's own type shapes, so that what the kubelet
// accepts, ignores, merges or rejects is accepted, ignored, merged or
// rejected here too. It is deliberately not dockerconfig's parser, which is
// stricter than the kubelet (it refuses documents the kubelet pulls with).
//
// Nothing here keeps a password: an entry keeps the username the kubelet
// would send and whether it sends any credential at all.

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/distribution/reference"
	corev1 "k8s.io/api/core/v1"
)

// kubeletEntry is credentialprovider.DockerConfigEntry (config.go) without
// the password: the username the kubelet sends and whether it sends a
// username or password at all.
type kubeletEntry struct {
	username string
	hasCred  bool
}

// kubeletEntryJSON is credentialprovider.dockerConfigEntryWithAuth
// (config.go): the only fields the kubelet reads. identitytoken and
// registrytoken are not among them.
type kubeletEntryJSON struct {
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Email    string `json:"email,omitempty"`
	Auth     string `json:"auth,omitempty"`
}

// UnmarshalJSON is DockerConfigEntry.UnmarshalJSON (config.go): fields are
// matched case-insensitively, unknown ones ignored, null leaves the entry
// empty, and a non-empty auth replaces username and password.
func (e *kubeletEntry) UnmarshalJSON(data []byte) error {
	var tmp kubeletEntryJSON
	if err := json.Unmarshal(data, &tmp); err != nil {
		return err
	}
	e.username, e.hasCred = tmp.Username, tmp.Username != "" || tmp.Password != ""
	if len(tmp.Auth) == 0 {
		return nil
	}
	user, pass, err := kubeletDecodeAuth(tmp.Auth)
	e.username, e.hasCred = user, user != "" || pass != ""
	return err
}

var (
	errAuthNotBase64 = errors.New("auth is not base64")
	errAuthNoColon   = errors.New("auth does not decode to user:password")
)

// kubeletDecodeAuth is decodeDockerConfigFieldAuth (config.go): padded
// base64 when the value ends in '=' (after trimming spaces), unpadded
// otherwise; then "user:password" split at the first ':'.
func kubeletDecodeAuth(field string) (user, pass string, err error) {
	var decoded []byte
	if strings.HasSuffix(strings.TrimSpace(field), "=") {
		decoded, err = base64.StdEncoding.DecodeString(field)
	} else {
		decoded, err = base64.RawStdEncoding.DecodeString(field)
	}
	if err != nil {
		return "", "", errAuthNotBase64
	}
	user, pass, ok := strings.Cut(string(decoded), ":")
	if !ok {
		return "", "", errAuthNoColon
	}
	return user, pass, nil
}

// kubeletConfigJSON is credentialprovider.DockerConfigJSON (config.go).
// HttpHeaders is decoded (and must map names to strings) but not used.
type kubeletConfigJSON struct {
	Auths       map[string]kubeletEntry `json:"auths"`
	HTTPHeaders map[string]string       `json:"HttpHeaders,omitempty"`
}

// kubeletUses reports whether the kubelet reads secret s, and which data
// key: secretsToTrackedDockerConfigs (pkg/credentialprovider/secrets) uses
// type kubernetes.io/dockerconfigjson with a non-empty .dockerconfigjson,
// or type kubernetes.io/dockercfg with a non-empty .dockercfg, and ignores
// every other secret.
func kubeletUses(s *corev1.Secret) (key string, ok bool) {
	switch {
	case s.Type == corev1.SecretTypeDockerConfigJson && len(s.Data[corev1.DockerConfigJsonKey]) > 0:
		return corev1.DockerConfigJsonKey, true
	case s.Type == corev1.SecretTypeDockercfg && len(s.Data[corev1.DockerConfigKey]) > 0:
		return corev1.DockerConfigKey, true
	}
	return "", false
}

// kubeletParse decodes a secret the kubelet uses (kubeletUses) as
// secretsToTrackedDockerConfigs does: .dockerconfigjson into
// DockerConfigJSON, .dockercfg into the bare DockerConfig map, whatever
// document either holds. It returns the entries by registry key as
// written, or, when the kubelet's decoding fails (and with it every image
// pull of the pod), a description of why that never contains secret data.
func kubeletParse(s *corev1.Secret) (map[string]kubeletEntry, string) {
	key, _ := kubeletUses(s)
	data := s.Data[key]
	legacy := key == corev1.DockerConfigKey
	var entries map[string]kubeletEntry
	var err error
	if legacy {
		err = json.Unmarshal(data, &entries)
	} else {
		var doc kubeletConfigJSON
		err = json.Unmarshal(data, &doc)
		entries = doc.Auths
	}
	if err != nil {
		return nil, describeKubeletError(legacy, data, err)
	}
	return entries, ""
}

// describeKubeletError says why the kubelet cannot decode data, in words of
// our own: encoding/json's messages can quote document bytes.
func describeKubeletError(legacy bool, data []byte, err error) string {
	if problems := entryProblems(legacy, data); len(problems) > 0 {
		return "cannot parse: " + strings.Join(problems, "; ")
	}
	var syn *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "cannot parse: not JSON"
	case errors.As(err, &te):
		first, _, _ := strings.Cut(te.Field, ".")
		switch {
		case te.Field == "":
			return "cannot parse: the document is " + jsonKind(te.Value) + ", not an object"
		case strings.EqualFold(first, "HttpHeaders"):
			return "cannot parse: HttpHeaders must map header names to strings (it holds " + jsonKind(te.Value) + ")"
		case strings.EqualFold(te.Field, "auths"):
			return `cannot parse: "auths" is ` + jsonKind(te.Value) + ", not an object"
		}
	}
	return "cannot parse: the kubelet cannot decode it"
}

// entryProblems finds the registry entries the kubelet's decoding stops at
// (encoding/json reports only the first, without its key): every entry of
// the bare map (.dockercfg) or of each "auths" object, in key order.
func entryProblems(legacy bool, data []byte) []string {
	var maps []map[string]json.RawMessage
	if legacy {
		var m map[string]json.RawMessage
		if json.Unmarshal(data, &m) != nil {
			return nil
		}
		maps = append(maps, m)
	} else {
		var top map[string]json.RawMessage
		if json.Unmarshal(data, &top) != nil {
			return nil
		}
		for k, raw := range top {
			var m map[string]json.RawMessage
			if strings.EqualFold(k, "auths") && json.Unmarshal(raw, &m) == nil {
				maps = append(maps, m)
			}
		}
	}
	var out []string
	for _, m := range maps {
		for _, k := range sortedKeys(m) {
			var e kubeletEntry
			if err := e.UnmarshalJSON(m[k]); err != nil {
				out = append(out, fmt.Sprintf("entry %s: %s", displayServer(k), describeEntryError(err)))
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func describeEntryError(err error) string {
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, errAuthNotBase64), errors.Is(err, errAuthNoColon):
		return err.Error()
	case errors.As(err, &te) && te.Field == "":
		return "is " + jsonKind(te.Value) + ", not an object"
	case errors.As(err, &te):
		return strings.ToLower(te.Field) + " is " + jsonKind(te.Value) + ", not a string"
	}
	return "cannot be decoded"
}

// jsonKind turns an UnmarshalTypeError.Value ("number", "string", "array",
// "object", "bool", possibly followed by the literal) into "a JSON number".
func jsonKind(v string) string {
	kind, _, _ := strings.Cut(v, " ")
	switch kind {
	case "array", "object", "number", "string", "bool":
		return "a JSON " + kind
	}
	return "another JSON value"
}

// hasKeyFold reports whether m has key, in any case.
func hasKeyFold[V any](m map[string]V, key string) bool {
	for k := range m {
		if strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// looksLegacy reports whether a .dockerconfigjson document without "auths"
// has a top-level key that looks like a registry (a '.' or ':' in it).
func looksLegacy(data []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return false
	}
	if hasKeyFold(top, "auths") {
		return false
	}
	for k := range top {
		if strings.ContainsAny(k, ".:") {
			return true
		}
	}
	return false
}

// kubeletIndexKey is the key BasicDockerKeyring.Add (keyring.go) files a
// registry key under: "https://" added unless it has an http(s) scheme,
// parsed as a URL (a key that does not parse is ignored: ok is false), a
// leading "/v1/" or "/v2/" dropped from the path, and host plus the rest of
// the path ("" and "/" leave the host alone). Userinfo is dropped, case is
// kept.
func kubeletIndexKey(server string) (key string, ok bool) {
	repository := server
	if !strings.HasPrefix(repository, "https://") && !strings.HasPrefix(repository, "http://") {
		repository = "https://" + repository
	}
	parsed, err := url.Parse(repository)
	if err != nil {
		return "", false
	}
	effectivePath := parsed.Path
	if strings.HasPrefix(effectivePath, "/v2/") || strings.HasPrefix(effectivePath, "/v1/") {
		effectivePath = effectivePath[3:]
	}
	if len(effectivePath) > 0 && effectivePath != "/" {
		return parsed.Host + effectivePath, true
	}
	return parsed.Host, true
}

// kubeletCred is one credential in the keyring: the secret (its position
// in the pod's list) and the registry key as written.
type kubeletCred struct {
	secret int
	server string
	entry  kubeletEntry
}

// kubeletKeyring is BasicDockerKeyring (keyring.go): credentials filed by
// index key, appended in the order secrets are added; the index holds each
// key once, sorted in reverse so that longer paths come first.
type kubeletKeyring struct {
	index []string
	creds map[string][]kubeletCred
}

// add is BasicDockerKeyring.Add for the entries of the secret at position
// secret. It returns the keys the kubelet ignores because they do not
// parse. The kubelet ranges over a map, so two keys of one secret that
// file under the same index key come in no fixed order; add takes them in
// key order.
func (k *kubeletKeyring) add(secret int, entries map[string]kubeletEntry) (ignored []string) {
	if k.creds == nil {
		k.creds = map[string][]kubeletCred{}
	}
	for _, server := range sortedKeys(entries) {
		key, ok := kubeletIndexKey(server)
		if !ok {
			ignored = append(ignored, server)
			continue
		}
		if _, seen := k.creds[key]; !seen {
			k.index = append(k.index, key)
		}
		k.creds[key] = append(k.creds[key], kubeletCred{secret: secret, server: server, entry: entries[server]})
	}
	sort.Sort(sort.Reverse(sort.StringSlice(k.index)))
	return ignored
}

// kubeletDefaultRegistryHost is keyring.go's defaultRegistryHost.
const kubeletDefaultRegistryHost = "index.docker.io"

// lookup is BasicDockerKeyring.Lookup (keyring.go) for repo, the image
// name as the kubelet passes it (kubeletRepo): the credentials of every
// index key that matches, in index order; if none does and the image may
// be on Docker Hub, those filed under index.docker.io.
func (k *kubeletKeyring) lookup(repo string) (creds []kubeletCred, fallback bool) {
	for _, key := range k.index {
		if kubeletURLsMatch(key, repo) {
			creds = append(creds, k.creds[key]...)
		}
	}
	if len(creds) > 0 {
		return creds, false
	}
	if kubeletIsDefaultRegistryMatch(repo) {
		if c, ok := k.creds[kubeletDefaultRegistryHost]; ok {
			return c, true
		}
	}
	return nil, false
}

// kubeletIsDefaultRegistryMatch is isDefaultRegistryMatch (keyring.go). Its
// last rule also holds for "localhost/app": a first component without '.'
// or ':' counts as Docker Hub.
func kubeletIsDefaultRegistryMatch(image string) bool {
	parts := strings.SplitN(image, "/", 2)
	if len(parts[0]) == 0 {
		return false
	}
	if len(parts) == 1 {
		return true
	}
	if parts[0] == "docker.io" || parts[0] == "index.docker.io" {
		return true
	}
	return !strings.ContainsAny(parts[0], ".:")
}

// kubeletURLsMatch is URLsMatchStr and URLsMatch (keyring.go): both parsed
// as schemeless URLs; equal ports, the same number of host labels, each
// label a path.Match glob (filepath.Match on the kubelet's Linux), and the
// key's path a string prefix of the image's.
func kubeletURLsMatch(glob, target string) bool {
	g, err := url.Parse("https://" + glob)
	if err != nil {
		return false
	}
	t, err := url.Parse("https://" + target)
	if err != nil {
		return false
	}
	gParts, gPort := kubeletSplitURL(g)
	tParts, tPort := kubeletSplitURL(t)
	if gPort != tPort || len(gParts) != len(tParts) || !strings.HasPrefix(t.Path, g.Path) {
		return false
	}
	for i, p := range gParts {
		if ok, err := path.Match(p, tParts[i]); err != nil || !ok {
			return false
		}
	}
	return true
}

// kubeletSplitURL is SplitURL (keyring.go).
func kubeletSplitURL(u *url.URL) (parts []string, port string) {
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		host, port = u.Host, ""
	}
	return strings.Split(host, "."), port
}

// kubeletRepo is the name the kubelet looks credentials up for
// (pkg/util/parsers ParseImageName): reference.ParseNormalizedNamed(image)
// .Name(), with tag and digest dropped, no registry or index.docker.io
// become docker.io, and a one-component Docker Hub name gets "library/".
// image must be valid (parseImage).
func kubeletRepo(image string) string {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return ""
	}
	return named.Name()
}
