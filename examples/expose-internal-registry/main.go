// Command expose-internal-registry exposes OpenShift's integrated registry
// outside the cluster and gives projects a pull secret for it, with
// registry.ExposeInternalRegistry: a reencrypt route for
// openshift-image-registry/image-registry (source balancing, as the guide
// sets), a wait until a router admits it, and in each project a secret for the
// route host made from the project's default service account's own registry
// credential, attached to that service account.
//
//	go run ./examples/expose-internal-registry                               # embedded; demo project team-a
//	go run ./examples/expose-internal-registry --hostname registry.apps.example.com --projects team-a,team-b
//	KUBECONFIG=~/.kube/config go run ./examples/expose-internal-registry --projects team-a --dry-run
//
// In embedded mode nothing plays OpenShift's router, so the program installs
// a stand-in, and says so: it admits every route as it is written (host
// --hostname, else <name>-<namespace>.apps.embedded.example). On a real
// cluster the real router admits the route, or the wait ends after --timeout
// with an error. In a dry run the route is not stored, so nothing is waited
// for and, without --hostname, the project secrets are skipped.
//
// Limits: the credential is the service account's token, which OpenShift
// rotates; rerun to refresh the secrets. This program makes no IBM Cloud
// call, so only a kubeconfig is needed. Without one it runs on an in-memory
// OpenShift cluster and says so on its first line.
package main

import (
	"context"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/examples/internal/exampleenv"
	"github.com/registrykit/registrykit/registry"
)

func main() { exampleenv.Main("expose-internal-registry", run) }

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, common := exampleenv.NewFlagSet("expose-internal-registry", stderr)
	common.KubernetesOnly = true
	hostname := fs.String("hostname", "", "host name of the route; empty lets the router generate one")
	projects := fs.String("projects", "", "comma-separated projects that get a pull secret for the route host")
	serviceAccount := fs.String("service-account", registry.DefaultServiceAccount, "service account whose registry credential each project's secret holds, and which gets it attached")
	timeout := fs.Duration("timeout", registry.DefaultWaitTimeout, "how long to wait for a router to admit the route")
	if err := exampleenv.Parse(fs, args); err != nil {
		return err
	}
	names := exampleenv.SplitList(*projects)
	if len(names) == 0 {
		names = []string{demoProject}
	}

	env, err := exampleenv.Setup(ctx, common, getenv, stdout, stderr, seed(names)...)
	if err != nil {
		return err
	}
	defer env.Close()
	if *projects == "" {
		if _, err := env.FlagOrDemo("projects", "", demoProject, false); err != nil {
			return err
		}
		if !env.Embedded {
			names = nil
		}
	}
	if env.Embedded {
		env.StandInRouter()
		env.Printf("  (embedded: no OpenShift router runs here; a stand-in admits every route as it is written)\n")
	}

	env.Printf("\nExpose the internal registry")
	if len(names) > 0 {
		env.Printf(" and give %s a pull secret for it", strings.Join(names, ", "))
	}
	env.Printf("\n")
	host, rep, err := registry.ExposeInternalRegistry(ctx, env.Cluster, registry.ExposeInternalOptions{
		Hostname: *hostname, Projects: names, ServiceAccount: *serviceAccount, Timeout: *timeout,
		WriteOptions: registrykit.WriteOptions{DryRun: env.DryRun, Logger: env.Logger},
	})
	env.PrintReport(rep)
	if err != nil {
		return err
	}
	env.PrintCounts(rep)
	switch {
	case env.DryRun:
		env.Printf("\nDry run: nothing was changed.\n")
	default:
		env.Printf("\nThe internal registry is reachable at %s.\n", host)
		for _, p := range names {
			env.Printf("  Through the route, %s/%s-registry-route pulls %s/%s/<image stream>:<tag>.\n", p, *serviceAccount, host, p)
		}
	}
	return nil
}

const demoProject = "team-a"

// seed returns the embedded cluster's projects, except the ones that
// registrytest's OpenShift objects already have.
func seed(names []string) []runtime.Object {
	var fresh []string
	for _, n := range names {
		if n != registry.DefaultNamespace && !strings.HasPrefix(n, "openshift-") {
			fresh = append(fresh, n)
		}
	}
	return exampleenv.Projects(nil, fresh...)
}
