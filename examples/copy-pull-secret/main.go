// Command copy-pull-secret copies the all-icr-io pull secret from default
// into other projects and attaches each copy to the project's default
// service account, with registry.CopyICRSecret: the guide's "copy the
// all-icr-io secret to other projects" steps, without `oc get secret -o yaml
// | sed | oc create -f -`. Choose the projects by name, by label selector, or
// all of them (their union when combined).
//
//	go run ./examples/copy-pull-secret                          # embedded; demo selector team=payments
//	go run ./examples/copy-pull-secret --projects team-a,team-c
//	go run ./examples/copy-pull-secret --selector team=search
//	go run ./examples/copy-pull-secret --all                    # not kube-*, openshift-*
//	go run ./examples/copy-pull-secret --all --include-system
//	go run ./examples/copy-pull-secret --selector team=legacy --adopt
//	KUBECONFIG=~/.kube/config go run ./examples/copy-pull-secret --projects a,b --dry-run
//
// The source secret must exist (examples/pull-secret-apply creates it). In
// embedded mode it is created first with registry.ApplyClusterPullSecret,
// and the projects team-a and team-b (label team=payments), team-c
// (team=search) and team-legacy (team=legacy) exist, plus any named in
// --projects. team-legacy already holds an all-icr-io made by hand the way
// the guide does it (same registries, an older key, no registrykit
// annotation).
//
// A same-named secret that registrykit did not copy is left alone: that
// project is reported as a warning and its service account is not given
// the secret. --adopt takes over such a secret when it is a pull secret for
// the same registries (what the guide's manual copy made); --overwrite takes
// over any. This
// program makes no IBM Cloud call on a real cluster, so only a kubeconfig is
// needed there. Without one it runs on an in-memory OpenShift cluster and
// says so on its first line.
package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/examples/internal/exampleenv"
	"github.com/registrykit/registrykit/icr"
	"github.com/registrykit/registrykit/pullsecret"
	"github.com/registrykit/registrykit/registry"
)

func main() { exampleenv.Main("copy-pull-secret", run) }

// demoProjects are the embedded cluster's projects, by label.
var demoProjects = []struct {
	team  string
	names []string
}{{"payments", []string{"team-a", "team-b"}}, {"search", []string{"team-c"}}}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, common := exampleenv.NewFlagSet("copy-pull-secret", stderr)
	common.KubernetesOnly = true
	fromNS := fs.String("from-namespace", registry.DefaultNamespace, "namespace of the source secret")
	secretName := fs.String("secret-name", registry.DefaultSecretName, "name of the source secret and of its copies")
	projects := fs.String("projects", "", "comma-separated projects to copy into")
	selector := fs.String("selector", "", "label selector of projects to copy into, e.g. team=payments")
	all := fs.Bool("all", false, "copy into every project except the system ones (kube-*, openshift-*)")
	includeSystem := fs.Bool("include-system", false, "with --all or --selector, include the kube-* and openshift-* projects too")
	serviceAccount := fs.String("service-account", registry.DefaultServiceAccount, "service account in each project that gets the copy in its imagePullSecrets")
	adopt := fs.Bool("adopt", false, "take over same-named secrets that registrykit did not copy when they are pull secrets for the same registries (the guide's manual copies)")
	overwrite := fs.Bool("overwrite", false, "replace any same-named secret that registrykit did not copy")
	if err := exampleenv.Parse(fs, args); err != nil {
		return err
	}
	adoption := pullsecret.LeaveForeign
	switch {
	case *adopt && *overwrite:
		return fmt.Errorf("--adopt and --overwrite: choose one")
	case *adopt:
		adoption = pullsecret.AdoptForeign
	case *overwrite:
		adoption = pullsecret.OverwriteForeign
	}
	names := exampleenv.SplitList(*projects)
	sel, err := labels.Parse(*selector)
	if err != nil {
		return fmt.Errorf("--selector %q: %w", *selector, err)
	}

	env, err := exampleenv.Setup(ctx, common, getenv, stdout, stderr, seed(names)...)
	if err != nil {
		return err
	}
	defer env.Close()
	if len(names) == 0 && *selector == "" && !*all {
		demo, err := env.FlagOrDemo("selector", "", "team=payments", false)
		if err != nil {
			return err
		}
		if demo == "" {
			return fmt.Errorf("choose the projects: --projects, --selector or --all")
		}
		if sel, err = labels.Parse(demo); err != nil {
			return err
		}
		*selector = demo
	}
	if env.Embedded {
		env.Printf("  (embedded projects: team-a, team-b with label team=payments; team-c with team=search; team-legacy with team=legacy, holding a hand-made all-icr-io")
		if extra := extraProjects(names); len(extra) > 0 {
			env.Printf("; %s without labels", strings.Join(extra, ", "))
		}
		env.Printf(")\n")
		if err := env.SeedICRSecret(ctx, "c0ffee0example", nil); err != nil {
			return err
		}
	}
	opts := registry.CopyICROptions{
		Targets:        pullsecret.Targets{Namespaces: names, All: *all},
		From:           types.NamespacedName{Namespace: *fromNS, Name: *secretName},
		ServiceAccount: *serviceAccount,
		Adoption:       adoption,
		WriteOptions:   registrykit.WriteOptions{DryRun: env.DryRun, Logger: env.Logger},
	}
	if *includeSystem {
		opts.Exclude = []string{}
	}
	if *selector != "" {
		opts.Selector = sel
	}

	env.Printf("\nCopy %s/%s to %s and attach it to each project's %s service account\n", *fromNS, *secretName, describe(names, *selector, *all, *includeSystem), *serviceAccount)
	rep, err := registry.CopyICRSecret(ctx, env.Cluster, opts)
	env.PrintReport(rep)
	if err != nil {
		return err
	}
	env.PrintCounts(rep)
	var copied []string
	for _, s := range rep.Steps {
		if s.Name == "secret" && s.Action != registrykit.Skipped {
			ns, _, _ := strings.Cut(s.Object, "/")
			copied = append(copied, ns)
		}
	}
	warnings := rep.Warnings()
	if len(warnings) > 0 {
		env.Printf("\nWarning: %d project(s) hold a %s that registrykit did not copy: left in place and not attached.\n", len(warnings), *secretName)
		env.Printf("Rerun with --adopt to take over those that are pull secrets for the same registries (--overwrite: any).\n")
	}
	switch {
	case env.DryRun:
		env.Printf("\nDry run: nothing was changed; %d projects would hold the secret.\n", len(copied))
	case len(copied) == 0 && len(warnings) > 0:
		env.Printf("\nNothing was copied.\n")
	case len(copied) == 0:
		env.Printf("\nNo project was selected: nothing to copy.\n")
	default:
		env.Printf("\nDone: pods in %s can pull from every registry of %s.\n", strings.Join(copied, ", "), *secretName)
	}
	return nil
}

// seed returns the embedded cluster's projects: the demo ones and any
// other named project.
func seed(names []string) []runtime.Object {
	var objs []runtime.Object
	for _, p := range demoProjects {
		objs = append(objs, exampleenv.Projects(map[string]string{"team": p.team}, p.names...)...)
	}
	objs = append(objs, exampleenv.Projects(map[string]string{"team": "legacy"}, "team-legacy")...)
	objs = append(objs, handMadeCopy("team-legacy"))
	return append(objs, exampleenv.Projects(nil, extraProjects(names)...)...)
}

// handMadeCopy is what `oc get secret all-icr-io -n default -o yaml | sed
// s/default/<ns>/g | oc create -f -` left in a project long ago: the same
// registries, an older key, and no registrykit annotation.
func handMadeCopy(ns string) runtime.Object {
	domains, _ := icr.Domains(icr.DomainOptions{})
	cfg, _ := icr.APIKeyConfig(exampleenv.DemoCredentialPrefix+"older-apikey", domains)
	data, _ := cfg.Marshal()
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: registry.DefaultSecretName},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: data},
	}
}

func extraProjects(names []string) []string {
	var extra []string
	for _, n := range names {
		known := n == registry.DefaultNamespace || n == "team-legacy"
		for _, p := range demoProjects {
			known = known || slices.Contains(p.names, n)
		}
		if !known {
			extra = append(extra, n)
		}
	}
	return extra
}

func describe(names []string, selector string, all, includeSystem bool) string {
	var parts []string
	switch {
	case all && includeSystem:
		parts = append(parts, "every project")
	case all:
		parts = append(parts, "every project except "+strings.Join(pullsecret.DefaultExclude, ", "))
	}
	if len(names) > 0 {
		parts = append(parts, strings.Join(names, ", "))
	}
	if selector != "" {
		parts = append(parts, "projects with labels "+selector)
	}
	return strings.Join(parts, " and ")
}
