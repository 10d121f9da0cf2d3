package registry_test

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
	"github.com/registrykit/registrykit/pullsecret"
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
	// map[created:4 updated:1]
	// service ID cluster-c0ffee created
	// API key cluster-c0ffee created
	// secret default/all-icr-io created
	// service account default/default updated
	// rerun: map[reused:1 unchanged:4] <nil>
}

// Copy the cluster's all-icr-io secret to two projects and attach it to
// their default service accounts, then rotate the key everywhere.
func ExampleRotateAPIKey() {
	srv := iamtest.NewServer()
	defer srv.Close()
	client, _ := iam.New(iam.Options{
		APIKey: iam.NewSecret(srv.AddAPIKey("IBMid-100000ABCD")), AccountID: srv.AccountID(), URL: srv.URL(),
	})
	var objs []runtime.Object
	for _, ns := range []string{"team-a", "team-b"} {
		objs = append(objs,
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default"}})
	}
	cluster, _ := registrytest.NewOpenShiftCluster(objs...)
	ctx := context.Background()

	if _, err := registry.ApplyClusterPullSecret(ctx, &cluster.Cluster, client, registry.ApplyOptions{ClusterID: "c0ffee"}); err != nil {
		fmt.Println(err)
		return
	}
	rep, err := registry.CopyICRSecret(ctx, &cluster.Cluster, registry.CopyICROptions{Targets: pullsecret.Targets{Namespaces: []string{"team-a", "team-b"}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range rep.Steps {
		fmt.Println(s.Name, s.Object, s.Action)
	}

	rep, err = registry.RotateAPIKey(ctx, &cluster.Cluster, client, registry.RotateOptions{ClusterID: "c0ffee"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range rep.Steps {
		fmt.Println(s.Name, s.Object, s.Action)
	}
	// Output:
	// secret team-a/all-icr-io created
	// secret team-b/all-icr-io created
	// service account team-a/default updated
	// service account team-b/default updated
	// service ID cluster-c0ffee unchanged
	// API key cluster-c0ffee created
	// secret default/all-icr-io updated
	// secret team-a/all-icr-io updated
	// secret team-b/all-icr-io updated
	// verify default/all-icr-io unchanged
	// verify team-a/all-icr-io unchanged
	// verify team-b/all-icr-io unchanged
	// API key cluster-c0ffee deleted
}

// Report.String prints one line per step, never a credential.
func ExampleEntitledRegistry() {
	cluster, _ := registrytest.NewOpenShiftCluster()
	rep, err := registry.EntitledRegistry(context.Background(), &cluster.Cluster, iam.NewSecret("my-entitlement-key"), registry.EntitledOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(rep)
	// Output:
	// secret default/entitled-cp-icr-io: created (created for cp.icr.io)
	// service account default/default: updated (added to imagePullSecrets)
}

// ProjectCredentials gives one project its own service ID, a Reader policy
// scoped to one registry namespace in one region, an API key and a pull
// secret for that region's domains, attached to the project's default
// service account.
func ExampleProjectCredentials() {
	srv := iamtest.NewServer()
	defer srv.Close()
	client, err := iam.New(iam.Options{
		APIKey: iam.NewSecret(srv.AddAPIKey("IBMid-100000ABCD")), AccountID: srv.AccountID(), URL: srv.URL(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	cluster, err := registrytest.NewOpenShiftCluster(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "default"}},
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := registry.ProjectCredentials(context.Background(), &cluster.Cluster, client, registry.ProjectOptions{
		ClusterName: "prod", Project: "team-a", Regions: []string{"us-south"}, RegistryNamespace: "team-a-images",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range rep.Steps {
		fmt.Println(s.Name, s.Object, s.Action)
	}
	p := srv.Policies()[0]
	fmt.Println(p.RoleIDs)
	fmt.Println(p.Attributes["serviceName"], p.Attributes["region"], p.Attributes["resourceType"], p.Attributes["resource"])
	// Output:
	// service ID prod-team-a-id created
	// policy Reader us-south namespace team-a-images created
	// API key prod-team-a-key created
	// secret team-a/team-a-icr-io created
	// service account team-a/default updated
	// [crn:v1:bluemix:public:iam::::serviceRole:Reader]
	// container-registry us-south namespace team-a-images
}
