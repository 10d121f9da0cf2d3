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
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
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
	if err := dest.Validate(); err != nil {
		return "", err
	}
	client := images.ImageV1().ImageStreams(dest.Namespace)
	ticker := time.NewTicker(resync)
	defer ticker.Stop()
	for {
		is, err := client.Get(ctx, dest.Stream, metav1.GetOptions{})
		if err != nil {
			return "", fmt.Errorf("wait for import of %s: %w", dest, err)
		}
		if digest, done, err := imported(is, dest); done {
			return digest, err
		}
		w, err := client.Watch(ctx, metav1.ListOptions{
			FieldSelector:   fields.OneTermEqualSelector("metadata.name", dest.Stream).String(),
			ResourceVersion: is.ResourceVersion,
		})
		if err != nil {
			if ctx.Err() != nil {
				return "", fmt.Errorf("wait for import of %s: %w", dest, ctx.Err())
			}
			w = watch.NewEmptyWatch() // poll on the ticker instead
		}
		digest, done, err := drain(ctx, w, ticker.C, dest)
		w.Stop()
		if done {
			return digest, err
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("wait for import of %s: %w", dest, ctx.Err())
		}
	}
}

// drain consumes watch events until the import is decided, the watch ends,
// the ticker fires or ctx ends; done=false means "re-read and watch again".
func drain(ctx context.Context, w watch.Interface, tick <-chan time.Time, dest Ref) (string, bool, error) {
	for {
		select {
		case <-ctx.Done():
			return "", false, nil
		case <-tick:
			return "", false, nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				select {
				case <-ctx.Done():
				case <-tick:
				}
				return "", false, nil
			}
			if ev.Type == watch.Error {
				return "", false, nil
			}
			is, isStream := ev.Object.(*imagev1.ImageStream)
			if !isStream || is.Name != dest.Stream {
				continue
			}
			if ev.Type == watch.Deleted {
				return "", true, fmt.Errorf("wait for import of %s: image stream was deleted", dest)
			}
			if digest, done, err := imported(is, dest); done {
				return digest, true, err
			}
		}
	}
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
