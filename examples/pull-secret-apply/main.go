// Command pull-secret-apply does what `ibmcloud oc cluster pull-secret apply`
// does, with registry.ApplyClusterPullSecret: the service ID
// cluster-<cluster-id>, one Reader policy on IBM Cloud Container Registry
// without a region (it covers every region, global included, as the CLI's
// does), an API key, and the all-icr-io pull
// secret in default (username iamapikey, every public and private icr.io
// domain) attached to the default service account. It prints every step.
//
//	go run ./examples/pull-secret-apply                     # embedded cluster and IAM
//	go run ./examples/pull-secret-apply --twice             # apply, then apply again: the rerun reuses the key
//	go run ./examples/pull-secret-apply --remove            # teardown (embedded: after an apply and two copies)
//	KUBECONFIG=~/.kube/config IBMCLOUD_API_KEY=... IBMCLOUD_ACCOUNT_ID=... \
//	  go run ./examples/pull-secret-apply --cluster-id c123 --dry-run
//
// A rerun is safe: when the secret already holds a key that IAM says is
// valid and belongs to the service ID, that key is reused and none is
// minted; everything else is unchanged. --twice shows this in one process
// (each embedded run starts from an empty cluster, so two separate runs
// cannot). Once the secret holds its key, the service ID's other keys that
// registrykit made and no pull secret in the cluster holds are deleted, so
// re-mints do not pile up keys. It does not copy the secret to other
// projects (see examples/copy-pull-secret).
//
// --remove undoes it all with registry.RemoveClusterPullSecret: the
// service account references, the secret and its copies (ours or adopted),
// the keys no pull secret holds, the policies and the service ID, in that
// order, so no secret ever holds a deleted key. It is safe to rerun, and
// --dry-run shows what it would remove.
//
// Without a kubeconfig and an API key it runs on an in-memory OpenShift
// cluster and a fake IBM Cloud IAM and says so on its first line.
package main

import (
	"context"
	"io"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/examples/internal/exampleenv"
	"github.com/registrykit/registrykit/registry"
)

func main() { exampleenv.Main("pull-secret-apply", run) }

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, common := exampleenv.NewFlagSet("pull-secret-apply", stderr)
	clusterID := fs.String("cluster-id", "", "cluster ID: names the service ID and API key cluster-<id> (required with a real cluster)")
	namespace := fs.String("namespace", registry.DefaultNamespace, "namespace of the pull secret")
	secretName := fs.String("secret-name", registry.DefaultSecretName, "name of the pull secret")
	twice := fs.Bool("twice", false, "apply a second time to show that a rerun reuses the key and changes nothing")
	remove := fs.Bool("remove", false, "remove instead: service account references, the secret and its copies, unused keys, the policies and the service ID")
	if err := exampleenv.Parse(fs, args); err != nil {
		return err
	}

	var seed []runtime.Object
	if *remove {
		seed = exampleenv.Projects(nil, demoProjects...)
	}
	env, err := exampleenv.Setup(ctx, common, getenv, stdout, stderr, seed...)
	if err != nil {
		return err
	}
	defer env.Close()
	id, err := env.FlagOrDemo("cluster-id", *clusterID, "c0ffee0example", true)
	if err != nil {
		return err
	}
	if *remove {
		return teardown(ctx, env, registry.RemoveOptions{ClusterID: id, Namespace: *namespace, SecretName: *secretName,
			WriteOptions: registrykit.WriteOptions{DryRun: env.DryRun, Logger: env.Logger}})
	}
	opts := registry.ApplyOptions{ClusterID: id, Namespace: *namespace, SecretName: *secretName, WriteOptions: registrykit.WriteOptions{DryRun: env.DryRun, Logger: env.Logger}}

	env.Printf("\n1. Apply the cluster pull secret (service ID, policies, API key, %s/%s, service account)\n", *namespace, *secretName)
	if err := apply(ctx, env, opts); err != nil {
		return err
	}
	if *twice {
		env.Printf("\n2. Apply again: a rerun reuses the key and writes nothing\n")
		if err := apply(ctx, env, opts); err != nil {
			return err
		}
	}
	if env.DryRun {
		env.Printf("\nDry run: nothing was changed (IAM was only read; Kubernetes writes carried dryRun=All).\n")
	} else {
		env.Printf("\nDone: pods in %s that use the default service account can pull from every icr.io registry.\n", *namespace)
	}
	return nil
}

// apply runs ApplyClusterPullSecret once and prints every step, a summary,
// and whether the API key was minted or reused.
func apply(ctx context.Context, env *exampleenv.Env, opts registry.ApplyOptions) error {
	rep, err := registry.ApplyClusterPullSecret(ctx, env.Cluster, env.IAM, opts)
	env.PrintReport(rep)
	if err != nil {
		return err
	}
	env.PrintCounts(rep)
	for _, s := range rep.Steps {
		if s.Name != "API key" {
			continue
		}
		switch {
		case s.Action == registrykit.Reused:
			env.Printf("  API key %s reused: no new key was minted.\n", s.Object)
		case s.DryRun:
			env.Printf("  API key %s would be minted.\n", s.Object)
		case s.Action == registrykit.Created:
			env.Printf("  API key %s minted; only the secret holds its value.\n", s.Object)
		}
	}
	return nil
}

// demoProjects get a copy of the secret in the embedded --remove demo.
var demoProjects = []string{"team-a", "team-b"}

// teardown runs RemoveClusterPullSecret once and prints every step. On the
// embedded cluster it first applies and copies the secret, so there is
// something to remove.
func teardown(ctx context.Context, env *exampleenv.Env, opts registry.RemoveOptions) error {
	if env.Embedded {
		if err := env.SeedICRSecret(ctx, opts.ClusterID, demoProjects); err != nil {
			return err
		}
	}
	env.Printf("\n1. Remove the cluster pull secret (references, secrets, unused keys, policies, service ID)\n")
	rep, err := registry.RemoveClusterPullSecret(ctx, env.Cluster, env.IAM, opts)
	env.PrintReport(rep)
	if err != nil {
		return err
	}
	env.PrintCounts(rep)
	switch {
	case env.DryRun:
		env.Printf("\nDry run: nothing was removed (IAM was only read; Kubernetes writes carried dryRun=All).\n")
	case len(rep.Warnings()) > 0:
		env.Printf("\nDone, with warnings: what is kept is named above; a rerun after fixing it finishes the teardown.\n")
	default:
		env.Printf("\nDone: nothing of %s is left in IAM or in the cluster.\n", registry.ServiceIDName(opts.ClusterID))
	}
	return nil
}
