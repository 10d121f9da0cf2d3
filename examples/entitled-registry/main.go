// Command entitled-registry gives a namespace access to IBM's entitled
// registry cp.icr.io (IBM Cloud Paks and other licensed software) with
// registry.EntitledRegistry: the secret entitled-cp-icr-io with username cp
// and the entitlement key as password, attached to the default service
// account — the guide's "set up access to entitled software" step.
//
//	go run ./examples/entitled-registry                                  # embedded; demo key
//	IBM_ENTITLEMENT_KEY=... go run ./examples/entitled-registry --namespace cp4i
//	KUBECONFIG=~/.kube/config IBM_ENTITLEMENT_KEY=... go run ./examples/entitled-registry --dry-run
//
// The entitlement key is read from IBM_ENTITLEMENT_KEY, never from a flag;
// in embedded mode a demo key is used when it is not set. It is checked to
// be non-empty, not against the registry. This program makes no IBM Cloud
// IAM call, so only a kubeconfig is needed; without one it runs on an
// in-memory OpenShift cluster and says so on its first line.
package main

import (
	"context"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/examples/internal/exampleenv"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/icr"
	"github.com/registrykit/registrykit/registry"
)

// EnvEntitlementKey holds the entitlement key (from myibm.ibm.com).
const EnvEntitlementKey = "IBM_ENTITLEMENT_KEY"

func main() { exampleenv.Main("entitled-registry", run) }

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, common := exampleenv.NewFlagSet("entitled-registry", stderr)
	common.KubernetesOnly = true
	namespace := fs.String("namespace", registry.DefaultNamespace, "namespace of the secret")
	secretName := fs.String("secret-name", registry.DefaultEntitledSecretName, "name of the secret")
	serviceAccount := fs.String("service-account", registry.DefaultServiceAccount, "service account that gets the secret in its imagePullSecrets")
	if err := exampleenv.Parse(fs, args); err != nil {
		return err
	}

	var seed []runtime.Object
	if *namespace != registry.DefaultNamespace {
		seed = exampleenv.Projects(nil, *namespace)
	}
	env, err := exampleenv.Setup(ctx, common, getenv, stdout, stderr, seed...)
	if err != nil {
		return err
	}
	defer env.Close()
	key := getenv(EnvEntitlementKey)
	if key == "" {
		if !env.Embedded {
			return fmt.Errorf("set %s to your entitlement key (it is never taken from a flag)", EnvEntitlementKey)
		}
		env.Printf("  (embedded: %s not set, using a demo entitlement key)\n", EnvEntitlementKey)
		key = exampleenv.DemoEntitlementKey
	}

	env.Printf("\nPull secret for the entitled registry %s (username %s) in %s\n", icr.EntitledDomain, icr.EntitledUsername, *namespace)
	rep, err := registry.EntitledRegistry(ctx, env.Cluster, iam.NewSecret(key), registry.EntitledOptions{
		Namespace: *namespace, SecretName: *secretName, ServiceAccount: *serviceAccount,
		WriteOptions: registrykit.WriteOptions{DryRun: env.DryRun, Logger: env.Logger},
	})
	env.PrintReport(rep)
	if err != nil {
		return err
	}
	env.PrintCounts(rep)
	if env.DryRun {
		env.Printf("\nDry run: nothing was changed.\n")
	} else {
		env.Printf("\nDone: pods in %s that use the %s service account can pull %s/cp/<image>.\n", *namespace, *serviceAccount, icr.EntitledDomain)
	}
	return nil
}
