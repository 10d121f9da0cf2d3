package imagestream

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// Reference is a parsed, validated container image reference that names its
// registry: registry/repository[:tag][@digest].
type Reference struct {
	// Registry is the host with an optional port, e.g. "us.icr.io" or
	// "registry.example.com:5000".
	Registry string
	// Repository is the path below the registry, e.g. "team/app".
	Repository string
	// Tag is the tag; "latest" when the input had neither tag nor digest.
	Tag string
	// Digest is "algorithm:hex" when the input pinned one.
	Digest string
}

// String returns registry/repository[:tag][@digest].
func (r Reference) String() string {
	s := r.Registry + "/" + r.Repository
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// ErrNoRegistryHost is matched by a *ReferenceError for a reference without
// a registry host, such as "team/app:1" (which a container runtime would
// resolve against docker.io, and oc against the current project).
var ErrNoRegistryHost = errors.New("image reference has no registry host")

// ReferenceError reports an invalid image reference. It matches ErrInvalid,
// and ErrNoRegistryHost when the registry host is missing.
type ReferenceError struct {
	Reference string
	Detail    string
	// NoRegistry is true when the registry host is missing.
	NoRegistry bool
}

func (e *ReferenceError) Error() string {
	return fmt.Sprintf("invalid image reference %q: %s", e.Reference, e.Detail)
}

// Is reports whether target is ErrInvalid or, for a missing host,
// ErrNoRegistryHost.
func (e *ReferenceError) Is(target error) bool {
	return target == ErrInvalid || (e.NoRegistry && target == ErrNoRegistryHost)
}

// The grammar of github.com/distribution/reference, written out.
var (
	pathComponent  = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	tagPattern     = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)
	digestPattern  = regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$`)
	hostComponent  = regexp.MustCompile(`^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$`)
	digestHexSizes = map[string]int{"sha256": 64, "sha384": 96, "sha512": 128}
)

const maxNameLength = 255

// ParseReference parses and validates an image reference that must name its
// registry host: "us.icr.io/team/app:1",
// "registry.example.com:5000/app@sha256:…". The first path element is the
// registry host only if it contains a "." or ":" or is "localhost" (the
// container runtimes' rule), so "team/app:1" is a *ReferenceError matching
// ErrNoRegistryHost. Repository components must be lower case; tags follow
// [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; digests are algorithm:hex (sha256 has
// 64 hex digits). With neither tag nor digest the tag is "latest".
func ParseReference(s string) (Reference, error) {
	bad := func(detail string) (Reference, error) {
		return Reference{}, &ReferenceError{Reference: s, Detail: detail}
	}
	if s == "" {
		return bad("empty")
	}
	if strings.Contains(s, "://") {
		return bad("must not contain a scheme")
	}
	var ref Reference
	name := s
	if i := strings.LastIndexByte(name, '@'); i >= 0 {
		name, ref.Digest = name[:i], name[i+1:]
		if err := validateDigest(ref.Digest); err != "" {
			return bad(err)
		}
	}
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name, ref.Tag = name[:i], name[i+1:]
		if !tagPattern.MatchString(ref.Tag) {
			return bad(fmt.Sprintf("tag %q must match %s", ref.Tag, tagPattern))
		}
	}
	host, repo, ok := strings.Cut(name, "/")
	if !ok || !(strings.ContainsAny(host, ".:") || host == "localhost") {
		return Reference{}, &ReferenceError{Reference: s, NoRegistry: true,
			Detail: "a registry host is required, e.g. us.icr.io/<namespace>/<image>:<tag>"}
	}
	if err := validateHost(host); err != "" {
		return bad(err)
	}
	if repo == "" {
		return bad("repository is empty")
	}
	if len(name) > maxNameLength {
		return bad(fmt.Sprintf("name is longer than %d characters", maxNameLength))
	}
	for c := range strings.SplitSeq(repo, "/") {
		if !pathComponent.MatchString(c) {
			return bad(fmt.Sprintf("repository component %q must be lower-case letters and digits separated by '.', '_', '__' or '-'", c))
		}
	}
	ref.Registry, ref.Repository = host, repo
	if ref.Tag == "" && ref.Digest == "" {
		ref.Tag = "latest"
	}
	return ref, nil
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
		if end < 0 || net.ParseIP(h[1:end]) == nil {
			return fmt.Sprintf("registry host %q is not a valid bracketed IP address", h)
		}
		host, port = "", strings.TrimPrefix(h[end+1:], ":")
		if h[end+1:] != "" && !strings.HasPrefix(h[end+1:], ":") {
			return fmt.Sprintf("registry host %q has junk after the address", h)
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
