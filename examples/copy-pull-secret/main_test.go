package main

import (
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/examples/internal/exampleenv"
	"github.com/registrykit/registrykit/examples/internal/exampletest"
	"github.com/registrykit/registrykit/pullsecret"
)

// copies returns the namespaces that hold a copy of all-icr-io made by
// registrykit.
func copies(t *testing.T, r *exampletest.Result) []string {
	t.Helper()
	list, err := r.Env.Cluster.Kube.CoreV1().Secrets("").List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ns []string
	for _, s := range list.Items {
		if s.Name == "all-icr-io" && s.Annotations[pullsecret.AnnotationCopiedFrom] != "" {
			ns = append(ns, s.Namespace)
		}
	}
	return ns
}

func TestCopyEmbedded(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		steps []string
		want  string // namespaces holding a copy afterwards
	}{{
		name: "demo selector",
		steps: []string{
			"--selector not given, using the demo value team=payments",
			"Embedded setup", "secret                             default/all-icr-io                         created",
			"Copy default/all-icr-io to projects with labels team=payments",
			"secret                             team-a/all-icr-io                          created (copied from default/all-icr-io)",
			"secret                             team-b/all-icr-io                          created",
			"service account                    team-a/default                             updated (added to imagePullSecrets)",
			"service account                    team-b/default                             updated",
			"result: 2 created, 2 updated",
			"Done: pods in team-a, team-b can pull",
		},
		want: "team-a team-b",
	}, {
		name: "named projects, one not a demo project",
		args: []string{"--projects", "team-c,new-one"},
		steps: []string{
			"new-one without labels",
			"Copy default/all-icr-io to team-c, new-one and attach",
			"secret                             new-one/all-icr-io                         created",
			"secret                             team-c/all-icr-io                          created",
			"Done: pods in new-one, team-c",
		},
		want: "new-one team-c",
	}, {
		name:  "selector",
		args:  []string{"--selector", "team=search"},
		steps: []string{"team-c/all-icr-io                          created", "Done: pods in team-c can pull"},
		want:  "team-c",
	}, {
		name: "all leaves the system namespaces out",
		args: []string{"--all"},
		steps: []string{
			"Copy default/all-icr-io to every project except kube-*, openshift-*",
			"secret                             default/all-icr-io                         skipped [source-namespace] (source namespace)",
			"openshift-config/all-icr-io                skipped [excluded] (system namespace, excluded by default",
			"openshift-image-registry/all-icr-io        skipped [excluded] (system namespace, excluded by default",
			"team-c/all-icr-io                          created",
			"Done: pods in team-a, team-b, team-c",
		},
		want: "team-a team-b team-c",
	}, {
		name: "all, system namespaces included",
		args: []string{"--all", "--include-system"},
		steps: []string{
			"Copy default/all-icr-io to every project",
			"secret                             default/all-icr-io                         skipped [source-namespace] (source namespace)",
			"openshift-config/all-icr-io                created",
			"team-c/all-icr-io                          created",
			"service account                    openshift-config/default                   updated",
			"Done: pods in openshift-config, openshift-image-registry, team-a, team-b, team-c",
		},
		want: "openshift-config openshift-image-registry team-a team-b team-c",
	}, {
		name: "a hand-made copy is left alone, not attached, with a warning",
		args: []string{"--selector", "team=legacy"},
		steps: []string{
			"secret                             team-legacy/all-icr-io                     skipped [foreign] (exists without registrykit.io/copied-from",
			"warning: secret team-legacy/all-icr-io was skipped [foreign]",
			"Warning: 1 project(s) hold a all-icr-io that registrykit did not copy: left in place and not attached.",
			"Rerun with --adopt",
			"Nothing was copied.",
		},
		want: "",
	}, {
		name: "--adopt takes over a hand-made copy for the same registries and attaches it",
		args: []string{"--selector", "team=legacy", "--adopt"},
		steps: []string{
			"secret                             team-legacy/all-icr-io                     updated (adopted: an image pull secret for the same registries as default/all-icr-io)",
			"service account                    team-legacy/default                        updated (added to imagePullSecrets)",
			"Done: pods in team-legacy can pull",
		},
		want: "team-legacy",
	}, {
		name:  "dry run stores nothing",
		args:  []string{"--dry-run", "--projects", "team-a"},
		steps: []string{"secret                             team-a/all-icr-io                          created (copied from default/all-icr-io (dry run: not persisted))", "Dry run: nothing was changed; 1 projects would hold"},
		want:  "",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r := exampletest.Embedded(t, run, tc.args...)
			r.Steps(t, tc.steps...)
			r.Lacks(t, "failed")
			if got := strings.Join(copies(t, r), " "); got != tc.want {
				t.Errorf("copies in %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCopyErrors(t *testing.T) {
	kubeOnly := exampletest.Getenv(map[string]string{exampleenv.EnvKubeconfig: exampletest.Kubeconfig(t)})
	for _, tc := range []struct {
		name, want string
		getenv     func(string) string
		args       []string
	}{
		{"no projects chosen on a real cluster (no IBM Cloud key needed)", "choose the projects: --projects, --selector or --all", kubeOnly, nil},
		{"bad selector", `--selector "team in (payments"`, exampletest.NoEnv, []string{"--selector", "team in (payments"}},
		{"unknown flag", "flag provided but not defined: -namespace", exampletest.NoEnv, []string{"--namespace", "x"}},
		{"adopt and overwrite", "--adopt and --overwrite: choose one", exampletest.NoEnv, []string{"--adopt", "--overwrite", "--all"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := exampletest.Run(t, run, tc.getenv, tc.args...)
			if r.Err == nil || !strings.Contains(r.Err.Error()+r.Stderr, tc.want) {
				t.Fatalf("err = %v, stderr %q; want %q", r.Err, r.Stderr, tc.want)
			}
		})
	}
	t.Run("invalid project name is refused", func(t *testing.T) {
		r := exampletest.Run(t, run, exampletest.NoEnv, "--projects", "Team_A")
		if !errors.Is(r.Err, registrykit.ErrInvalid) {
			t.Fatalf("err = %v", r.Err)
		}
	})
}
