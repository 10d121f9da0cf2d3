package imagestream

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/internal/imageref"
	"github.com/registrykit/registrykit/internal/redact"
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

// ReferenceError reports an invalid image reference. It matches
// registrykit.ErrInvalid, and ErrNoRegistryHost when the registry host is
// missing.
type ReferenceError struct {
	// Reference is the input with any userinfo ("user:pass@") removed.
	Reference string
	Detail    string
	// NoRegistry is true when the registry host is missing.
	NoRegistry bool
}

func (e *ReferenceError) Error() string {
	return fmt.Sprintf("invalid image reference %q: %s", e.Reference, e.Detail)
}

// Is reports whether target is registrykit.ErrInvalid or, for a missing
// host, ErrNoRegistryHost.
func (e *ReferenceError) Is(target error) bool {
	return target == registrykit.ErrInvalid || (e.NoRegistry && target == ErrNoRegistryHost)
}

// ParseReference parses and validates an image reference that must name its
// registry host: "us.icr.io/team/app:1",
// "registry.example.com:5000/app@sha256:…". The grammar is
// github.com/distribution/reference's, as the kubelet reads it; the parts
// are kept as written (no docker.io/library/ added). The first path element
// is the registry host only if it contains a "." or ":", is "localhost" or
// has upper case (the container runtimes' rule), so "team/app:1" is a
// *ReferenceError matching ErrNoRegistryHost. Repository components must be
// lower case and the path at most 255 characters; tags follow
// [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; digests are algorithm:hex with the
// algorithm's length (sha256: 64 hex digits); a port is 1-65535; a
// "user:password@" prefix is refused. With neither tag nor digest the tag is
// "latest".
func ParseReference(s string) (Reference, error) {
	r, problem := imageref.Parse(s)
	if problem != "" {
		return Reference{}, &ReferenceError{Reference: redact.Userinfo(s), Detail: problem}
	}
	if r.Registry == "" {
		return Reference{}, &ReferenceError{Reference: redact.Userinfo(s), NoRegistry: true,
			Detail: "a registry host is required, e.g. us.icr.io/<namespace>/<image>:<tag>"}
	}
	ref := Reference{Registry: r.Registry, Repository: r.Repository, Tag: r.Tag, Digest: r.Digest}
	if ref.Tag == "" && ref.Digest == "" {
		ref.Tag = "latest"
	}
	return ref, nil
}

// parseSource is ParseReference for a field of a call's input: a bad
// reference becomes one field error on fld.
func parseSource(fld *field.Path, s string) (Reference, field.ErrorList) {
	ref, err := ParseReference(s)
	var re *ReferenceError
	if errors.As(err, &re) {
		return ref, field.ErrorList{field.Invalid(fld, re.Reference, re.Detail)}
	}
	return ref, nil
}
