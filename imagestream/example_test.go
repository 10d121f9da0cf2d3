package imagestream_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	imagev1 "github.com/openshift/api/image/v1"
	imagefake "github.com/openshift/client-go/image/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/registrykit/registrykit/imagestream"
)

func ExampleTag() {
	ctx := context.Background()
	images := imagefake.NewClientset()
	dest := imagestream.Ref{Namespace: "myproject", Stream: "app", Tag: "1"}
	opts := imagestream.TagOptions{ReferencePolicy: imagestream.LocalPolicy}

	res, err := imagestream.Tag(ctx, images, "us.icr.io/team/app:1", dest, opts)
	fmt.Println(res.Action, err)
	res, _ = imagestream.Tag(ctx, images, "us.icr.io/team/app:1", dest, opts)
	fmt.Println(res.Action)

	is, _ := images.ImageV1().ImageStreams("myproject").Get(ctx, "app", metav1.GetOptions{})
	tag := is.Spec.Tags[0]
	fmt.Println(tag.Name, tag.From.Kind, tag.From.Name, tag.ReferencePolicy.Type)
	// Output:
	// created <nil>
	// unchanged
	// 1 DockerImage us.icr.io/team/app:1 Local
}

func ExampleParseReference() {
	ref, err := imagestream.ParseReference("de.icr.io/team/app:2.1")
	fmt.Printf("%s %s %s %v\n", ref.Registry, ref.Repository, ref.Tag, err)

	_, err = imagestream.ParseReference("team/app:2.1")
	fmt.Println(errors.Is(err, imagestream.ErrNoRegistryHost))
	fmt.Println(err)
	// Output:
	// de.icr.io team/app 2.1 <nil>
	// true
	// invalid image reference "team/app:2.1": a registry host is required, e.g. us.icr.io/<namespace>/<image>:<tag>
}

func ExampleWaitForImport() {
	// A stream whose import failed because the project has no pull secret.
	gen := int64(2)
	images := imagefake.NewClientset(&imagev1.ImageStream{
		ObjectMeta: metav1.ObjectMeta{Namespace: "myproject", Name: "app"},
		Spec: imagev1.ImageStreamSpec{Tags: []imagev1.TagReference{{
			Name: "1", Generation: &gen,
			From: &corev1.ObjectReference{Kind: "DockerImage", Name: "us.icr.io/team/app:1"},
		}}},
		Status: imagev1.ImageStreamStatus{Tags: []imagev1.NamedTagEventList{{
			Tag: "1",
			Conditions: []imagev1.TagEventCondition{{
				Type: imagev1.ImportSuccess, Status: corev1.ConditionFalse, Generation: 2,
				Reason: "Unauthorized", Message: "you may not have access to the container image",
			}},
		}}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := imagestream.WaitForImport(ctx, images, imagestream.Ref{Namespace: "myproject", Stream: "app", Tag: "1"})
	var ie *imagestream.ImportError
	if errors.As(err, &ie) {
		fmt.Println(ie.Reason)
	}
	fmt.Println(err)
	// Output:
	// Unauthorized
	// import of myproject/app:1 failed: Unauthorized: you may not have access to the container image
}
