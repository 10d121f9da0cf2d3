package main

import (
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/examples/internal/exampleenv"
	"github.com/registrykit/registrykit/examples/internal/exampletest"
	"github.com/registrykit/registrykit/icr"
)

func TestEntitledEmbedded(t *testing.T) {
	r := exampletest.Embedded(t, run)
	r.Steps(t,
		"IBM_ENTITLEMENT_KEY not set, using a demo entitlement key",
		"Pull secret for the entitled registry cp.icr.io (username cp) in default",
		"secret                             default/entitled-cp-icr-io                 created",
		"service account                    default/default                            updated (added to imagePullSecrets)",
		"Done: pods in default",
	)
	entry(t, r, "default", "entitled-cp-icr-io")
}

func TestEntitledKeyFromEnvironment(t *testing.T) {
	const key = "eyJhbGciOi-entitlement-from-env"
	r := exampletest.Run(t, run, exampletest.Getenv(map[string]string{EnvEntitlementKey: key}), "--namespace", "cp4i", "--secret-name", "ibm-entitlement-key")
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	r.Steps(t, "secret                             cp4i/ibm-entitlement-key                   created", "service account                    cp4i/default")
	r.Lacks(t, "demo entitlement key")
	r.NoSecrets(t)
	if e := entry(t, r, "cp4i", "ibm-entitlement-key"); e.Password != key {
		t.Error("the secret does not hold the key from the environment")
	}
}

func TestEntitledDryRun(t *testing.T) {
	r := exampletest.Embedded(t, run, "--dry-run")
	r.Steps(t, "default/entitled-cp-icr-io                 created", "dry run", "Dry run: nothing was changed.")
	if _, err := r.Env.Cluster.Kube.CoreV1().Secrets("default").Get(t.Context(), "entitled-cp-icr-io", metav1.GetOptions{}); err == nil {
		t.Error("dry run stored the secret")
	}
}

func TestEntitledErrors(t *testing.T) {
	t.Run("no key on a real cluster", func(t *testing.T) {
		r := exampletest.Run(t, run, exampletest.Getenv(map[string]string{exampleenv.EnvKubeconfig: exampletest.Kubeconfig(t)}))
		if r.Err == nil || !strings.Contains(r.Err.Error(), "set IBM_ENTITLEMENT_KEY") {
			t.Fatalf("err = %v", r.Err)
		}
	})
	t.Run("invalid secret name", func(t *testing.T) {
		r := exampletest.Run(t, run, exampletest.NoEnv, "--secret-name", "Bad_Name")
		if !errors.Is(r.Err, registrykit.ErrInvalid) {
			t.Fatalf("err = %v, want ErrInvalid", r.Err)
		}
	})
	t.Run("key flag does not exist", func(t *testing.T) {
		r := exampletest.Run(t, run, exampletest.NoEnv, "--key", "x")
		if r.Err == nil || !strings.Contains(r.Stderr, "flag provided but not defined: -key") {
			t.Fatalf("err = %v, stderr %q", r.Err, r.Stderr)
		}
	})
}

func entry(t *testing.T, r *exampletest.Result, ns, name string) dockerconfig.Entry {
	t.Helper()
	sec, err := r.Env.Cluster.Kube.CoreV1().Secrets(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := dockerconfig.ParseSecret(string(sec.Type), sec.Data)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := cfg.Get(icr.EntitledDomain)
	if !ok || e.Username != icr.EntitledUsername {
		t.Fatalf("no cp.icr.io entry with username cp in %s/%s", ns, name)
	}
	return e
}
