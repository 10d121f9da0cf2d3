// Command global-pull-secret adds a registry credential to OpenShift's global
// pull secret, openshift-config/pull-secret, with pullsecret.MergeGlobal —
// the guide's `oc get secret/pull-secret -n openshift-config ... | jq ... |
// oc set data` steps. Every registry already there (Red Hat's included) is
// kept; the entry for --server is replaced whole. With --remove it takes the
// entry for --server out instead (pullsecret.RemoveFromGlobal). Either
// refuses a result without Red Hat's registries (cloud.openshift.com,
// quay.io, registry.redhat.io, registry.connect.redhat.com).
//
//	go run ./examples/global-pull-secret                                # embedded; demo us.icr.io credential
//	REGISTRY_PASSWORD=... go run ./examples/global-pull-secret --server us.icr.io --username iamapikey
//	go run ./examples/global-pull-secret --remove --server us.icr.io
//	KUBECONFIG=~/.kube/config REGISTRY_PASSWORD=... \
//	  go run ./examples/global-pull-secret --server registry.example.com --username robot --dry-run
//
// The password is read from REGISTRY_PASSWORD, never from a flag (flags end
// up in shell history and process lists); in embedded mode a demo password
// is used when it is not set. The output names registries only.
//
// What it cannot do: nodes keep using the old global pull secret until it
// is rolled out to them. On OpenShift 4 the Machine Config Operator does that
// (and may drain nodes); on IBM Cloud classic workers the workers must be
// reloaded or replaced (`ibmcloud oc worker reload` / `worker replace`).
// Neither is done here; the program says so when it changed the secret.
//
// This program makes no IBM Cloud call, so only a kubeconfig is needed.
// Without one it runs on an in-memory OpenShift cluster and says so on its
// first line.
package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/examples/internal/exampleenv"
	"github.com/registrykit/registrykit/icr"
	"github.com/registrykit/registrykit/pullsecret"
)

// EnvPassword holds the registry password.
const EnvPassword = "REGISTRY_PASSWORD"

const globalRef = pullsecret.GlobalNamespace + "/" + pullsecret.GlobalName

func main() { exampleenv.Main("global-pull-secret", run) }

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, common := exampleenv.NewFlagSet("global-pull-secret", stderr)
	common.KubernetesOnly = true
	server := fs.String("server", "", "registry to add (or remove), e.g. us.icr.io")
	username := fs.String("username", icr.APIKeyUsername, "registry username (the password is read from $"+EnvPassword+")")
	email := fs.String("email", "", "optional email of the entry")
	remove := fs.Bool("remove", false, "remove the entry for --server instead of merging one")
	if err := exampleenv.Parse(fs, args); err != nil {
		return err
	}

	env, err := exampleenv.Setup(ctx, common, getenv, stdout, stderr)
	if err != nil {
		return err
	}
	defer env.Close()
	srv, err := env.FlagOrDemo("server", *server, "us.icr.io", true)
	if err != nil {
		return err
	}
	opts := pullsecret.GlobalOptions{WriteOptions: registrykit.WriteOptions{DryRun: env.DryRun, Logger: env.Logger}}

	var cfg *dockerconfig.Config
	if !*remove {
		if cfg, err = credential(env, getenv, srv, *username, *email); err != nil {
			return err
		}
	}
	before, err := readGlobal(ctx, env)
	if err != nil {
		return err
	}
	env.Printf("\nGlobal pull secret %s\n", globalRef)
	printServers(env, "before", before)

	var res registrykit.Result
	var after *dockerconfig.Config
	if *remove {
		after = before.Clone()
		after.Remove(srv)
		res, err = pullsecret.RemoveFromGlobal(ctx, env.Cluster.Kube, []string{srv}, opts)
		if err != nil {
			return err
		}
		env.Step("remove from global pull secret", srv, string(res.Action), res.Reason)
	} else {
		after = dockerconfig.Merge(before, cfg)
		res, err = pullsecret.MergeGlobal(ctx, env.Cluster.Kube, cfg, opts)
		if err != nil {
			return err
		}
		env.Step("merge into global pull secret", srv, string(res.Action), res.Reason)
	}
	for _, w := range res.Warnings {
		env.Printf("  warning: %s\n", w)
	}
	if env.DryRun {
		printServers(env, "after (would be)", after)
	} else {
		if after, err = readGlobal(ctx, env); err != nil {
			return err
		}
		printServers(env, "after", after)
	}
	var kept []string
	for _, r := range pullsecret.DefaultRequired {
		if _, ok := after.Get(r); ok {
			kept = append(kept, r)
		}
	}
	env.Printf("  Red Hat's registries kept: %s\n", strings.Join(kept, ", "))

	switch {
	case env.DryRun:
		env.Printf("\nDry run: nothing was changed.\n")
	case res.Action == registrykit.Unchanged:
		env.Printf("\nNothing to do: the global pull secret already says this; nodes need nothing.\n")
	default:
		env.Printf("\nThe secret is changed, but nodes do not use it yet. On OpenShift 4 the Machine Config Operator\n" +
			"rolls it out to every node (and may drain them); on IBM Cloud classic workers reload or replace\n" +
			"each worker (ibmcloud oc worker reload / worker replace). This program does neither.\n")
	}
	return nil
}

// credential builds the entry for srv with the password from
// EnvPassword (embedded: a demo password when it is not set).
func credential(env *exampleenv.Env, getenv func(string) string, srv, username, email string) (*dockerconfig.Config, error) {
	password := getenv(EnvPassword)
	if password == "" {
		if !env.Embedded {
			return nil, fmt.Errorf("set %s to the registry password (it is never taken from a flag)", EnvPassword)
		}
		env.Printf("  (embedded: %s not set, using a demo password)\n", EnvPassword)
		password = exampleenv.DemoRegistryPassword
	}
	if username == "" {
		return nil, fmt.Errorf("--username must not be empty")
	}
	cfg := &dockerconfig.Config{}
	cfg.Set(srv, dockerconfig.Entry{Username: username, Password: password, Email: email})
	return cfg, nil
}

func readGlobal(ctx context.Context, env *exampleenv.Env) (*dockerconfig.Config, error) {
	sec, err := env.Cluster.Kube.CoreV1().Secrets(pullsecret.GlobalNamespace).Get(ctx, pullsecret.GlobalName, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("read global pull secret %s: %w", globalRef, err)
	}
	cfg, err := dockerconfig.ParseSecret(string(sec.Type), sec.Data)
	if err != nil {
		return nil, fmt.Errorf("read global pull secret %s: %w", globalRef, err)
	}
	return cfg, nil
}

// printServers prints the registry names of cfg, never their credentials.
func printServers(env *exampleenv.Env, label string, cfg *dockerconfig.Config) {
	servers := cfg.Servers()
	slices.Sort(servers)
	env.Printf("  %-17s %d registries: %s\n", label+":", len(servers), strings.Join(servers, ", "))
}
