// Command rotate-key replaces the API key in every copy of the all-icr-io
// pull secret and then deletes the old key, with registry.RotateAPIKey: find
// the service ID cluster-<cluster-id>, find the copies that hold one of its
// keys, mint a new key, update each copy, verify each copy, and only then
// delete the old key. If any copy fails to update or verify, the old key is
// kept (it still works) and the error names the copies; a rerun converges.
//
//	go run ./examples/rotate-key                            # embedded: apply + copy first, then rotate
//	go run ./examples/rotate-key --projects team-a          # rotate only some copies: the old key is kept for the rest
//	KUBECONFIG=~/.kube/config IBMCLOUD_API_KEY=... IBMCLOUD_ACCOUNT_ID=... \
//	  go run ./examples/rotate-key --cluster-id c123 --dry-run
//
// In embedded mode the cluster first gets what a real one would already
// have — all-icr-io in default via registry.ApplyClusterPullSecret, copied
// to team-a and team-b via registry.CopyICRSecret — and the program says so.
// Copies are found with one cluster-wide List; without --projects,
// --selector or --all every namespace is considered. Key values are never
// printed, only key IDs.
//
// Without a kubeconfig and an API key it runs on an in-memory OpenShift
// cluster and a fake IBM Cloud IAM and says so on its first line.
package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/examples/internal/exampleenv"
	"github.com/registrykit/registrykit/pullsecret"
	"github.com/registrykit/registrykit/registry"
)

func main() { exampleenv.Main("rotate-key", run) }

// demoProjects get a copy of all-icr-io in embedded mode.
var demoProjects = []string{"team-a", "team-b"}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, common := exampleenv.NewFlagSet("rotate-key", stderr)
	clusterID := fs.String("cluster-id", "", "cluster ID: rotates the key of service ID cluster-<id> (required with a real cluster unless --service-id-name)")
	serviceIDName := fs.String("service-id-name", "", "rotate the key of this service ID instead, e.g. <cluster>-<project>-id")
	keyName := fs.String("key-name", "", "name of the new key; empty keeps the old key's name")
	secretName := fs.String("secret-name", registry.DefaultSecretName, "name of the secret and of every copy")
	projects := fs.String("projects", "", "comma-separated namespaces whose copies are updated")
	selector := fs.String("selector", "", "label selector of namespaces whose copies are updated")
	all := fs.Bool("all", false, "update copies in every namespace (also the default when nothing is chosen)")
	if err := exampleenv.Parse(fs, args); err != nil {
		return err
	}
	sel, err := labels.Parse(*selector)
	if err != nil {
		return fmt.Errorf("--selector %q: %w", *selector, err)
	}

	env, err := exampleenv.Setup(ctx, common, getenv, stdout, stderr, exampleenv.Projects(nil, demoProjects...)...)
	if err != nil {
		return err
	}
	defer env.Close()
	opts := registry.RotateOptions{
		ServiceIDName: *serviceIDName, KeyName: *keyName, SecretName: *secretName,
		Targets:      pullsecret.Targets{Namespaces: exampleenv.SplitList(*projects), All: *all},
		WriteOptions: registrykit.WriteOptions{DryRun: env.DryRun, Logger: env.Logger},
	}
	if *selector != "" {
		opts.Selector = sel
	}
	if *serviceIDName == "" {
		if opts.ClusterID, err = env.FlagOrDemo("cluster-id", *clusterID, "c0ffee0example", true); err != nil {
			return err
		}
	}
	if env.Embedded {
		if err := env.SeedICRSecret(ctx, orDemo(opts.ClusterID), demoProjects); err != nil {
			return err
		}
	}

	env.Printf("\nRotate the API key in every copy of %s\n", *secretName)
	rep, err := registry.RotateAPIKey(ctx, env.Cluster, env.IAM, opts)
	env.PrintReport(rep)
	if err != nil {
		return err
	}
	env.PrintCounts(rep)

	var updated, deleted, kept []string
	for _, s := range rep.Steps {
		switch {
		case s.Name == "secret" && s.Action == registrykit.Updated:
			updated = append(updated, s.Object)
		case s.Name == "API key" && s.Action == registrykit.Deleted:
			deleted = append(deleted, s.Object+" ("+s.Reason+")")
		case s.Name == "API key" && s.Action == registrykit.Skipped:
			kept = append(kept, s.Object+" ("+s.Reason+")")
		}
	}
	if env.DryRun {
		env.Printf("\nCopies that would hold the new key: %s\n", listOrNone(updated))
		env.Printf("Old keys that would be deleted: %s\n", listOrNone(deleted))
	} else {
		env.Printf("\nCopies that hold the new key: %s\n", listOrNone(updated))
		env.Printf("Old keys deleted: %s\n", listOrNone(deleted))
	}
	if len(kept) > 0 {
		env.Printf("Old keys kept: %s\n", strings.Join(kept, "; "))
	}
	if env.Embedded {
		var ids []string
		for _, k := range env.IAMServer.APIKeys() {
			if k.Name == registry.ServiceIDName(orDemo(opts.ClusterID)) || k.Name == *keyName {
				ids = append(ids, k.ID)
			}
		}
		env.Printf("Keys the embedded IAM now holds for the service ID: %s\n", listOrNone(ids))
	}
	if env.DryRun {
		env.Printf("\nDry run: no key was minted or deleted and no secret changed.\n")
	}
	return nil
}

// orDemo is the cluster ID used for the embedded setup when --service-id-name
// was given instead of --cluster-id.
func orDemo(id string) string {
	if id == "" {
		return "c0ffee0example"
	}
	return id
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
