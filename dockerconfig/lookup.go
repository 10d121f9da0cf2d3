package dockerconfig

import (
	"net"
	"net/url"
	"path"
	"sort"
	"strings"
)

// Lookup returns the entries the kubelet would try for image, most specific
// first, following k8s.io/kubernetes (v1.37) pkg/credentialprovider
// (keyring.go) and the image name parsing in front of it:
//
//   - image is a full reference, normalised as
//     github.com/distribution/reference's ParseNormalizedNamed does
//     before the kubelet looks it up: a tag and/or digest is ignored, a
//     name without a registry host is a Docker Hub image ("ubuntu" is
//     "docker.io/library/ubuntu"), and "index.docker.io" is "docker.io".
//     A first path component is a host only if it has a '.' or ':', is
//     "localhost" or has uppercase letters. A repository path with
//     uppercase letters is no reference: the kubelet does not pull it, and
//     Lookup returns nil;
//   - every server key is normalised with NormalizeServer (keys that do
//     not normalise are skipped), and the normalised keys are sorted in
//     reverse, so "us.icr.io/team" comes before "us.icr.io" and
//     "us.icr.io" before "*.icr.io";
//   - a key matches when its host has as many dot-separated labels as the
//     image's and each label matches as a path.Match glob ("*.icr.io"
//     matches "us.icr.io", not "icr.io" nor "a.us.icr.io"), its port
//     equals the image's (absent equals absent only), and its path is a
//     string prefix of the image's path ("quay.io/team" also matches
//     "quay.io/teamb/app", as in the kubelet). So a "docker.io" key
//     matches Docker Hub images, whatever host the image names them by,
//     and an "index.docker.io" key never does directly (three labels
//     against two);
//   - if nothing matches, the entries under "index.docker.io" (such as
//     "https://index.docker.io/v1/") are used for an image whose host has
//     neither '.' nor ':': Docker Hub images, and also "localhost/..."
//     and uppercase hosts, as the kubelet does.
//
// Keys that normalise to the same registry are returned together, in key
// order. Lookup returns nil when nothing matches.
func (c *Config) Lookup(image string) []Match {
	if c == nil || len(c.Auths) == 0 {
		return nil
	}
	target, _, ok := normalizeImage(image)
	if !ok {
		return nil
	}
	byNorm := make(map[string][]string)
	for _, k := range c.Servers() {
		if n, err := NormalizeServer(k); err == nil {
			byNorm[n] = append(byNorm[n], k)
		}
	}
	norms := sortedKeys(byNorm)
	sort.Sort(sort.Reverse(sort.StringSlice(norms)))
	var out []Match
	add := func(n string) {
		for _, k := range byNorm[n] {
			out = append(out, Match{Server: k, Entry: c.Auths[k]})
		}
	}
	for _, n := range norms {
		if urlsMatch(n, target) {
			add(n)
		}
	}
	if len(out) == 0 && usesDefaultRegistry(target) {
		add("index.docker.io")
	}
	return out
}

// usesDefaultRegistry is the kubelet's isDefaultRegistryMatch for a
// normalised image ("host/path"): whether it may use the "index.docker.io"
// entries when no key matched.
func usesDefaultRegistry(target string) bool {
	host, _, _ := strings.Cut(target, "/")
	return host == "docker.io" || host == "index.docker.io" || host != "" && !strings.ContainsAny(host, ".:")
}

// normalizeImage turns a reference into "host/path" without tag or digest,
// as the kubelet's image name parsing does, and reports whether the image is
// on Docker Hub. ok is false for what that parsing refuses in the ways
// checked here: an empty name, white space or control characters, a
// repository path with uppercase letters.
func normalizeImage(image string) (target string, hub, ok bool) {
	name := image
	if i := strings.IndexByte(name, '@'); i >= 0 {
		name = name[:i]
	}
	if i := strings.LastIndexByte(name, ':'); i >= 0 && !strings.Contains(name[i:], "/") {
		name = name[:i]
	}
	if name == "" || strings.IndexFunc(name, func(r rune) bool { return r <= ' ' }) >= 0 {
		return "", false, false
	}
	domain, rest := "docker.io", name
	if i := strings.IndexByte(name, '/'); i >= 0 {
		first := name[:i]
		if strings.ContainsAny(first, ".:") || first == "localhost" || strings.ToLower(first) != first {
			domain, rest = first, name[i+1:]
		}
	}
	if domain == "index.docker.io" {
		domain = "docker.io"
	}
	if domain == "docker.io" && !strings.Contains(rest, "/") {
		rest = "library/" + rest
	}
	if domain == "" || rest == "" || strings.ToLower(rest) != rest {
		return "", false, false
	}
	return domain + "/" + rest, domain == "docker.io", true
}

// urlsMatch is the kubelet's URLsMatchStr: glob per host label, equal
// ports, path prefix.
func urlsMatch(glob, target string) bool {
	g, err := url.Parse("https://" + glob)
	if err != nil {
		return false
	}
	t, err := url.Parse("https://" + target)
	if err != nil {
		return false
	}
	gParts, gPort := splitHost(g.Host)
	tParts, tPort := splitHost(t.Host)
	if gPort != tPort || len(gParts) != len(tParts) {
		return false
	}
	if !strings.HasPrefix(t.Path, g.Path) {
		return false
	}
	for i, p := range gParts {
		if ok, err := path.Match(p, tParts[i]); err != nil || !ok {
			return false
		}
	}
	return true
}

func splitHost(hostport string) (labels []string, port string) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, ""
	}
	return strings.Split(host, "."), port
}
