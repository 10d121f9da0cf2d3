package main

import (
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/examples/internal/exampleenv"
	"github.com/registrykit/registrykit/examples/internal/exampletest"
)

func TestApplyEmbedded(t *testing.T) {
	r := exampletest.Embedded(t, run)
	r.Steps(t,
		"--cluster-id not given, using the demo value c0ffee0example",
		"1. Apply the cluster pull secret",
		"service ID", "policy                             Reader all regions",
		"API key                            cluster-c0ffee0example                     created",
		"secret                             default/all-icr-io                         created",
		"service account                    default/default                            updated",
		"API key cluster-c0ffee0example minted",
		"Done:",
	)
	r.Lacks(t, "2. Apply again", "failed")
	if got := len(r.Env.IAMServer.APIKeys()); got != 2 {
		t.Errorf("iamtest holds %d keys, want 2 (the owner's and the cluster's)", got)
	}
}

func TestApplyTwiceReusesTheKey(t *testing.T) {
	r := exampletest.Embedded(t, run, "--cluster-id", "c1", "--twice")
	_, rerun, ok := strings.Cut(r.Stdout, "2. Apply again")
	if !ok {
		t.Fatalf("no rerun section:\n%s", r.Stdout)
	}
	r.Steps(t, "2. Apply again",
		"API key                            cluster-c1                                 reused",
		"secret                             default/all-icr-io                         unchanged",
		"service account                    default/default                            unchanged",
		"API key cluster-c1 reused: no new key was minted.",
	)
	for _, changed := range []string{" created", " updated", " failed"} {
		if strings.Contains(rerun, changed) {
			t.Errorf("the rerun reports %q:\n%s", changed, rerun)
		}
	}
	if got := len(r.Env.IAMServer.APIKeys()); got != 2 {
		t.Errorf("iamtest holds %d keys after two applies, want 2", got)
	}
}

func TestApplyDryRunChangesNothing(t *testing.T) {
	r := exampletest.Embedded(t, run, "--dry-run", "--secret-name", "icr")
	r.Steps(t,
		"service ID                         cluster-c0ffee0example                     created (dry run: would create)",
		"secret                             default/icr                                created (created for au.icr.io",
		"API key cluster-c0ffee0example would be minted.",
		"Dry run: nothing was changed",
	)
	if n := len(r.Env.IAMServer.ServiceIDs()); n != 0 {
		t.Errorf("dry run created %d service IDs", n)
	}
	if _, err := r.Env.Cluster.Kube.CoreV1().Secrets("default").Get(t.Context(), "icr", metav1.GetOptions{}); err == nil {
		t.Error("dry run stored the secret")
	}
}

// --remove on the embedded cluster: apply and copy first, then teardown
// leaves nothing of the cluster in IAM and no secret of ours, in order.
func TestRemoveEmbedded(t *testing.T) {
	r := exampletest.Embedded(t, run, "--remove")
	r.Steps(t,
		"Embedded setup (a real cluster would already have this): all-icr-io via ApplyClusterPullSecret, copied to team-a, team-b",
		"1. Remove the cluster pull secret",
		"service account                    default/default                            updated (removed all-icr-io from imagePullSecrets)",
		"secret                             default/all-icr-io                         deleted",
		"secret                             team-b/all-icr-io                          deleted",
		"API key                            cluster-c0ffee0example                     deleted",
		"policy                             Reader all regions                         deleted",
		"service ID                         cluster-c0ffee0example                     deleted",
		"Done: nothing of cluster-c0ffee0example is left in IAM or in the cluster.",
	)
	if n := len(r.Env.IAMServer.ServiceIDs()) + len(r.Env.IAMServer.Policies()); n != 0 {
		t.Errorf("iamtest still holds %d service IDs and policies", n)
	}
	if got := len(r.Env.IAMServer.APIKeys()); got != 1 {
		t.Errorf("iamtest holds %d keys, want only the owner's", got)
	}
	for _, ns := range []string{"default", "team-a", "team-b"} {
		if _, err := r.Env.Cluster.Kube.CoreV1().Secrets(ns).Get(t.Context(), "all-icr-io", metav1.GetOptions{}); err == nil {
			t.Errorf("%s/all-icr-io left", ns)
		}
	}
}

func TestRemoveDryRun(t *testing.T) {
	r := exampletest.Embedded(t, run, "--remove", "--dry-run")
	r.Steps(t, "1. Remove the cluster pull secret",
		"service ID                         cluster-c0ffee0example                     deleted (dry run: would delete",
		"Dry run: nothing was removed")
	if n := len(r.Env.IAMServer.ServiceIDs()); n != 1 {
		t.Errorf("dry run left %d service IDs, want the embedded setup's 1", n)
	}
	if _, err := r.Env.Cluster.Kube.CoreV1().Secrets("team-a").Get(t.Context(), "all-icr-io", metav1.GetOptions{}); err != nil {
		t.Errorf("dry run deleted team-a/all-icr-io: %v", err)
	}
}

func TestApplyErrors(t *testing.T) {
	t.Run("invalid cluster ID is refused before any call", func(t *testing.T) {
		r := exampletest.Run(t, run, exampletest.NoEnv, "--cluster-id", "Not_A_Label")
		if !errors.Is(r.Err, registrykit.ErrInvalid) || !strings.Contains(r.Err.Error(), "clusterID") {
			t.Fatalf("err = %v, want ErrInvalid naming clusterID", r.Err)
		}
		if n := len(r.Env.IAMServer.ServiceIDs()); n != 0 {
			t.Errorf("%d service IDs created despite invalid input", n)
		}
		r.NoSecrets(t)
	})
	t.Run("unknown flag", func(t *testing.T) {
		r := exampletest.Run(t, run, exampletest.NoEnv, "--clusterid", "c1")
		if r.Err == nil || !strings.Contains(r.Stderr, "flag provided but not defined: -clusterid") {
			t.Fatalf("err = %v, stderr = %q", r.Err, r.Stderr)
		}
	})
	t.Run("half configured", func(t *testing.T) {
		r := exampletest.Run(t, run, exampletest.Getenv(map[string]string{exampleenv.EnvAPIKey: "k"}))
		if !errors.Is(r.Err, exampleenv.ErrHalfConfigured) {
			t.Fatalf("err = %v, want ErrHalfConfigured", r.Err)
		}
	})
}
