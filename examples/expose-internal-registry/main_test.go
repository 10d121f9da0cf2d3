package main

import (
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/examples/internal/exampletest"
)

func TestExposeEmbedded(t *testing.T) {
	const host = "image-registry-openshift-image-registry.apps.embedded.example"
	r := exampletest.Embedded(t, run)
	r.Steps(t,
		"--projects not given, using the demo value team-a",
		"a stand-in admits every route as it is written",
		"route                              openshift-image-registry/image-registry    created",
		"route host                         openshift-image-registry/image-registry    unchanged (admitted as "+host+")",
		"secret                             team-a/default-registry-route              created",
		"service account                    team-a/default                             updated (added to imagePullSecrets)",
		"The internal registry is reachable at "+host,
	)
	sec, err := r.Env.Cluster.Kube.CoreV1().Secrets("team-a").Get(t.Context(), "default-registry-route", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := dockerconfig.ParseSecret(string(sec.Type), sec.Data)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Servers(), ","); got != host {
		t.Errorf("secret is for %q, want the route host %q", got, host)
	}
}

func TestExposeHostnameAndProjects(t *testing.T) {
	r := exampletest.Embedded(t, run, "--hostname", "registry.apps.example.com", "--projects", "default,team-b")
	r.Steps(t,
		"admitted as registry.apps.example.com",
		"secret                             default/default-registry-route             created",
		"secret                             team-b/default-registry-route              created",
		"team-b/default                             updated",
		"reachable at registry.apps.example.com",
	)
	r.Lacks(t, "demo value")
}

func TestExposeDryRun(t *testing.T) {
	r := exampletest.Embedded(t, run, "--dry-run")
	r.Steps(t,
		"route                              openshift-image-registry/image-registry    created (route did not exist (dry run: not persisted))",
		"route host                         openshift-image-registry/image-registry    skipped [dry-run] (dry run",
		"secret                             team-a/default-registry-route              skipped [dry-run] (dry run: route host unknown)",
		"Dry run: nothing was changed.",
	)
	if _, err := r.Env.Cluster.Routes.RouteV1().Routes("openshift-image-registry").Get(t.Context(), "image-registry", metav1.GetOptions{}); err == nil {
		t.Error("dry run stored the route")
	}
}

func TestExposeErrors(t *testing.T) {
	t.Run("invalid hostname and project are refused together", func(t *testing.T) {
		r := exampletest.Run(t, run, exampletest.NoEnv, "--hostname", "Not_A_Host", "--projects", "Team_B")
		if !errors.Is(r.Err, registrykit.ErrInvalid) || !strings.Contains(r.Err.Error(), "hostname") || !strings.Contains(r.Err.Error(), "Team_B") {
			t.Fatalf("err = %v, want ErrInvalid naming hostname and Team_B", r.Err)
		}
	})
	t.Run("a project without the service account fails and names it", func(t *testing.T) {
		r := exampletest.Run(t, run, exampletest.NoEnv, "--service-account", "robot")
		if r.Err == nil || !strings.Contains(r.Err.Error(), "team-a") || !strings.Contains(r.Err.Error(), "robot") {
			t.Fatalf("err = %v, want one naming team-a and robot", r.Err)
		}
		r.Steps(t, "route host", "secret                             team-a/robot-registry-route                failed")
		r.NoSecrets(t)
	})
	t.Run("unknown flag", func(t *testing.T) {
		r := exampletest.Run(t, run, exampletest.NoEnv, "--host", "x")
		if r.Err == nil || !strings.Contains(r.Stderr, "flag provided but not defined: -host") {
			t.Fatalf("err = %v, stderr %q", r.Err, r.Stderr)
		}
	})
}
