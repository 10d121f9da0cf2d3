package main

import (
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/examples/internal/exampletest"
	"github.com/registrykit/registrykit/registry"
)

const (
	oldKey = "ApiKey-00000000-0000-4000-8000-000000000004"
	newKey = "ApiKey-00000000-0000-4000-8000-000000000005"
)

func TestRotateEmbedded(t *testing.T) {
	r := exampletest.Embedded(t, run)
	r.Steps(t,
		"Embedded setup (a real cluster would already have this): all-icr-io via ApplyClusterPullSecret, copied to team-a, team-b",
		"API key                            cluster-c0ffee0example                     created ("+oldKey+")",
		"secret                             team-b/all-icr-io                          created",
		"Rotate the API key in every copy of all-icr-io",
		"API key                            cluster-c0ffee0example                     created ("+newKey+")",
		"secret                             default/all-icr-io                         updated (new key",
		"secret                             team-a/all-icr-io                          updated",
		"secret                             team-b/all-icr-io                          updated",
		"verify                             default/all-icr-io                         unchanged (holds the new key)",
		"verify                             team-b/all-icr-io                          unchanged (holds the new key)",
		"API key                            cluster-c0ffee0example                     deleted ("+oldKey+": no pull secret holds it)",
		"Copies that hold the new key: default/all-icr-io, team-a/all-icr-io, team-b/all-icr-io",
		"Old keys deleted: cluster-c0ffee0example ("+oldKey,
		"Keys the embedded IAM now holds for the service ID: "+newKey,
	)
	if ids := keyIDs(r); ids != "ApiKey-00000000-0000-4000-8000-000000000001 "+newKey {
		t.Errorf("iamtest keys = %s, want the owner's and the new one", ids)
	}
	if n := len(passwords(t, r, "default", "team-a", "team-b")); n != 1 {
		t.Errorf("the copies hold %d different keys, want 1", n)
	}
}

func TestRotateSomeCopiesKeepsTheOldKey(t *testing.T) {
	r := exampletest.Embedded(t, run, "--projects", "team-a")
	r.Steps(t,
		"Rotate the API key",
		"secret                             team-a/all-icr-io                          updated",
		"API key                            cluster-c0ffee0example                     skipped [in-use] ("+oldKey+" kept: still held by default/all-icr-io, team-b/all-icr-io)",
		"Copies that hold the new key: team-a/all-icr-io",
		"Old keys deleted: none",
		"Old keys kept:",
	)
	r.Lacks(t, "team-b/all-icr-io                          updated")
	if n := len(passwords(t, r, "default", "team-a", "team-b")); n != 2 {
		t.Errorf("the copies hold %d different keys, want 2 (old in default and team-b, new in team-a)", n)
	}
}

func TestRotateDryRun(t *testing.T) {
	r := exampletest.Embedded(t, run, "--dry-run")
	r.Steps(t, "Rotate the API key", "dry run", "Copies that would hold the new key:", "Old keys that would be deleted: cluster-c0ffee0example", "Dry run: no key was minted or deleted")
	if ids := keyIDs(r); ids != "ApiKey-00000000-0000-4000-8000-000000000001 "+oldKey {
		t.Errorf("iamtest keys after a dry run = %s", ids)
	}
	if n := len(passwords(t, r, "default", "team-a", "team-b")); n != 1 {
		t.Errorf("a dry run changed copies: %d different keys", n)
	}
}

func TestRotateErrors(t *testing.T) {
	t.Run("service ID that does not exist", func(t *testing.T) {
		r := exampletest.Run(t, run, exampletest.NoEnv, "--service-id-name", "no-such-id")
		if !errors.Is(r.Err, registry.ErrServiceIDNotFound) {
			t.Fatalf("err = %v, want ErrServiceIDNotFound", r.Err)
		}
		r.NoSecrets(t)
	})
	t.Run("bad selector", func(t *testing.T) {
		r := exampletest.Run(t, run, exampletest.NoEnv, "--selector", "a in (b")
		if r.Err == nil || !strings.Contains(r.Err.Error(), "--selector") {
			t.Fatalf("err = %v", r.Err)
		}
	})
	t.Run("unknown flag", func(t *testing.T) {
		r := exampletest.Run(t, run, exampletest.NoEnv, "--old-key", "x")
		if r.Err == nil || !strings.Contains(r.Stderr, "flag provided but not defined: -old-key") {
			t.Fatalf("err = %v, stderr %q", r.Err, r.Stderr)
		}
	})
}

func keyIDs(r *exampletest.Result) string {
	var ids []string
	for _, k := range r.Env.IAMServer.APIKeys() {
		ids = append(ids, k.ID)
	}
	return strings.Join(ids, " ")
}

// passwords returns the distinct us.icr.io passwords of all-icr-io in the
// namespaces (values are compared, never printed).
func passwords(t *testing.T, r *exampletest.Result, namespaces ...string) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	for _, ns := range namespaces {
		sec, err := r.Env.Cluster.Kube.CoreV1().Secrets(ns).Get(t.Context(), "all-icr-io", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := dockerconfig.ParseSecret(string(sec.Type), sec.Data)
		if err != nil {
			t.Fatal(err)
		}
		e, _ := cfg.Get("us.icr.io")
		seen[e.Password] = true
	}
	return seen
}
