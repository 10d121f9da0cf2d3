package exampleenv

import (
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/registrykit/registrykit/registry/registrytest"
)

// honourDryRun makes the embedded cluster's fake clientsets treat
// dryRun=All the way an API server does: a create, update or delete is
// checked against what exists and answered, but nothing is stored. Without
// it the fakes store dry-run writes, and --dry-run in embedded mode would
// change the pretend cluster. Admission and validation are not simulated.
func honourDryRun(c *registrytest.Cluster) {
	for _, f := range []struct {
		fake    *k8stesting.Fake
		tracker k8stesting.ObjectTracker
	}{
		{&c.KubeFake.Fake, c.KubeFake.Tracker()},
		{&c.RoutesFake.Fake, c.RoutesFake.Tracker()},
		{&c.ImagesFake.Fake, c.ImagesFake.Tracker()},
		{&c.BuildsFake.Fake, c.BuildsFake.Tracker()},
		{&c.OperatorFake.Fake, c.OperatorFake.Tracker()},
	} {
		f.fake.PrependReactor("*", "*", dryRunReactor(f.tracker))
	}
}

func dryRunReactor(tracker k8stesting.ObjectTracker) k8stesting.ReactionFunc {
	return func(action k8stesting.Action) (bool, runtime.Object, error) {
		gvr, ns := action.GetResource(), action.GetNamespace()
		switch a := action.(type) {
		case k8stesting.CreateActionImpl:
			if !isDryRun(a.CreateOptions.DryRun) {
				return false, nil, nil
			}
			obj := a.Object.DeepCopyObject()
			m, err := metaOf(obj)
			if err != nil {
				return true, nil, err
			}
			if _, err := tracker.Get(gvr, ns, m.GetName()); err == nil {
				return true, nil, apierrors.NewAlreadyExists(gvr.GroupResource(), m.GetName())
			}
			return true, obj, nil
		case k8stesting.UpdateActionImpl:
			if !isDryRun(a.UpdateOptions.DryRun) {
				return false, nil, nil
			}
			obj := a.Object.DeepCopyObject()
			m, err := metaOf(obj)
			if err != nil {
				return true, nil, err
			}
			if _, err := tracker.Get(gvr, ns, m.GetName()); err != nil {
				return true, nil, err
			}
			return true, obj, nil
		case k8stesting.DeleteActionImpl:
			if !isDryRun(a.DeleteOptions.DryRun) {
				return false, nil, nil
			}
			_, err := tracker.Get(gvr, ns, a.Name)
			return true, nil, err
		}
		return false, nil, nil
	}
}

func isDryRun(v []string) bool { return slices.Contains(v, metav1.DryRunAll) }

func metaOf(obj runtime.Object) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, apierrors.NewBadRequest("object has no metadata")
	}
	return m, nil
}

// PersistedWrite returns the object of a create or update that is not a dry
// run — what a stand-in controller (a router, an import controller) reacts
// to in embedded mode — or nil for any other action.
func PersistedWrite(action k8stesting.Action) runtime.Object {
	switch a := action.(type) {
	case k8stesting.CreateActionImpl:
		if !isDryRun(a.CreateOptions.DryRun) {
			return a.Object
		}
	case k8stesting.UpdateActionImpl:
		if !isDryRun(a.UpdateOptions.DryRun) {
			return a.Object
		}
	}
	return nil
}
