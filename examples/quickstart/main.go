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
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/registrykit/registrykit/examples/internal/exampleenv"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/pullsecret"
	"github.com/registrykit/registrykit/registry"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	common := exampleenv.Register(fs)
	clusterID := fs.String("cluster-id", "c0ffee0example", "cluster ID: names the service ID and API key cluster-<id>")
	projects := fs.String("projects", "team-a,team-b", "comma-separated projects to copy all-icr-io into")
	if err := fs.Parse(args); err != nil {
		return err
	}
	targets := splitList(*projects)

	env, err := exampleenv.Setup(ctx, common, getenv, stdout, stderr, projectObjects(targets)...)
	if err != nil {
		return err
	}
	defer env.Close()
	opts := pullsecret.Options{DryRun: env.DryRun, Logger: env.Logger}

	// 1. IBM Cloud IAM: what `ibmcloud oc cluster pull-secret apply` creates.
	env.Printf("\n1. IBM Cloud IAM access to the registry\n")
	name := "cluster-" + *clusterID
	if env.DryRun {
		env.Printf("  (dry run: IAM is not changed; the key below is a placeholder)\n")
	}
	apiKey, err := ensureIAM(ctx, env, name)
	if err != nil {
		return err
	}

	// 2. The all-icr-io pull secret in default, attached to default/default.
	env.Printf("\n2. Pull secret all-icr-io in default\n")
	cfg, err := registry.ICRConfig(apiKey.Reveal(), nil)
	if err != nil {
		return err
	}
	res, err := pullsecret.Apply(ctx, env.Cluster.Kube, "default", "all-icr-io", cfg, opts)
	if err != nil {
		return err
	}
	env.Step("apply secret", "default/all-icr-io", string(res.Action), res.Reason)
	env.Printf("  %d registries: %s\n", len(cfg.Servers()), strings.Join(cfg.Servers(), " "))
	res, err = pullsecret.AttachToServiceAccount(ctx, env.Cluster.Kube, "default", "default", "all-icr-io", pullsecret.AttachOptions{Options: opts})
	if err != nil {
		return err
	}
	env.Step("attach to service account", "default/default", string(res.Action), res.Reason)

	// 3. Copy into the projects and attach there.
	env.Printf("\n3. Copy all-icr-io into %s\n", strings.Join(targets, ", "))
	report, err := pullsecret.Copy(ctx, env.Cluster.Kube, types.NamespacedName{Namespace: "default", Name: "all-icr-io"},
		pullsecret.Targets{Namespaces: targets}, pullsecret.CopyOptions{Options: opts})
	printReport(env, "copy secret", "all-icr-io", report)
	if err != nil {
		return err
	}
	report, err = pullsecret.AttachToServiceAccounts(ctx, env.Cluster.Kube, "default", "all-icr-io",
		pullsecret.Targets{Namespaces: targets}, pullsecret.ManyOptions{AttachOptions: pullsecret.AttachOptions{Options: opts}})
	printReport(env, "attach to service account", "default", report)
	if err != nil {
		return err
	}

	// 4. Audit: does every service account reference usable pull secrets?
	env.Printf("\n4. Audit\n")
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

// ensureIAM creates (or finds) the service ID, gives it Reader on every
// registry region and mints an API key for it.
func ensureIAM(ctx context.Context, env *exampleenv.Env, name string) (iam.Secret, error) {
	if env.DryRun {
		env.Step("service ID", name, "would ensure", "")
		env.Step("policies", "Reader on every region", "would ensure", "")
		env.Step("API key", name, "would create", "")
		return iam.NewSecret("dry-run-placeholder-key"), nil
	}
	sid, r, err := env.IAM.EnsureServiceID(ctx, name, "Service ID for cluster access to IBM Cloud Container Registry")
	if err != nil {
		return iam.Secret{}, err
	}
	env.Step("service ID", name, r.String(), sid.ID)
	created := 0
	for _, region := range registry.Regions() {
		_, r, err := env.IAM.EnsureRegistryPolicy(ctx, sid.IAMID, iam.Access{Role: iam.Reader, Region: region.Name})
		if err != nil {
			return iam.Secret{}, err
		}
		if r == iam.Created {
			created++
		}
	}
	env.Step("policies", "Reader on every region", fmt.Sprintf("%d created", created), fmt.Sprintf("%d regions", len(registry.Regions())))
	key, err := env.IAM.CreateAPIKey(ctx, sid.IAMID, name, "API key for cluster access to IBM Cloud Container Registry")
	if err != nil {
		return iam.Secret{}, err
	}
	env.Step("API key", name, "created", key.ID)
	return key.Value, nil
}

func printReport(env *exampleenv.Env, step, object string, r pullsecret.Report) {
	for _, o := range r.Outcomes {
		if o.Err != nil {
			env.Step(step, o.Namespace+"/"+object, "failed", o.Err.Error())
			continue
		}
		env.Step(step, o.Namespace+"/"+object, string(o.Result.Action), o.Result.Reason)
	}
}

// projectObjects are the embedded cluster's projects: a namespace and its
// default service account each, as OpenShift creates them.
func projectObjects(names []string) []runtime.Object {
	var objs []runtime.Object
	for _, n := range names {
		objs = append(objs,
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{"kubernetes.io/metadata.name": n}}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: n, Name: "default"}},
		)
	}
	return objs
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
