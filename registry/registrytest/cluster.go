// Package registrytest gives a registry.Cluster backed by client-go's and
// openshift/client-go's fake clientsets, for tests and for the examples'
// embedded mode.
//
// Fakes do not validate objects, do not run admission, and do not create the
// service accounts and dockercfg secrets that OpenShift's controllers create;
// NewOpenShiftCluster seeds the objects a fresh OpenShift 4 cluster has that
// the workflows read. Behaviour that depends on the API server itself is
// tested in the integration tier under test/.
package registrytest

import (
	"fmt"

	buildv1 "github.com/openshift/api/build/v1"
	imagev1 "github.com/openshift/api/image/v1"
	imageregistryv1 "github.com/openshift/api/imageregistry/v1"
	routev1 "github.com/openshift/api/route/v1"
	buildfake "github.com/openshift/client-go/build/clientset/versioned/fake"
	imagefake "github.com/openshift/client-go/image/clientset/versioned/fake"
	operatorfake "github.com/openshift/client-go/imageregistry/clientset/versioned/fake"
	routefake "github.com/openshift/client-go/route/clientset/versioned/fake"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	kubescheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/registrykit/registrykit/registry"
)

// Cluster is a registry.Cluster whose clients are fakes, with the concrete
// fake types exposed so tests can add reactors and inspect actions.
type Cluster struct {
	registry.Cluster
	KubeFake     *kubefake.Clientset
	RoutesFake   *routefake.Clientset
	ImagesFake   *imagefake.Clientset
	BuildsFake   *buildfake.Clientset
	OperatorFake *operatorfake.Clientset
}

// NewCluster returns fakes holding objs, each given to the clientset that
// serves its API group. It returns an error for an object none of them
// serves.
func NewCluster(objs ...runtime.Object) (*Cluster, error) {
	var kube, routes, images, builds, operator []runtime.Object
	for _, o := range objs {
		switch o.(type) {
		case *routev1.Route:
			routes = append(routes, o)
		case *imagev1.ImageStream, *imagev1.ImageStreamTag, *imagev1.Image:
			images = append(images, o)
		case *buildv1.BuildConfig, *buildv1.Build:
			builds = append(builds, o)
		case *imageregistryv1.Config:
			operator = append(operator, o)
		default:
			if _, _, err := kubescheme.Scheme.ObjectKinds(o); err != nil {
				return nil, fmt.Errorf("registrytest: no fake clientset serves %T: %w", o, err)
			}
			kube = append(kube, o)
		}
	}
	c := &Cluster{
		KubeFake:     kubefake.NewClientset(kube...),
		RoutesFake:   routefake.NewClientset(routes...),
		ImagesFake:   imagefake.NewClientset(images...),
		BuildsFake:   buildfake.NewClientset(builds...),
		OperatorFake: operatorfake.NewClientset(operator...),
	}
	c.Cluster = registry.Cluster{
		Kube:     c.KubeFake,
		Routes:   c.RoutesFake,
		Images:   c.ImagesFake,
		Builds:   c.BuildsFake,
		Operator: c.OperatorFake,
	}
	return c, nil
}
