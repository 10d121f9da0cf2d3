package imagestream

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	imagev1 "github.com/openshift/api/image/v1"
	imagefake "github.com/openshift/client-go/image/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/registrykit/registrykit"
)

const source = "us.icr.io/team/app:1"

var dest = Ref{Namespace: "proj", Stream: "app", Tag: "1"}

func ptr[T any](v T) *T { return &v }

// tagRef is the spec tag Tag writes for source with default options.
func tagRef(name, from string, mutate ...func(*imagev1.TagReference)) imagev1.TagReference {
	t := imagev1.TagReference{
		Name:            name,
		From:            &corev1.ObjectReference{Kind: "DockerImage", Name: from},
		Generation:      ptr(int64(0)),
		ReferencePolicy: imagev1.TagReferencePolicy{Type: imagev1.SourceTagReferencePolicy},
	}
	for _, m := range mutate {
		m(&t)
	}
	return t
}

func stream(tags ...imagev1.TagReference) *imagev1.ImageStream {
	return &imagev1.ImageStream{
		ObjectMeta: metav1.ObjectMeta{Namespace: "proj", Name: "app", Labels: map[string]string{"app": "x"}},
		Spec:       imagev1.ImageStreamSpec{Tags: tags},
	}
}

func writes(t *testing.T, actions []k8stesting.Action) []string {
	t.Helper()
	var out []string
	for _, a := range actions {
		switch a.GetVerb() {
		case "create", "update", "patch", "delete":
			out = append(out, a.GetVerb()+" "+a.GetResource().Resource)
		}
	}
	return out
}

func TestTag(t *testing.T) {
	other := tagRef("other", "quay.io/x/y:2", func(t *imagev1.TagReference) { t.Generation = ptr(int64(4)) })
	tests := []struct {
		name       string
		existing   []runtime.Object
		opts       TagOptions
		wantTags   []imagev1.TagReference
		wantResult registrykit.Result
		wantWrites []string
	}{
		{
			name:       "creates the stream",
			wantTags:   []imagev1.TagReference{tagRef("1", source)},
			wantResult: registrykit.Result{Action: registrykit.Created, Reason: "image stream did not exist"},
			wantWrites: []string{"create imagestreams"},
		},
		{
			name:     "adds the tag beside others",
			existing: []runtime.Object{stream(other)},
			opts:     TagOptions{ReferencePolicy: LocalPolicy, Scheduled: true, Insecure: true, ImportMode: ImportPreserveOriginal},
			wantTags: []imagev1.TagReference{other, tagRef("1", source, func(t *imagev1.TagReference) {
				t.ReferencePolicy.Type = imagev1.LocalTagReferencePolicy
				t.ImportPolicy = imagev1.TagImportPolicy{Scheduled: true, Insecure: true, ImportMode: imagev1.ImportModePreserveOriginal}
			})},
			wantResult: registrykit.Result{Action: registrykit.Updated, Reason: "added tag 1"},
			wantWrites: []string{"update imagestreams"},
		},
		{
			name: "same tag is unchanged (empty policy means Source, import mode unmanaged)",
			existing: []runtime.Object{stream(other, tagRef("1", source, func(t *imagev1.TagReference) {
				t.Generation = ptr(int64(7))
				t.ReferencePolicy.Type = ""
				t.ImportPolicy.ImportMode = imagev1.ImportModePreserveOriginal
			}))},
			wantTags: []imagev1.TagReference{other, tagRef("1", source, func(t *imagev1.TagReference) {
				t.Generation = ptr(int64(7))
				t.ReferencePolicy.Type = ""
				t.ImportPolicy.ImportMode = imagev1.ImportModePreserveOriginal
			})},
			wantResult: registrykit.Result{Action: registrykit.Unchanged, Reason: "tag matches"},
		},
		{
			name: "drifted tag is replaced, annotations and unmanaged import mode kept",
			existing: []runtime.Object{stream(tagRef("1", "us.icr.io/team/app:0", func(t *imagev1.TagReference) {
				t.Generation = ptr(int64(7))
				t.Annotations = map[string]string{"description": "app"}
				t.ImportPolicy = imagev1.TagImportPolicy{Scheduled: true, ImportMode: imagev1.ImportModePreserveOriginal}
			}), other)},
			opts: TagOptions{ReferencePolicy: LocalPolicy},
			wantTags: []imagev1.TagReference{tagRef("1", source, func(t *imagev1.TagReference) {
				t.Annotations = map[string]string{"description": "app"}
				t.ReferencePolicy.Type = imagev1.LocalTagReferencePolicy
				t.ImportPolicy.ImportMode = imagev1.ImportModePreserveOriginal
			}), other},
			wantResult: registrykit.Result{Action: registrykit.Updated, Reason: "changed tag 1: from, referencePolicy, importPolicy.scheduled"},
			wantWrites: []string{"update imagestreams"},
		},
		{
			name:       "import mode drift",
			existing:   []runtime.Object{stream(tagRef("1", source))},
			opts:       TagOptions{ImportMode: ImportLegacy},
			wantTags:   []imagev1.TagReference{tagRef("1", source, func(t *imagev1.TagReference) { t.ImportPolicy.ImportMode = imagev1.ImportModeLegacy })},
			wantResult: registrykit.Result{Action: registrykit.Updated, Reason: "changed tag 1: importPolicy.importMode"},
			wantWrites: []string{"update imagestreams"},
		},
		{
			name:       "istag source becomes a registry image",
			existing:   []runtime.Object{stream(imagev1.TagReference{Name: "1", From: &corev1.ObjectReference{Kind: "ImageStreamTag", Name: "app:0"}, Reference: true, Generation: ptr(int64(2))})},
			wantTags:   []imagev1.TagReference{tagRef("1", source)},
			wantResult: registrykit.Result{Action: registrykit.Updated, Reason: "changed tag 1: from, reference"},
			wantWrites: []string{"update imagestreams"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			images := imagefake.NewClientset(tt.existing...)
			res, err := Tag(t.Context(), images, source, dest, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantResult, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			is, err := images.ImageV1().ImageStreams("proj").Get(t.Context(), "app", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantTags, is.Spec.Tags); diff != "" {
				t.Errorf("spec.tags (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantWrites, writes(t, images.Actions())); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			if tt.existing != nil && is.Labels["app"] != "x" {
				t.Errorf("labels lost: %v", is.Labels)
			}
		})
	}
}

func TestTagLegacyServerWithoutGenerations(t *testing.T) {
	old := stream(imagev1.TagReference{Name: "1", From: &corev1.ObjectReference{Kind: "DockerImage", Name: "us.icr.io/team/app:0"}})
	old.Annotations = map[string]string{imagev1.DockerImageRepositoryCheckAnnotation: "2020-01-01T00:00:00Z", "keep": "me"}
	images := imagefake.NewClientset(old)
	if _, err := Tag(t.Context(), images, source, dest, TagOptions{}); err != nil {
		t.Fatal(err)
	}
	is, _ := images.ImageV1().ImageStreams("proj").Get(t.Context(), "app", metav1.GetOptions{})
	want := []imagev1.TagReference{tagRef("1", source, func(t *imagev1.TagReference) { t.Generation = nil })}
	if diff := cmp.Diff(want, is.Spec.Tags); diff != "" {
		t.Errorf("spec.tags (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"keep": "me"}, is.Annotations); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}
}

func TestTagRetries(t *testing.T) {
	gr := schema.GroupResource{Group: "image.openshift.io", Resource: "imagestreams"}
	t.Run("conflict on update", func(t *testing.T) {
		images := imagefake.NewClientset(stream())
		n := 0
		images.PrependReactor("update", "imagestreams", func(a k8stesting.Action) (bool, runtime.Object, error) {
			if n++; n == 1 {
				// Someone adds a tag meanwhile; the retry must keep it.
				other := stream(tagRef("other", "quay.io/x/y:1"))
				other.ResourceVersion = "2"
				if err := images.Tracker().Update(schema.GroupVersionResource{Group: "image.openshift.io", Version: "v1", Resource: "imagestreams"}, other, "proj"); err != nil {
					t.Fatal(err)
				}
				return true, nil, apierrors.NewConflict(gr, "app", errors.New("modified"))
			}
			return false, nil, nil
		})
		res, err := Tag(t.Context(), images, source, dest, TagOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Action != registrykit.Updated {
			t.Errorf("action = %v", res.Action)
		}
		is, _ := images.ImageV1().ImageStreams("proj").Get(t.Context(), "app", metav1.GetOptions{})
		if diff := cmp.Diff([]imagev1.TagReference{tagRef("other", "quay.io/x/y:1"), tagRef("1", source)}, is.Spec.Tags); diff != "" {
			t.Errorf("spec.tags (-want +got):\n%s", diff)
		}
	})
	t.Run("create race", func(t *testing.T) {
		images := imagefake.NewClientset()
		raced := false
		images.PrependReactor("create", "imagestreams", func(a k8stesting.Action) (bool, runtime.Object, error) {
			if raced {
				return false, nil, nil
			}
			raced = true
			if err := images.Tracker().Add(stream(tagRef("other", "quay.io/x/y:1"))); err != nil {
				t.Fatal(err)
			}
			return true, nil, apierrors.NewAlreadyExists(gr, "app")
		})
		res, err := Tag(t.Context(), images, source, dest, TagOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(registrykit.Result{Action: registrykit.Updated, Reason: "added tag 1"}, res); diff != "" {
			t.Errorf("result (-want +got):\n%s", diff)
		}
	})
}

func TestTagRejectsBadInputBeforeAnyCall(t *testing.T) {
	tests := []struct {
		name       string
		source     string
		dest       Ref
		opts       TagOptions
		wantFields []string
	}{
		{name: "no registry host", source: "team/app:1", dest: dest, wantFields: []string{"source"}},
		{name: "bad source", source: "us.icr.io/Team/app", dest: dest, wantFields: []string{"source"}},
		{name: "bad dest", source: source, dest: Ref{Namespace: "Proj", Stream: "My App", Tag: ""}, wantFields: []string{"dest.namespace", "dest.stream", "dest.tag"}},
		{name: "bad options", source: source, dest: dest, opts: TagOptions{ReferencePolicy: "local", ImportMode: "All"}, wantFields: []string{"referencePolicy", "importMode"}},
		{name: "everything at once", source: "app", dest: Ref{}, opts: TagOptions{ReferencePolicy: "x"},
			wantFields: []string{"source", "dest.namespace", "dest.stream", "dest.tag", "referencePolicy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			images := imagefake.NewClientset()
			_, err := Tag(t.Context(), images, tt.source, tt.dest, tt.opts)
			if !errors.Is(err, registrykit.ErrInvalid) {
				t.Fatalf("err = %v, want registrykit.ErrInvalid", err)
			}
			if diff := cmp.Diff(tt.wantFields, fieldsOf(t, err)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if n := len(images.Actions()); n != 0 {
				t.Errorf("%d API calls, want none", n)
			}
		})
	}
}

// fieldsOf returns the field paths of an *registrykit.InvalidError, without
// consecutive duplicates.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	var ie *registrykit.InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("%v is not a *registrykit.InvalidError", err)
	}
	var out []string
	for _, fe := range ie.Errs {
		if len(out) == 0 || out[len(out)-1] != fe.Field {
			out = append(out, fe.Field)
		}
	}
	return out
}

func TestTagDryRunAndFieldManager(t *testing.T) {
	images := imagefake.NewClientset(stream())
	if _, err := Tag(t.Context(), images, source, dest, TagOptions{WriteOptions: registrykit.WriteOptions{DryRun: true, FieldManager: "ci"}}); err != nil {
		t.Fatal(err)
	}
	for _, a := range images.Actions() {
		if u, ok := a.(k8stesting.UpdateActionImpl); ok {
			if diff := cmp.Diff(metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: "ci"}, u.UpdateOptions); diff != "" {
				t.Errorf("update options (-want +got):\n%s", diff)
			}
			return
		}
	}
	t.Fatal("no update recorded")
}

func TestUntag(t *testing.T) {
	gr := schema.GroupResource{Group: "image.openshift.io", Resource: "imagestreamtags"}
	other := tagRef("other", "quay.io/x/y:1")
	tests := []struct {
		name       string
		existing   []runtime.Object
		istagErr   error // nil: the ImageStreamTag delete succeeds
		fallback   bool  // let the fake answer the ImageStreamTag delete (NotFound)
		wantResult registrykit.Result
		wantTags   []imagev1.TagReference
		wantWrites []string
	}{
		{
			name:       "OpenShift server deletes the ImageStreamTag",
			existing:   []runtime.Object{stream(tagRef("1", source), other)},
			wantResult: registrykit.Result{Action: registrykit.Deleted, Reason: "deleted image stream tag"},
			wantTags:   []imagev1.TagReference{tagRef("1", source), other}, // the fake server does not act on it
			wantWrites: []string{"delete imagestreamtags"},
		},
		{
			name:       "no ImageStreamTag resource: spec tag removed",
			existing:   []runtime.Object{stream(tagRef("1", source), other)},
			fallback:   true,
			wantResult: registrykit.Result{Action: registrykit.Deleted, Reason: "removed spec tag"},
			wantTags:   []imagev1.TagReference{other},
			wantWrites: []string{"delete imagestreamtags", "update imagestreams"},
		},
		{
			name:       "forbidden ImageStreamTag delete falls back",
			existing:   []runtime.Object{stream(tagRef("1", source), other)},
			istagErr:   apierrors.NewForbidden(gr, "app:1", errors.New("no")),
			wantResult: registrykit.Result{Action: registrykit.Deleted, Reason: "removed spec tag; deleting the image stream tag was forbidden, so its status history is kept"},
			wantTags:   []imagev1.TagReference{other},
			wantWrites: []string{"delete imagestreamtags", "update imagestreams"},
		},
		{
			name:       "tag absent",
			existing:   []runtime.Object{stream(other)},
			fallback:   true,
			wantResult: registrykit.Result{Action: registrykit.Skipped, Reason: "tag not in spec"},
			wantTags:   []imagev1.TagReference{other},
			wantWrites: []string{"delete imagestreamtags"},
		},
		{
			name:       "stream absent",
			fallback:   true,
			wantResult: registrykit.Result{Action: registrykit.Skipped, Reason: "image stream does not exist"},
			wantWrites: []string{"delete imagestreamtags"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			images := imagefake.NewClientset(tt.existing...)
			if !tt.fallback {
				images.PrependReactor("delete", "imagestreamtags", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, tt.istagErr
				})
			}
			res, err := Untag(t.Context(), images, dest, registrykit.WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantResult, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantWrites, writes(t, images.Actions())); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			if tt.existing == nil {
				return
			}
			is, _ := images.ImageV1().ImageStreams("proj").Get(t.Context(), "app", metav1.GetOptions{})
			if diff := cmp.Diff(tt.wantTags, is.Spec.Tags); diff != "" {
				t.Errorf("spec.tags (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUntagErrors(t *testing.T) {
	images := imagefake.NewClientset()
	if _, err := Untag(t.Context(), images, Ref{Namespace: "p", Stream: "a"}, registrykit.WriteOptions{}); !errors.Is(err, registrykit.ErrInvalid) {
		t.Errorf("err = %v, want registrykit.ErrInvalid", err)
	}
	if n := len(images.Actions()); n != 0 {
		t.Errorf("%d calls before validation", n)
	}
	images.PrependReactor("delete", "imagestreamtags", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewInternalError(errors.New("etcd down"))
	})
	if _, err := Untag(t.Context(), images, dest, registrykit.WriteOptions{}); !apierrors.IsInternalError(err) {
		t.Errorf("err = %v, want the server's error", err)
	}
}
