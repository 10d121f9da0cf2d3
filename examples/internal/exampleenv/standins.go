package exampleenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	imagev1 "github.com/openshift/api/image/v1"
	routev1 "github.com/openshift/api/route/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	k8stesting "k8s.io/client-go/testing"

	"github.com/registrykit/registrykit/dockerconfig"
)

// The embedded cluster runs no OpenShift controllers. The stand-ins below
// play the two that the guide's steps wait for, just enough for the
// examples to show the whole step; each says in its output that it is a
// stand-in. They do nothing on a real cluster (Fake is nil there).

// StandInRouter plays OpenShift's router in embedded mode: every route
// written (except in a dry run) is stored with an Admitted ingress for its
// host, or for a generated <name>-<namespace>.apps.embedded.example.
func (e *Env) StandInRouter() {
	if e.Fake == nil {
		return
	}
	tracker := e.Fake.RoutesFake.Tracker()
	e.Fake.RoutesFake.PrependReactor("*", "routes", func(action k8stesting.Action) (bool, runtime.Object, error) {
		in, ok := PersistedWrite(action).(*routev1.Route)
		if !ok {
			return false, nil, nil
		}
		r := in.DeepCopy()
		host := r.Spec.Host
		if host == "" {
			host = r.Name + "-" + r.Namespace + ".apps.embedded.example"
		}
		now := metav1.NewTime(time.Now())
		r.Status.Ingress = []routev1.RouteIngress{{
			Host: host, RouterName: "embedded-stand-in",
			Conditions: []routev1.RouteIngressCondition{{Type: routev1.RouteAdmitted, Status: corev1.ConditionTrue, LastTransitionTime: &now}},
		}}
		return store(tracker, action, r, r.Name)
	})
}

// StandInImporter plays OpenShift's image import controller in embedded
// mode: when an image stream is written (except in a dry run), every spec
// tag from a registry image gets a status — imported, with a digest made
// up from the reference, when the stream's namespace holds a pull secret
// that matches the image's registry; otherwise ImportSuccess=False,
// Unauthorized. No registry is contacted.
func (e *Env) StandInImporter(ctx context.Context) {
	if e.Fake == nil {
		return
	}
	kube, tracker := e.Cluster.Kube, e.Fake.ImagesFake.Tracker()
	e.Fake.ImagesFake.PrependReactor("*", "imagestreams", func(action k8stesting.Action) (bool, runtime.Object, error) {
		in, ok := PersistedWrite(action).(*imagev1.ImageStream)
		if !ok {
			return false, nil, nil
		}
		is := in.DeepCopy()
		is.Status.Tags = nil
		for _, t := range is.Spec.Tags {
			if t.From == nil || t.From.Kind != "DockerImage" {
				continue
			}
			var gen int64
			if t.Generation != nil {
				gen = *t.Generation
			}
			now := metav1.Now()
			status := imagev1.NamedTagEventList{Tag: t.Name}
			if hasPullSecret(ctx, kube, is.Namespace, t.From.Name) {
				sum := sha256.Sum256([]byte(t.From.Name))
				status.Items = []imagev1.TagEvent{{Created: now, DockerImageReference: t.From.Name, Image: "sha256:" + hex.EncodeToString(sum[:]), Generation: gen}}
			} else {
				status.Conditions = []imagev1.TagEventCondition{{Type: imagev1.ImportSuccess, Status: corev1.ConditionFalse, LastTransitionTime: now, Generation: gen,
					Reason:  "Unauthorized",
					Message: "embedded stand-in: no pull secret in " + is.Namespace + " matches " + t.From.Name}}
			}
			is.Status.Tags = append(is.Status.Tags, status)
		}
		return store(tracker, action, is, is.Name)
	})
}

// store writes obj, the stand-in's version of the object of a create or
// update, to the tracker and answers with what is stored.
func store(tracker k8stesting.ObjectTracker, action k8stesting.Action, obj runtime.Object, name string) (bool, runtime.Object, error) {
	gvr, ns := action.GetResource(), action.GetNamespace()
	var err error
	if action.GetVerb() == "create" {
		err = tracker.Create(gvr, obj, ns)
	} else {
		err = tracker.Update(gvr, obj, ns)
	}
	if err != nil {
		return true, nil, err
	}
	stored, err := tracker.Get(gvr, ns, name)
	return true, stored, err
}

// hasPullSecret reports whether a dockerconfigjson secret in ns has a
// credential for image.
func hasPullSecret(ctx context.Context, kube kubernetes.Interface, ns, image string) bool {
	list, err := kube.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return false
	}
	for _, s := range list.Items {
		if s.Type != corev1.SecretTypeDockerConfigJson {
			continue
		}
		if cfg, err := dockerconfig.ParseSecret(string(s.Type), s.Data); err == nil && len(cfg.Lookup(image)) > 0 {
			return true
		}
	}
	return false
}
