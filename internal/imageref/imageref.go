// Package imageref parses and validates container image references with the
// grammar of github.com/distribution/reference, written out so that the
// packages that need it (imagestream, pullsecret) share one parser without
// the dependency.
package imageref

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// Reference is a parsed image reference: [registry/]repository[:tag][@digest].
type Reference struct {
	// Registry is the host with an optional port as written, or "" when the
	// reference names none (a runtime would use Docker Hub).
	Registry string
	// Repository is the path below the registry, e.g. "team/app".
	Repository string
	// Tag is the tag as written, or "".
	Tag string
	// Digest is "algorithm:hex" when the reference pins one, or "".
	Digest string
}

// The grammar of github.com/distribution/reference.
var (
	pathComponent  = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	tagPattern     = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)
	digestPattern  = regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$`)
	hostComponent  = regexp.MustCompile(`^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$`)
	digestHexSizes = map[string]int{"sha256": 64, "sha384": 96, "sha512": 128}
)

// MaxNameLength is the longest registry/repository name the grammar allows.
const MaxNameLength = 255

// Parse splits and validates s. On failure it returns a problem: a short
// phrase saying what is wrong, for the caller to wrap in its own error
// type. The first path element is the registry host when it contains "." or
// ":", is "localhost", or has upper case, as container runtimes decide.
func Parse(s string) (Reference, string) {
	if s == "" {
		return Reference{}, "empty"
	}
	if strings.Contains(s, "://") {
		return Reference{}, "must not contain a scheme"
	}
	if strings.IndexFunc(s, func(r rune) bool { return r <= ' ' }) >= 0 {
		return Reference{}, "must not contain whitespace"
	}
	var ref Reference
	name := s
	if i := strings.LastIndexByte(name, '@'); i >= 0 {
		name, ref.Digest = name[:i], name[i+1:]
		if p := validateDigest(ref.Digest); p != "" {
			return Reference{}, p
		}
	}
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name, ref.Tag = name[:i], name[i+1:]
		if !tagPattern.MatchString(ref.Tag) {
			return Reference{}, fmt.Sprintf("tag %q must match %s", ref.Tag, tagPattern)
		}
	}
	ref.Repository = name
	if host, rest, ok := strings.Cut(name, "/"); ok && (strings.ContainsAny(host, ".:") || host == "localhost" || strings.ToLower(host) != host) {
		if p := validateHost(host); p != "" {
			return Reference{}, p
		}
		ref.Registry, ref.Repository = host, rest
	}
	if ref.Repository == "" {
		return Reference{}, "repository is empty"
	}
	if len(name) > MaxNameLength {
		return Reference{}, fmt.Sprintf("name is longer than %d characters", MaxNameLength)
	}
	for c := range strings.SplitSeq(ref.Repository, "/") {
		if !pathComponent.MatchString(c) {
			return Reference{}, fmt.Sprintf("repository component %q must be lower-case letters and digits separated by '.', '_', '__' or '-'", c)
		}
	}
	return ref, ""
}

func validateDigest(d string) string {
	if !digestPattern.MatchString(d) {
		return fmt.Sprintf("digest %q must be algorithm:hex", d)
	}
	alg, hex, _ := strings.Cut(d, ":")
	if n, ok := digestHexSizes[alg]; ok && len(hex) != n {
		return fmt.Sprintf("digest %q: %s needs %d hex digits", d, alg, n)
	}
	return ""
}

func validateHost(h string) string {
	host, port := h, ""
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 || net.ParseIP(h[1:end]) == nil || (h[end+1:] != "" && !strings.HasPrefix(h[end+1:], ":")) {
			return fmt.Sprintf("registry host %q is not a valid bracketed IP address", h)
		}
		host, port = "", strings.TrimPrefix(h[end+1:], ":")
		if h[end+1:] == ":" {
			return fmt.Sprintf("registry host %q has an empty port", h)
		}
	} else if i := strings.LastIndexByte(h, ':'); i >= 0 {
		host, port = h[:i], h[i+1:]
		if port == "" {
			return fmt.Sprintf("registry host %q has an empty port", h)
		}
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("registry port %q must be 1-65535", port)
		}
	}
	if host != "" {
		for c := range strings.SplitSeq(host, ".") {
			if !hostComponent.MatchString(c) {
				return fmt.Sprintf("registry host %q is not a valid host name", h)
			}
		}
	}
	return ""
}

// ValidPathComponent reports whether s is one repository path component
// (lower-case letters and digits separated by ".", "_", "__" or "-").
func ValidPathComponent(s string) bool { return pathComponent.MatchString(s) }

// ValidTag reports whether s is a valid tag.
func ValidTag(s string) bool { return tagPattern.MatchString(s) }

// TagPattern is the tag grammar, for error messages.
var TagPattern = tagPattern.String()
