package imagestream

import (
	"context"
	"fmt"
	"slices"
	"time"

	imagev1 "github.com/openshift/api/image/v1"
	imageclientset "github.com/openshift/client-go/image/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/internal/watchwait"
)

// resync bounds how long a missed watch event can delay WaitForImport.
const resync = 5 * time.Second

// WaitForImport waits until the server has imported dest's current spec
// generation and returns the imported image's digest (status.tags[].items[0].image,
// e.g. "sha256:…"). When the import for that generation failed it returns an
// *ImportError carrying the ImportSuccess=False condition's reason and
// message (for example missing or wrong pull credentials). A stream or tag
// that does not exist is an error at once (the stream's NotFound, or
// ErrNotTagged); otherwise it waits as long as ctx allows, watching the one
// stream and re-reading it every few seconds.
func WaitForImport(ctx context.Context, images imageclientset.Interface, dest Ref) (string, error) {
	if err := registrykit.Invalid("imagestream.WaitForImport", dest.Validate(field.NewPath("dest"))); err != nil {
		return "", err
	}
	client := images.ImageV1().ImageStreams(dest.Namespace)
	var digest string
	var verdict error
	err := watchwait.Until(ctx, resync, dest.Stream,
		func(ctx context.Context) (*imagev1.ImageStream, bool, error) {
			is, err := client.Get(ctx, dest.Stream, metav1.GetOptions{})
			return is, err == nil, err
		},
		client.Watch,
		func(is *imagev1.ImageStream, deleted bool) bool {
			if deleted {
				verdict = fmt.Errorf("wait for import of %s: image stream was deleted", dest)
				return true
			}
			var done bool
			digest, done, verdict = imported(is, dest)
			return done
		})
	if err != nil {
		return "", fmt.Errorf("wait for import of %s: %w", dest, err)
	}
	return digest, verdict
}

// imported decides the import of dest's current spec generation.
func imported(is *imagev1.ImageStream, dest Ref) (string, bool, error) {
	i := slices.IndexFunc(is.Spec.Tags, func(t imagev1.TagReference) bool { return t.Name == dest.Tag })
	if i < 0 {
		return "", true, fmt.Errorf("wait for import of %s: %w", dest, ErrNotTagged)
	}
	spec := is.Spec.Tags[i]
	if spec.Reference {
		return "", true, fmt.Errorf("wait for import of %s: %w: the tag is a reference and is never imported", dest, ErrNotTagged)
	}
	var gen int64
	if spec.Generation != nil {
		gen = *spec.Generation
	}
	j := slices.IndexFunc(is.Status.Tags, func(t imagev1.NamedTagEventList) bool { return t.Tag == dest.Tag })
	if j < 0 {
		return "", false, nil
	}
	status := is.Status.Tags[j]
	if len(status.Items) > 0 && status.Items[0].Generation >= gen && status.Items[0].Image != "" {
		return status.Items[0].Image, true, nil
	}
	for _, c := range status.Conditions {
		if c.Type == imagev1.ImportSuccess && c.Status == corev1.ConditionFalse && c.Generation >= gen {
			return "", true, &ImportError{Ref: dest, Reason: c.Reason, Message: c.Message, Generation: c.Generation}
		}
	}
	return "", false, nil
}
