package imagestream_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	imagev1 "github.com/openshift/api/image/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/imagestream"
)

const digest = "sha256:6b646fa6bf5e5e4c7fa41056c27910e679c03ebe7f93e361e6515a9da7e258cc"

func TestTagUpsertsOneTag(t *testing.T) {
	ns := env.Namespace(t)
	c, counter := env.Counted(t)
	images := c.Images
	dest := imagestream.Ref{Namespace: ns, Stream: "app", Tag: "1"}

	res, err := imagestream.Tag(t.Context(), images, "us.icr.io/team/app:1", dest, imagestream.TagOptions{})
	if err != nil || res.Action != registrykit.Created {
		t.Fatalf("create: %v, %v", res, err)
	}
	other := imagestream.Ref{Namespace: ns, Stream: "app", Tag: "2"}
	if res, err := imagestream.Tag(t.Context(), images, "us.icr.io/team/app:2", other, imagestream.TagOptions{Scheduled: true}); err != nil || res.Action != registrykit.Updated {
		t.Fatalf("second tag: %v, %v", res, err)
	}

	counter.Reset()
	res, err = imagestream.Tag(t.Context(), images, "us.icr.io/team/app:1", dest, imagestream.TagOptions{})
	if err != nil || res.Action != registrykit.Unchanged {
		t.Errorf("repeat: %v, %v", res, err)
	}
	if w := counter.Writes(); len(w) != 0 {
		t.Errorf("repeat wrote %v", w)
	}

	res, err = imagestream.Tag(t.Context(), images, "us.icr.io/team/app:1", dest,
		imagestream.TagOptions{ReferencePolicy: imagestream.LocalPolicy, ImportMode: imagestream.ImportPreserveOriginal})
	if err != nil || res.Action != registrykit.Updated {
		t.Errorf("policy change: %v, %v", res, err)
	}

	is, err := env.Images.ImageV1().ImageStreams(ns).Get(t.Context(), "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	zero := int64(0)
	want := []imagev1.TagReference{
		{
			Name: "1", From: &corev1.ObjectReference{Kind: "DockerImage", Name: "us.icr.io/team/app:1"}, Generation: &zero,
			ImportPolicy:    imagev1.TagImportPolicy{ImportMode: imagev1.ImportModePreserveOriginal},
			ReferencePolicy: imagev1.TagReferencePolicy{Type: imagev1.LocalTagReferencePolicy},
		},
		{
			Name: "2", From: &corev1.ObjectReference{Kind: "DockerImage", Name: "us.icr.io/team/app:2"}, Generation: &zero,
			ImportPolicy:    imagev1.TagImportPolicy{Scheduled: true},
			ReferencePolicy: imagev1.TagReferencePolicy{Type: imagev1.SourceTagReferencePolicy},
		},
	}
	if diff := cmp.Diff(want, is.Spec.Tags); diff != "" {
		t.Errorf("spec.tags (-want +got):\n%s", diff)
	}
}

// Concurrent Tag calls on one stream race on resourceVersion; every tag must
// survive because each retry re-reads the stream.
func TestConcurrentTagsAllSurvive(t *testing.T) {
	ns := env.Namespace(t)
	c, counter := env.Counted(t)
	images := c.Images
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			dest := imagestream.Ref{Namespace: ns, Stream: "shared", Tag: fmt.Sprint("v", i)}
			if _, err := imagestream.Tag(t.Context(), images, fmt.Sprintf("us.icr.io/team/app:%d", i), dest, imagestream.TagOptions{}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	is, err := env.Images.ImageV1().ImageStreams(ns).Get(t.Context(), "shared", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(is.Spec.Tags) != n {
		t.Errorf("%d tags survived, want %d", len(is.Spec.Tags), n)
	}
	t.Logf("requests: %v", counter.Snapshot())
}

func TestUntagFallsBackToTheSpec(t *testing.T) {
	ns := env.Namespace(t)
	c, _ := env.Counted(t)
	images := c.Images
	for _, tag := range []string{"1", "2"} {
		if _, err := imagestream.Tag(t.Context(), images, "us.icr.io/team/app:"+tag, imagestream.Ref{Namespace: ns, Stream: "app", Tag: tag}, imagestream.TagOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := imagestream.Untag(t.Context(), images, imagestream.Ref{Namespace: ns, Stream: "app", Tag: "1"}, registrykit.WriteOptions{})
	if err != nil || res.Action != registrykit.Deleted {
		t.Fatalf("untag: %v, %v", res, err)
	}
	is, _ := env.Images.ImageV1().ImageStreams(ns).Get(t.Context(), "app", metav1.GetOptions{})
	if len(is.Spec.Tags) != 1 || is.Spec.Tags[0].Name != "2" {
		t.Errorf("spec.tags = %+v", is.Spec.Tags)
	}
	res, err = imagestream.Untag(t.Context(), images, imagestream.Ref{Namespace: ns, Stream: "app", Tag: "1"}, registrykit.WriteOptions{})
	if err != nil || res.Action != registrykit.Skipped {
		t.Errorf("second untag: %v, %v", res, err)
	}
}

func TestTagWithoutRegistryHostMakesNoRequest(t *testing.T) {
	c, counter := env.Counted(t)
	images := c.Images
	_, err := imagestream.Tag(t.Context(), images, "team/app:1", imagestream.Ref{Namespace: "x", Stream: "app", Tag: "1"}, imagestream.TagOptions{})
	var fe *field.Error
	if !errors.Is(err, registrykit.ErrInvalid) || !errors.As(err, &fe) || fe.Field != "source" {
		t.Errorf("err = %v, want registrykit.ErrInvalid on field source", err)
	}
	if counter.Total() != 0 {
		t.Errorf("requests: %v", counter.Snapshot())
	}
}

// importer plays the image import controller once: it waits for the spec
// tag and writes status.tags for the tag's generation.
func importer(ctx context.Context, t *testing.T, dest imagestream.Ref, write func(gen int64) imagev1.NamedTagEventList) {
	client := env.Images.ImageV1().ImageStreams(dest.Namespace)
	for ctx.Err() == nil {
		time.Sleep(200 * time.Millisecond)
		is, err := client.Get(ctx, dest.Stream, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			t.Errorf("importer: %v", err)
			return
		}
		var gen int64
		for _, tag := range is.Spec.Tags {
			if tag.Name == dest.Tag && tag.Generation != nil {
				gen = *tag.Generation
			}
		}
		list := write(gen)
		list.Tag = dest.Tag
		is.Status.Tags = append(is.Status.Tags, list)
		if _, err := client.UpdateStatus(ctx, is, metav1.UpdateOptions{}); err == nil {
			return
		} else if !apierrors.IsConflict(err) && ctx.Err() == nil {
			t.Errorf("importer: update status: %v", err)
			return
		}
	}
}

func TestWaitForImport(t *testing.T) {
	tests := []struct {
		name       string
		status     func(gen int64) imagev1.NamedTagEventList
		wantDigest string
		wantErr    error
	}{
		{
			name: "imported",
			status: func(gen int64) imagev1.NamedTagEventList {
				return imagev1.NamedTagEventList{Items: []imagev1.TagEvent{{
					Created: metav1.Now(), DockerImageReference: "us.icr.io/team/app@" + digest, Image: digest, Generation: gen,
				}}}
			},
			wantDigest: digest,
		},
		{
			name: "unauthorized",
			status: func(gen int64) imagev1.NamedTagEventList {
				return imagev1.NamedTagEventList{Conditions: []imagev1.TagEventCondition{{
					Type: imagev1.ImportSuccess, Status: corev1.ConditionFalse, LastTransitionTime: metav1.Now(),
					Reason: "Unauthorized", Message: "you may not have access to the container image \"us.icr.io/team/app:1\"", Generation: gen,
				}}}
			},
			wantErr: imagestream.ErrImportFailed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := env.Namespace(t)
			c, _ := env.Counted(t)
			images := c.Images
			dest := imagestream.Ref{Namespace: ns, Stream: "app", Tag: "1"}
			if _, err := imagestream.Tag(t.Context(), images, "us.icr.io/team/app:1", dest, imagestream.TagOptions{ReferencePolicy: imagestream.LocalPolicy}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			done := make(chan struct{})
			go func() { defer close(done); importer(ctx, t, dest, tt.status) }()
			got, err := imagestream.WaitForImport(ctx, images, dest)
			<-done // the importer's write has been answered
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.wantDigest {
				t.Errorf("digest = %q, want %q", got, tt.wantDigest)
			}
			var ie *imagestream.ImportError
			if errors.As(err, &ie) && ie.Reason != "Unauthorized" {
				t.Errorf("ImportError = %+v", ie)
			}
		})
	}
}
