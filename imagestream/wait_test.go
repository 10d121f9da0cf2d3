package imagestream

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	imagev1 "github.com/openshift/api/image/v1"
	imagefake "github.com/openshift/client-go/image/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	k8stesting "k8s.io/client-go/testing"

	"github.com/registrykit/registrykit"
)

// imported returns a stream whose tag "1" is at spec generation gen with the
// given status.
func importedStream(gen int64, status imagev1.NamedTagEventList) *imagev1.ImageStream {
	is := stream(tagRef("1", source, func(t *imagev1.TagReference) { t.Generation = ptr(gen) }))
	status.Tag = "1"
	is.Status.Tags = []imagev1.NamedTagEventList{status}
	return is
}

func item(image string, gen int64) imagev1.TagEvent {
	return imagev1.TagEvent{DockerImageReference: "us.icr.io/team/app@" + image, Image: image, Generation: gen}
}

func failed(gen int64) imagev1.TagEventCondition {
	return imagev1.TagEventCondition{Type: imagev1.ImportSuccess, Status: corev1.ConditionFalse, Reason: "Unauthorized",
		Message: "you may not have access to the container image", Generation: gen}
}

func TestWaitForImportDecides(t *testing.T) {
	const older = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	tests := []struct {
		name       string
		stream     *imagev1.ImageStream
		wantDigest string
		wantErr    error
		check      func(*testing.T, error)
	}{
		{
			name:       "imported at the current generation",
			stream:     importedStream(3, imagev1.NamedTagEventList{Items: []imagev1.TagEvent{item(digest, 3), item(older, 1)}}),
			wantDigest: digest,
		},
		{
			name:       "an earlier failure does not hide a later success",
			stream:     importedStream(3, imagev1.NamedTagEventList{Items: []imagev1.TagEvent{item(digest, 3)}, Conditions: []imagev1.TagEventCondition{failed(3)}}),
			wantDigest: digest,
		},
		{
			name:    "import failed at the current generation",
			stream:  importedStream(3, imagev1.NamedTagEventList{Items: []imagev1.TagEvent{item(older, 1)}, Conditions: []imagev1.TagEventCondition{failed(3)}}),
			wantErr: ErrImportFailed,
			check: func(t *testing.T, err error) {
				var ie *ImportError
				if !errors.As(err, &ie) {
					t.Fatalf("%v is not an *ImportError", err)
				}
				want := &ImportError{Ref: dest, Reason: "Unauthorized", Message: "you may not have access to the container image", Generation: 3}
				if diff := cmp.Diff(want, ie); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			},
		},
		{
			name:    "tag not in spec",
			stream:  stream(tagRef("other", source)),
			wantErr: ErrNotTagged,
		},
		{
			name:    "reference tags are never imported",
			stream:  stream(tagRef("1", source, func(t *imagev1.TagReference) { t.Reference = true })),
			wantErr: ErrNotTagged,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			images := imagefake.NewClientset(tt.stream)
			got, err := WaitForImport(t.Context(), images, dest)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.wantDigest {
				t.Errorf("digest = %q, want %q", got, tt.wantDigest)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

func TestWaitForImportMissingStream(t *testing.T) {
	_, err := WaitForImport(t.Context(), imagefake.NewClientset(), dest)
	if !apierrors.IsNotFound(err) {
		t.Errorf("err = %v, want NotFound", err)
	}
	_, err = WaitForImport(t.Context(), imagefake.NewClientset(), Ref{})
	if !errors.Is(err, registrykit.ErrInvalid) {
		t.Errorf("err = %v, want registrykit.ErrInvalid", err)
	}
}

// TestWaitForImportFollowsWatch plays the import controller: the stream
// starts with only an older import and the status is written later.
func TestWaitForImportFollowsWatch(t *testing.T) {
	const older = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	for _, tt := range []struct {
		name       string
		status     imagev1.NamedTagEventList
		wantDigest string
		wantErr    error
	}{
		{"success", imagev1.NamedTagEventList{Items: []imagev1.TagEvent{item(digest, 5), item(older, 2)}}, digest, nil},
		{"failure", imagev1.NamedTagEventList{Items: []imagev1.TagEvent{item(older, 2)}, Conditions: []imagev1.TagEventCondition{failed(5)}}, "", ErrImportFailed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			images := imagefake.NewClientset(importedStream(5, imagev1.NamedTagEventList{Items: []imagev1.TagEvent{item(older, 2)}}))
			started := make(chan struct{}, 10)
			images.PrependWatchReactor("imagestreams", func(k8stesting.Action) (bool, watch.Interface, error) {
				started <- struct{}{}
				return false, nil, nil
			})
			type result struct {
				digest string
				err    error
			}
			done := make(chan result, 1)
			go func() {
				d, err := WaitForImport(t.Context(), images, dest)
				done <- result{d, err}
			}()
			<-started
			is := importedStream(5, tt.status)
			if _, err := images.ImageV1().ImageStreams("proj").UpdateStatus(t.Context(), is, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			select {
			case got := <-done:
				if !errors.Is(got.err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", got.err, tt.wantErr)
				}
				if got.digest != tt.wantDigest {
					t.Errorf("digest = %q, want %q", got.digest, tt.wantDigest)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("WaitForImport did not return")
			}
		})
	}
}

func TestWaitForImportContextBounded(t *testing.T) {
	images := imagefake.NewClientset(importedStream(2, imagev1.NamedTagEventList{}))
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := WaitForImport(ctx, images, dest)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}
