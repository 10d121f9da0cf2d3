package registry_test

import (
	"context"
	"fmt"

	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
	"github.com/registrykit/registrykit/registry"
	"github.com/registrykit/registrykit/registry/registrytest"
)

// ApplyClusterPullSecret on an in-memory OpenShift cluster and a fake IAM:
// the first run creates everything, the rerun reuses the key.
func ExampleApplyClusterPullSecret() {
	srv := iamtest.NewServer()
	defer srv.Close()
	client, err := iam.New(iam.Options{
		APIKey: iam.NewSecret(srv.AddAPIKey("IBMid-100000ABCD")), AccountID: srv.AccountID(), URL: srv.URL(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	cluster, err := registrytest.NewOpenShiftCluster()
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	opts := registry.ApplyOptions{ClusterID: "c0ffee", Domains: []string{"icr.io", "us.icr.io"}}

	rep, err := registry.ApplyClusterPullSecret(ctx, &cluster.Cluster, client, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rep.Counts())
	for _, s := range rep.Steps {
		if s.Name != "policy" {
			fmt.Println(s.Name, s.Object, s.Action)
		}
	}

	rep, err = registry.ApplyClusterPullSecret(ctx, &cluster.Cluster, client, opts)
	fmt.Println("rerun:", rep.Counts(), err)
	// Output:
	// map[created:17 updated:1]
	// service ID cluster-c0ffee created
	// API key cluster-c0ffee created
	// secret default/all-icr-io created
	// service account default/default updated
	// rerun: map[reused:1 unchanged:17] <nil>
}
