package imagestream

import (
	"context"
	"fmt"
	"slices"
	"strings"

	imagev1 "github.com/openshift/api/image/v1"
	imageclientset "github.com/openshift/client-go/image/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/util/retry"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/internal/imageref"
	"github.com/registrykit/registrykit/internal/kubewrite"
	"github.com/registrykit/registrykit/internal/redact"
)

// Ref names one tag of an image stream: <Namespace>/<Stream>:<Tag>.
type Ref struct {
	Namespace, Stream, Tag string
}

// String returns namespace/stream:tag.
func (r Ref) String() string { return r.Namespace + "/" + r.Stream + ":" + r.Tag }

// Validate reports every problem of r as field errors under path
// (nil for none). It does no I/O.
func (r Ref) Validate(path *field.Path) field.ErrorList {
	errs := registrykit.ValidateNamespace(path.Child("namespace"), r.Namespace)
	if !imageref.ValidPathComponent(r.Stream) || len(r.Stream) > validation.DNS1123SubdomainMaxLength {
		errs = append(errs, field.Invalid(path.Child("stream"), redact.Userinfo(r.Stream),
			"must be lower-case letters and digits separated by '.', '_', '__' or '-', at most 253 characters"))
	}
	if !imageref.ValidTag(r.Tag) {
		errs = append(errs, field.Invalid(path.Child("tag"), redact.Userinfo(r.Tag), "must match "+imageref.TagPattern))
	}
	return errs
}

// ReferencePolicy is spec.tags[].referencePolicy.type.
type ReferencePolicy string

const (
	// SourcePolicy (the default, as for oc tag) makes builds and deployments
	// pull the image from its original location, so every namespace that
	// uses the tag needs a pull secret for that registry.
	SourcePolicy ReferencePolicy = "Source"
	// LocalPolicy makes them pull through the integrated registry, which
	// fetches the image with the image stream namespace's pull secrets; the
	// guide uses it for icr.io images (`oc tag --reference-policy=local`).
	LocalPolicy ReferencePolicy = "Local"
)

// ImportMode is spec.tags[].importPolicy.importMode.
type ImportMode string

const (
	// ImportLegacy imports a single manifest of a manifest list.
	ImportLegacy ImportMode = "Legacy"
	// ImportPreserveOriginal imports the manifest list and every
	// sub-manifest (multi-architecture images).
	ImportPreserveOriginal ImportMode = "PreserveOriginal"
)

// TagOptions configure Tag; the zero value is `oc tag` without flags.
type TagOptions struct {
	// ReferencePolicy: empty means SourcePolicy, oc's default.
	ReferencePolicy ReferencePolicy
	// Scheduled asks the server to re-import the tag periodically
	// (oc tag --scheduled).
	Scheduled bool
	// Insecure allows import over HTTP or with an unverified certificate
	// (oc tag --insecure).
	Insecure bool
	// ImportMode: empty leaves it unmanaged — a new tag gets the cluster's
	// default (Legacy unless the cluster's image config says otherwise), an
	// existing tag keeps its mode.
	ImportMode ImportMode

	registrykit.WriteOptions
}

// Validate reports every problem of o as field errors under path
// (nil for none). It does no I/O.
func (o TagOptions) Validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch o.ReferencePolicy {
	case "", SourcePolicy, LocalPolicy:
	default:
		errs = append(errs, field.NotSupported(path.Child("referencePolicy"), redact.Userinfo(string(o.ReferencePolicy)),
			[]string{string(SourcePolicy), string(LocalPolicy)}))
	}
	switch o.ImportMode {
	case "", ImportLegacy, ImportPreserveOriginal:
	default:
		errs = append(errs, field.NotSupported(path.Child("importMode"), redact.Userinfo(string(o.ImportMode)),
			[]string{string(ImportLegacy), string(ImportPreserveOriginal)}))
	}
	return errs
}

func (o TagOptions) referencePolicy() imagev1.TagReferencePolicyType {
	if o.ReferencePolicy == "" {
		return imagev1.SourceTagReferencePolicy
	}
	return imagev1.TagReferencePolicyType(o.ReferencePolicy)
}

// Tag points dest at the external image source, as `oc tag <source>
// <namespace>/<stream>:<tag>` does for a registry image: it upserts the one
// spec.tags entry (from DockerImage <source>, referencePolicy, importPolicy)
// and asks for a new import by setting the tag's generation to 0. The image
// stream is created if absent; other tags, the tag's annotations and the
// stream's metadata are left alone. A tag that already says the same is
// Unchanged and not written (no re-import is triggered). Conflicts are
// retried with a fresh read.
//
// source must name its registry (see ParseReference); source, dest and opts
// are validated before any API call.
func Tag(ctx context.Context, images imageclientset.Interface, source string, dest Ref, opts TagOptions) (registrykit.Result, error) {
	ref, errs := parseSource(field.NewPath("source"), source)
	errs = append(errs, dest.Validate(field.NewPath("dest"))...)
	errs = append(errs, opts.Validate(nil)...)
	if err := registrykit.Invalid("imagestream.Tag", errs); err != nil {
		return registrykit.Result{}, err
	}
	client := images.ImageV1().ImageStreams(dest.Namespace)
	want := imagev1.TagReference{
		Name: dest.Tag,
		From: &corev1.ObjectReference{Kind: "DockerImage", Name: ref.String()},
		// Zero asks the server to stamp the stream's generation: a new import.
		Generation: new(int64),
		ImportPolicy: imagev1.TagImportPolicy{
			Insecure:   opts.Insecure,
			Scheduled:  opts.Scheduled,
			ImportMode: imagev1.ImportModeType(opts.ImportMode),
		},
		ReferencePolicy: imagev1.TagReferencePolicy{Type: opts.referencePolicy()},
	}

	var res registrykit.Result
	err := retry.OnError(kubewrite.ConflictBackoff, retriable, func() error {
		is, err := client.Get(ctx, dest.Stream, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			is = &imagev1.ImageStream{
				ObjectMeta: metav1.ObjectMeta{Namespace: dest.Namespace, Name: dest.Stream},
				Spec:       imagev1.ImageStreamSpec{Tags: []imagev1.TagReference{want}},
			}
			if _, err := client.Create(ctx, is, opts.CreateOptions()); err != nil {
				return err
			}
			res = registrykit.Result{Action: registrykit.Created, Reason: "image stream did not exist"}
			return nil
		}
		if err != nil {
			return err
		}
		is = is.DeepCopy()
		i := slices.IndexFunc(is.Spec.Tags, func(t imagev1.TagReference) bool { return t.Name == dest.Tag })
		if i < 0 {
			is.Spec.Tags = append(is.Spec.Tags, want)
			res = registrykit.Result{Action: registrykit.Updated, Reason: "added tag " + dest.Tag}
		} else {
			cur := &is.Spec.Tags[i]
			drift := tagDrift(*cur, want)
			if len(drift) == 0 {
				res = registrykit.Result{Action: registrykit.Unchanged, Reason: "tag matches"}
				return nil
			}
			next := want
			next.Annotations = cur.Annotations
			if next.ImportPolicy.ImportMode == "" {
				next.ImportPolicy.ImportMode = cur.ImportPolicy.ImportMode
			}
			if cur.Generation == nil {
				// A server without tag generations: force a re-import the old
				// way, as oc does.
				next.Generation = nil
				delete(is.Annotations, imagev1.DockerImageRepositoryCheckAnnotation)
			}
			*cur = next
			res = registrykit.Result{Action: registrykit.Updated, Reason: "changed tag " + dest.Tag + ": " + strings.Join(drift, ", ")}
		}
		_, err = client.Update(ctx, is, opts.UpdateOptions())
		return err
	})
	if err != nil {
		return registrykit.Result{}, fmt.Errorf("tag %s into %s: %w", ref, dest, err)
	}
	return kubewrite.Record(ctx, opts.WriteOptions, "imagestream", res, "imagestreamtag", dest.String(), "source", ref.String()), nil
}

func retriable(err error) bool { return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) }

// tagDrift lists the fields of cur that differ from want.
func tagDrift(cur, want imagev1.TagReference) []string {
	var drift []string
	if cur.From == nil || cur.From.Kind != want.From.Kind || cur.From.Name != want.From.Name || cur.From.Namespace != "" {
		drift = append(drift, "from")
	}
	if cur.Reference {
		drift = append(drift, "reference")
	}
	curPolicy := cur.ReferencePolicy.Type
	if curPolicy == "" {
		curPolicy = imagev1.SourceTagReferencePolicy
	}
	if curPolicy != want.ReferencePolicy.Type {
		drift = append(drift, "referencePolicy")
	}
	if cur.ImportPolicy.Scheduled != want.ImportPolicy.Scheduled {
		drift = append(drift, "importPolicy.scheduled")
	}
	if cur.ImportPolicy.Insecure != want.ImportPolicy.Insecure {
		drift = append(drift, "importPolicy.insecure")
	}
	if m := want.ImportPolicy.ImportMode; m != "" && cur.ImportPolicy.ImportMode != m {
		drift = append(drift, "importPolicy.importMode")
	}
	return drift
}

// Untag removes dest from the image stream, as `oc tag -d` does: first by
// deleting the ImageStreamTag (which clears spec and status on an OpenShift
// API server), and where that resource is not served, forbidden or does not
// know the tag, by removing the spec.tags entry with a conflict-retried
// update. A missing stream or tag is Skipped.
func Untag(ctx context.Context, images imageclientset.Interface, dest Ref, opts registrykit.WriteOptions) (registrykit.Result, error) {
	if err := registrykit.Invalid("imagestream.Untag", dest.Validate(field.NewPath("dest"))); err != nil {
		return registrykit.Result{}, err
	}
	err := images.ImageV1().ImageStreamTags(dest.Namespace).Delete(ctx, dest.Stream+":"+dest.Tag, opts.DeleteOptions())
	var fallback string
	switch {
	case err == nil:
		return kubewrite.Record(ctx, opts, "imagestream", registrykit.Result{Action: registrykit.Deleted, Reason: "deleted image stream tag"}, "imagestreamtag", dest.String()), nil
	case apierrors.IsNotFound(err), apierrors.IsMethodNotSupported(err):
	case apierrors.IsForbidden(err):
		// Say so: the spec-only fallback leaves the tag's status history.
		fallback = "; deleting the image stream tag was forbidden, so its status history is kept"
	default:
		return registrykit.Result{}, fmt.Errorf("untag %s: %w", dest, err)
	}
	client := images.ImageV1().ImageStreams(dest.Namespace)
	var res registrykit.Result
	err = retry.RetryOnConflict(kubewrite.ConflictBackoff, func() error {
		is, err := client.Get(ctx, dest.Stream, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			res = registrykit.Result{Action: registrykit.Skipped, Reason: "image stream does not exist"}
			return nil
		}
		if err != nil {
			return err
		}
		is = is.DeepCopy()
		n := len(is.Spec.Tags)
		is.Spec.Tags = slices.DeleteFunc(is.Spec.Tags, func(t imagev1.TagReference) bool { return t.Name == dest.Tag })
		if len(is.Spec.Tags) == n {
			res = registrykit.Result{Action: registrykit.Skipped, Reason: "tag not in spec"}
			return nil
		}
		if _, err := client.Update(ctx, is, opts.UpdateOptions()); err != nil {
			return err
		}
		res = registrykit.Result{Action: registrykit.Deleted, Reason: "removed spec tag" + fallback}
		return nil
	})
	if err != nil {
		return registrykit.Result{}, fmt.Errorf("untag %s: %w", dest, err)
	}
	return kubewrite.Record(ctx, opts, "imagestream", res, "imagestreamtag", dest.String()), nil
}
