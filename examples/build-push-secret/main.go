// Command build-push-secret lets an OpenShift BuildConfig push its image to
// IBM Cloud Container Registry, with registry.BuildPushSecret: a service ID
// <cluster>-<project>-push-id with a Writer policy (every region unless --regions), an API key, a
// pull secret in the project (username iamapikey), `oc secrets link builder
// <secret>` and `oc set build-secret --push bc/<name> <secret>`.
//
//	go run ./examples/build-push-secret                              # embedded; demo project team-a, bc/app
//	go run ./examples/build-push-secret --regions us-south --registry-namespace team-ns --pull
//	KUBECONFIG=~/.kube/config IBMCLOUD_API_KEY=... IBMCLOUD_ACCOUNT_ID=... \
//	  go run ./examples/build-push-secret --cluster-name c123 --project team-a --buildconfig app --dry-run
//
// A rerun reuses the secret's key when IAM says it is still valid. A key
// minted by a run that fails before the secret holds it is deleted before
// the program exits; once the secret holds it, it is kept for the rerun.
// Note that the BuildConfig is looked at last: a wrong --buildconfig is
// reported after the service ID, policies, key and secret exist (fix it and
// rerun; the key is reused). In embedded mode the project and a
// Docker-strategy BuildConfig pushing to us.icr.io exist.
//
// Known gap: --dry-run on a project that does not have the secret yet fails
// at the builder link, because build.LinkBuilder refuses a secret that does
// not exist and a dry-run secret is not stored.
//
// Without a kubeconfig and an API key it runs on an in-memory OpenShift
// cluster and a fake IBM Cloud IAM and says so on its first line.
package main

import (
	"context"
	"fmt"
	"io"

	buildv1 "github.com/openshift/api/build/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/examples/internal/exampleenv"
	"github.com/registrykit/registrykit/registry"
)

func main() { exampleenv.Main("build-push-secret", run) }

const (
	demoProject     = "team-a"
	demoBuildConfig = "app"
)

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, common := exampleenv.NewFlagSet("build-push-secret", stderr)
	clusterName := fs.String("cluster-name", "", "cluster name: part of the service ID <cluster>-<project>-push-id")
	project := fs.String("project", "", "project of the BuildConfig")
	bc := fs.String("buildconfig", "", "BuildConfig whose output push secret is set")
	regions := fs.String("regions", "", "comma-separated registry regions for the Writer policies; empty means one policy for every region")
	registryNS := fs.String("registry-namespace", "", "limit the policies to one registry namespace")
	secretName := fs.String("secret-name", "", "name of the secret; empty means <project>-icr-push")
	pull := fs.Bool("pull", false, "also make the secret the build's pull secret")
	if err := exampleenv.Parse(fs, args); err != nil {
		return err
	}

	env, err := exampleenv.Setup(ctx, common, getenv, stdout, stderr, seed()...)
	if err != nil {
		return err
	}
	defer env.Close()
	opts := registry.BuildPushOptions{
		Regions: exampleenv.SplitList(*regions), RegistryNamespace: *registryNS, SecretName: *secretName, Pull: *pull,
		WriteOptions: registrykit.WriteOptions{DryRun: env.DryRun, Logger: env.Logger},
	}
	for _, f := range []struct {
		name, value, demo string
		dst               *string
	}{
		{"cluster-name", *clusterName, "c0ffee0example", &opts.ClusterName},
		{"project", *project, demoProject, &opts.Project},
		{"buildconfig", *bc, demoBuildConfig, &opts.BuildConfig},
	} {
		if *f.dst, err = env.FlagOrDemo(f.name, f.value, f.demo, true); err != nil {
			return err
		}
	}
	if env.Embedded && opts.Project == demoProject {
		env.Printf("  (embedded: bc/%s in %s builds with the Docker strategy and pushes to us.icr.io/team-ns/app:latest)\n", demoBuildConfig, demoProject)
	}

	env.Printf("\nPush access to IBM Cloud Container Registry for bc/%s in %s\n", opts.BuildConfig, opts.Project)
	rep, err := registry.BuildPushSecret(ctx, env.Cluster, env.IAM, opts)
	env.PrintReport(rep)
	if err != nil {
		return err
	}
	env.PrintCounts(rep)
	if env.DryRun {
		env.Printf("\nDry run: nothing was changed.\n")
		return nil
	}
	got, err := env.Cluster.Builds.BuildV1().BuildConfigs(opts.Project).Get(ctx, opts.BuildConfig, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("read back bc/%s: %w", opts.BuildConfig, err)
	}
	if ps := got.Spec.Output.PushSecret; ps != nil {
		env.Printf("\nDone: bc/%s pushes with secret %s", opts.BuildConfig, ps.Name)
		if got.Spec.Output.To != nil {
			env.Printf(" to %s", got.Spec.Output.To.Name)
		}
		env.Printf(".\n")
	}
	return nil
}

// seed is the embedded project with a BuildConfig that pushes to icr.io.
func seed() []runtime.Object {
	objs := exampleenv.Projects(nil, demoProject)
	return append(objs, &buildv1.BuildConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: demoProject, Name: demoBuildConfig},
		Spec: buildv1.BuildConfigSpec{CommonSpec: buildv1.CommonSpec{
			Source:   buildv1.BuildSource{Git: &buildv1.GitBuildSource{URI: "https://github.com/example/app"}},
			Strategy: buildv1.BuildStrategy{Type: buildv1.DockerBuildStrategyType, DockerStrategy: &buildv1.DockerBuildStrategy{}},
			Output:   buildv1.BuildOutput{To: &corev1.ObjectReference{Kind: "DockerImage", Name: "us.icr.io/team-ns/app:latest"}},
		}},
	})
}
