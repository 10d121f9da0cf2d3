package main

import (
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/registrykit/registrykit/build"
	"github.com/registrykit/registrykit/examples/internal/exampleenv"
	"github.com/registrykit/registrykit/examples/internal/exampletest"
)

func TestBuildPushEmbedded(t *testing.T) {
	r := exampletest.Embedded(t, run, "--regions", "us-south", "--registry-namespace", "team-ns", "--pull")
	r.Steps(t,
		"--cluster-name not given, using the demo value c0ffee0example",
		"--project not given, using the demo value team-a",
		"--buildconfig not given, using the demo value app",
		"Push access to IBM Cloud Container Registry for bc/app in team-a",
		"service ID                         c0ffee0example-team-a-push-id              created",
		"policy                             Writer us-south namespace team-ns          created",
		"API key                            c0ffee0example-team-a-push-key             created",
		"secret                             team-a/team-a-icr-push                     created (created for private.us.icr.io, us.icr.io)",
		"service account                    team-a/builder                             updated",
		"build config                       team-a/app                                 updated (changed spec.output.pushSecret, spec.strategy.dockerStrategy.pullSecret)",
		"Done: bc/app pushes with secret team-a-icr-push to us.icr.io/team-ns/app:latest.",
	)
	bc, err := r.Env.Cluster.Builds.BuildV1().BuildConfigs("team-a").Get(t.Context(), "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if bc.Spec.Output.PushSecret == nil || bc.Spec.Output.PushSecret.Name != "team-a-icr-push" ||
		bc.Spec.Strategy.DockerStrategy.PullSecret == nil || bc.Spec.Strategy.DockerStrategy.PullSecret.Name != "team-a-icr-push" {
		t.Errorf("bc/app secrets: push %v, pull %v", bc.Spec.Output.PushSecret, bc.Spec.Strategy.DockerStrategy.PullSecret)
	}
}

// A dry run on a project that has no push secret yet goes through every
// step: the builder link says it would link the secret the run would
// create, and nothing is stored.
func TestBuildPushDryRun(t *testing.T) {
	r := exampletest.Run(t, run, exampletest.NoEnv, "--dry-run")
	if r.Err != nil {
		t.Fatalf("dry run: %v\n%s", r.Err, r.Stdout)
	}
	r.Steps(t, "service ID", "would create", "secret                             team-a/team-a-icr-push", "service account                    team-a/builder                             updated (dry run: would link team-a-icr-push")
	if _, err := r.Env.Cluster.Kube.CoreV1().Secrets("team-a").Get(t.Context(), "team-a-icr-push", metav1.GetOptions{}); err == nil {
		t.Error("dry run stored the push secret")
	}
	r.NoSecrets(t)
	if n := len(r.Env.IAMServer.ServiceIDs()); n != 0 {
		t.Errorf("dry run created %d service IDs", n)
	}
	bc, err := r.Env.Cluster.Builds.BuildV1().BuildConfigs("team-a").Get(t.Context(), "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if bc.Spec.Output.PushSecret != nil {
		t.Error("dry run set the push secret")
	}
}

func TestBuildPushErrors(t *testing.T) {
	t.Run("missing BuildConfig", func(t *testing.T) {
		r := exampletest.Run(t, run, exampletest.NoEnv, "--buildconfig", "nope")
		if !errors.Is(r.Err, build.ErrNotFound) || !strings.Contains(r.Err.Error(), "team-a/nope") {
			t.Fatalf("err = %v, want build.ErrNotFound naming team-a/nope", r.Err)
		}
		r.Steps(t, "build config                       team-a/nope                                failed")
		r.NoSecrets(t)
		// The BuildConfig is checked first: no service ID or key was made.
		if n := len(r.Env.IAMServer.ServiceIDs()); n != 0 {
			t.Errorf("iamtest holds %d service IDs, want none", n)
		}
		if n := len(r.Env.IAMServer.APIKeys()); n != 1 {
			t.Errorf("iamtest holds %d keys, want 1 (the owner's)", n)
		}
	})
	t.Run("real cluster needs the names", func(t *testing.T) {
		getenv := exampletest.Getenv(map[string]string{
			exampleenv.EnvKubeconfig: exampletest.Kubeconfig(t), exampleenv.EnvAPIKey: "k", exampleenv.EnvAccountID: "a",
		})
		r := exampletest.Run(t, run, getenv)
		if r.Err == nil || !strings.Contains(r.Err.Error(), "--cluster-name is required") {
			t.Fatalf("err = %v", r.Err)
		}
	})
	t.Run("unknown flag", func(t *testing.T) {
		r := exampletest.Run(t, run, exampletest.NoEnv, "--bc", "x")
		if r.Err == nil || !strings.Contains(r.Stderr, "flag provided but not defined: -bc") {
			t.Fatalf("err = %v, stderr %q", r.Err, r.Stderr)
		}
	})
}
