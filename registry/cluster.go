package registry

import (
	"errors"
	"fmt"

	buildclient "github.com/openshift/client-go/build/clientset/versioned"
	imageclient "github.com/openshift/client-go/image/clientset/versioned"
	operatorclient "github.com/openshift/client-go/imageregistry/clientset/versioned"
	routeclient "github.com/openshift/client-go/route/clientset/versioned"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Cluster bundles the typed clients the workflows use. Build one with
// NewCluster for a real cluster, or registrytest.NewCluster for fakes.
// Workflows that need only Kubernetes objects use only Kube; the OpenShift
// clients may be nil on a plain Kubernetes cluster, and a workflow that needs
// a nil client reports it as invalid input (field "cluster.routes", ...,
// matching registrykit.ErrInvalid) before any call, instead of panicking.
type Cluster struct {
	Kube     kubernetes.Interface
	Routes   routeclient.Interface
	Images   imageclient.Interface
	Builds   buildclient.Interface
	Operator operatorclient.Interface
}

// Client-side rate limits that NewCluster sets when the caller left them at
// zero. client-go's own defaults (5 requests per second, bursts of 10) would
// make copying a secret to 500 projects take about 100 seconds; the API
// server's priority and fairness, not the client, should be the limit.
const (
	DefaultQPS   = 100
	DefaultBurst = 200
)

// NewCluster builds every client from one rest.Config. The config is copied;
// when its QPS or Burst is zero, DefaultQPS and DefaultBurst are used
// instead of client-go's 5 and 10. Set them yourself (or negative QPS to
// disable client-side limiting) to choose otherwise.
func NewCluster(cfg *rest.Config) (*Cluster, error) {
	if cfg == nil {
		return nil, errors.New("new cluster: nil rest.Config")
	}
	c := rest.CopyConfig(cfg)
	if c.QPS == 0 {
		c.QPS = DefaultQPS
	}
	if c.Burst == 0 {
		c.Burst = DefaultBurst
	}
	kube, err := kubernetes.NewForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("new cluster: kubernetes client: %w", err)
	}
	routes, err := routeclient.NewForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("new cluster: route client: %w", err)
	}
	images, err := imageclient.NewForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("new cluster: image client: %w", err)
	}
	builds, err := buildclient.NewForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("new cluster: build client: %w", err)
	}
	operator, err := operatorclient.NewForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("new cluster: image registry operator client: %w", err)
	}
	return &Cluster{Kube: kube, Routes: routes, Images: images, Builds: builds, Operator: operator}, nil
}
