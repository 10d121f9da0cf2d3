// Command quickstart is the guide's main story in one run: give a cluster
// access to IBM Cloud Container Registry (service ID, Reader policy on every
// region, API key, the all-icr-io pull secret in default attached to the
// default service account), copy that secret into two projects and attach it
// there, then audit every project's service accounts.
//
//	go run ./examples/quickstart                 # embedded cluster and IAM
//	go run ./examples/quickstart --projects a,b  # other project names
//	KUBECONFIG=~/.kube/config IBMCLOUD_API_KEY=... IBMCLOUD_ACCOUNT_ID=... \
//	  go run ./examples/quickstart --cluster-id c123 --dry-run
//
// Without a kubeconfig and an API key it runs on an in-memory OpenShift
// cluster and a fake IBM Cloud IAM and says so on its first line.
package main

import (
	"context"
	"io"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/examples/internal/exampleenv"
	"github.com/registrykit/registrykit/pullsecret"
	"github.com/registrykit/registrykit/registry"
)

func main() { exampleenv.Main("quickstart", run) }

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, common := exampleenv.NewFlagSet("quickstart", stderr)
	clusterID := fs.String("cluster-id", "c0ffee0example", "cluster ID: names the service ID and API key cluster-<id>")
	projects := fs.String("projects", "team-a,team-b", "comma-separated projects to copy all-icr-io into")
	if err := exampleenv.Parse(fs, args); err != nil {
		return err
	}
	targets := exampleenv.SplitList(*projects)

	env, err := exampleenv.Setup(ctx, common, getenv, stdout, stderr, exampleenv.Projects(nil, targets...)...)
	if err != nil {
		return err
	}
	defer env.Close()
	return story(ctx, env, *clusterID, targets)
}

// story is the quickstart on an environment; running it again on the same
// environment changes nothing (the key is reused, every copy is current).
func story(ctx context.Context, env *exampleenv.Env, clusterID string, targets []string) error {
	// 1+2. What `ibmcloud oc cluster pull-secret apply` does: service ID,
	// one Reader policy for every region, API key, all-icr-io in default, attached to
	// default/default.
	env.Printf("\n1. Cluster access to IBM Cloud Container Registry (pull-secret apply)\n")
	report, err := registry.ApplyClusterPullSecret(ctx, env.Cluster, env.IAM, registry.ApplyOptions{
		ClusterID:    clusterID,
		WriteOptions: registrykit.WriteOptions{DryRun: env.DryRun, Logger: env.Logger},
	})
	env.PrintReport(report)
	if err != nil {
		return err
	}

	// 3. Copy into the projects and attach there.
	env.Printf("\n2. Copy all-icr-io into %s and attach it\n", strings.Join(targets, ", "))
	_, err = env.Cluster.Kube.CoreV1().Secrets(registry.DefaultNamespace).Get(ctx, registry.DefaultSecretName, metav1.GetOptions{})
	switch {
	case env.DryRun && apierrors.IsNotFound(err):
		// The dry-run apply above stored nothing, so there is no source.
		env.Printf("  (dry run: default/all-icr-io was not stored, so there is nothing to copy yet; a real run copies it to %s)\n", strings.Join(targets, ", "))
	default:
		report, err = registry.CopyICRSecret(ctx, env.Cluster, registry.CopyICROptions{
			Targets:      pullsecret.Targets{Namespaces: targets},
			WriteOptions: registrykit.WriteOptions{DryRun: env.DryRun, Logger: env.Logger},
		})
		env.PrintReport(report)
		if err != nil {
			return err
		}
	}

	// 4. Audit: does every service account reference usable pull secrets?
	env.Printf("\n3. Audit\n")
	for _, ns := range append([]string{"default"}, targets...) {
		findings, err := pullsecret.Audit(ctx, env.Cluster.Kube, ns)
		if err != nil {
			return err
		}
		if len(findings) == 0 {
			env.Step("audit", ns, "ok", "every referenced pull secret exists and parses")
		}
		for _, f := range findings {
			env.Step("audit", ns, string(f.Kind), f.String())
		}
	}
	if env.DryRun {
		env.Printf("\nDry run: nothing was changed.\n")
	} else {
		env.Printf("\nDone: pods in default, %s can pull from every icr.io registry.\n", strings.Join(targets, ", "))
	}
	return nil
}
