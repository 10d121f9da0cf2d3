// Package imageref reads container image references with
// github.com/distribution/reference, the parser the kubelet and the
// container runtimes use, for the packages that take an image (pullsecret,
// imagestream). It adds what that package leaves to its callers: the
// registry and repository as written (not normalised to docker.io/library),
// a port range check, and a problem phrase that says which part is wrong
// (the library's errors are "invalid reference format" for most of them).
//
// A problem never quotes user credentials: a "user:password@" prefix is
// refused before any part of the input is echoed.
package imageref

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
)

// Reference is a parsed image reference: [registry/]repository[:tag][@digest].
type Reference struct {
	// Registry is the host with an optional port as written, or "" when the
	// reference names none (a runtime would use Docker Hub).
	Registry string
	// Repository is the path below the registry as written, e.g. "team/app"
	// (no "library/" added).
	Repository string
	// Tag is the tag as written, or "".
	Tag string
	// Digest is "algorithm:hex" when the reference pins one, or "".
	Digest string
}

// MaxRepositoryLength is the longest repository path the grammar allows
// (reference.RepositoryNameTotalLengthMax; the registry host is not
// counted).
const MaxRepositoryLength = reference.RepositoryNameTotalLengthMax

// TagPattern is the tag grammar, for error messages.
var TagPattern = "^" + reference.TagRegexp.String() + "$"

var (
	anchoredTag    = regexp.MustCompile(TagPattern)
	anchoredDomain = regexp.MustCompile("^" + reference.DomainRegexp.String() + "$")
	// Without a "/" the name grammar leaves only one path component.
	anchoredName = regexp.MustCompile("^" + reference.NameRegexp.String() + "$")
)

// Parse validates s as the kubelet does (reference.ParseNormalizedNamed)
// and splits it as written. On failure it returns a problem: a short phrase
// saying what is wrong, for the caller to wrap in its own error type. The
// first path element is the registry host when it contains "." or ":", is
// "localhost", or has upper case, as container runtimes decide. A port must
// be 1-65535, which the grammar alone does not check.
func Parse(s string) (Reference, string) {
	if p := precheck(s); p != "" {
		return Reference{}, p
	}
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return Reference{}, describe(s, err)
	}
	ref := split(s)
	if t, ok := named.(reference.Tagged); ok {
		ref.Tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		ref.Digest = d.Digest().String()
	}
	if p := checkPort(ref.Registry); p != "" {
		return Reference{}, p
	}
	return ref, ""
}

// precheck refuses what the grammar would call "invalid reference format"
// but a person writes by mistake: a scheme, white space, credentials.
func precheck(s string) string {
	switch {
	case s == "":
		return "empty"
	case strings.Contains(s, "://"):
		return "must not contain a scheme (https://): start with the registry host"
	case strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		return "must not contain whitespace or control characters"
	case hasUserinfo(s):
		return "must not contain credentials (user:password@): start with the registry host"
	}
	return ""
}

// hasUserinfo reports whether s starts with "user[:password]@": an '@'
// before the first '/' that is not a digest ("name@sha256:…" has no '/'
// after the '@' and a ':' in what follows it).
func hasUserinfo(s string) bool {
	at := strings.IndexByte(s, '@')
	if at < 0 {
		return false
	}
	if slash := strings.IndexByte(s, '/'); slash >= 0 && slash < at {
		return false
	}
	after := s[at+1:]
	return strings.Contains(after, "/") || !strings.Contains(after, ":")
}

// split cuts a valid reference into its parts as written.
func split(s string) Reference {
	var ref Reference
	name := s
	if i := strings.LastIndexByte(name, '@'); i >= 0 {
		name, ref.Digest = name[:i], name[i+1:]
	}
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name, ref.Tag = name[:i], name[i+1:]
	}
	ref.Repository = name
	if host, rest, ok := strings.Cut(name, "/"); ok && (strings.ContainsAny(host, ".:") || host == "localhost" || strings.ToLower(host) != host) {
		ref.Registry, ref.Repository = host, rest
	}
	return ref
}

// checkPort refuses a port outside 1-65535; the grammar takes any digits.
func checkPort(registry string) string {
	i := strings.LastIndexByte(registry, ':')
	if i < 0 || i < strings.LastIndexByte(registry, ']') {
		return ""
	}
	port := registry[i+1:]
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("registry port %q must be 1-65535", port)
	}
	return ""
}

// describe says which part of s the parser refused with err.
func describe(s string, err error) string {
	ref := split(s)
	if ref.Digest != "" || strings.HasSuffix(s, "@") {
		if derr := digest.Digest(ref.Digest).Validate(); derr != nil {
			return describeDigest(ref.Digest, derr)
		}
	}
	if ref.Tag != "" || strings.HasSuffix(strings.TrimSuffix(s, "@"+ref.Digest), ":") {
		if !anchoredTag.MatchString(ref.Tag) {
			return fmt.Sprintf("tag %q must be 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-'", ref.Tag)
		}
	}
	if ref.Registry != "" && !anchoredDomain.MatchString(ref.Registry) {
		return fmt.Sprintf("registry host %q is not a host name or [IPv6] address with an optional :port", ref.Registry)
	}
	if ref.Repository == "" {
		return "repository is empty"
	}
	for c := range strings.SplitSeq(ref.Repository, "/") {
		switch {
		case c == "":
			return fmt.Sprintf("repository %q has an empty path component", ref.Repository)
		case strings.ToLower(c) != c:
			return fmt.Sprintf("repository %q must be lower case", ref.Repository)
		case !anchoredName.MatchString(c):
			return fmt.Sprintf("repository component %q must be lower-case letters and digits separated by '.', '_', '__' or '-'", c)
		}
	}
	switch {
	case errors.Is(err, reference.ErrNameTooLong) || len(ref.Repository) > MaxRepositoryLength:
		return fmt.Sprintf("repository is longer than %d characters", MaxRepositoryLength)
	case ref.Registry == "" && !strings.Contains(ref.Repository, "/") && reference.IdentifierRegexp.MatchString(ref.Repository) && len(ref.Repository) == 64:
		return "a 64-digit hex string is an image ID, not a repository name"
	}
	return "is not a valid image reference ([registry/]repository[:tag][@digest])"
}

func describeDigest(d string, err error) string {
	switch {
	case errors.Is(err, digest.ErrDigestUnsupported):
		alg, _, _ := strings.Cut(d, ":")
		return fmt.Sprintf("digest algorithm %q is not supported (sha256, sha384, sha512)", alg)
	case errors.Is(err, digest.ErrDigestInvalidLength):
		alg, _, _ := strings.Cut(d, ":")
		return fmt.Sprintf("digest %q has the wrong length: %s needs %d hex digits", d, alg, digest.Algorithm(alg).Size()*2)
	}
	return fmt.Sprintf("digest %q must be algorithm:hex, e.g. sha256:<64 hex digits>", d)
}

// ValidPathComponent reports whether s is one repository path component
// (lower-case letters and digits separated by ".", "_", "__" or "-").
func ValidPathComponent(s string) bool {
	return !strings.Contains(s, "/") && anchoredName.MatchString(s)
}

// ValidTag reports whether s is a valid tag.
func ValidTag(s string) bool { return anchoredTag.MatchString(s) }
