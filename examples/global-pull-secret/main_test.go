package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/examples/internal/exampleenv"
	"github.com/registrykit/registrykit/examples/internal/exampletest"
	"github.com/registrykit/registrykit/pullsecret"
)

const redHat = "cloud.openshift.com, quay.io, registry.connect.redhat.com, registry.redhat.io"

func TestGlobalMergeEmbedded(t *testing.T) {
	r := exampletest.Embedded(t, run)
	r.Steps(t,
		"--server not given, using the demo value us.icr.io",
		"REGISTRY_PASSWORD not set, using a demo password",
		"Global pull secret openshift-config/pull-secret",
		"before:           4 registries: "+redHat,
		"merge into global pull secret      us.icr.io                                  updated (merged us.icr.io",
		"after:            5 registries: "+redHat+", us.icr.io",
		"Red Hat's registries kept: cloud.openshift.com, quay.io, registry.redhat.io, registry.connect.redhat.com",
		"nodes do not use it yet",
		"This program does neither.",
	)
	cfg := global(t, r)
	if e, ok := cfg.Get("us.icr.io"); !ok || e.Username != "iamapikey" {
		t.Errorf("us.icr.io entry = %v, %v", e, ok)
	}
}

func TestGlobalPasswordFromEnvironment(t *testing.T) {
	const password = "s3cret-from-the-environment"
	r := exampletest.Run(t, run, exampletest.Getenv(map[string]string{EnvPassword: password}),
		"--server", "registry.example.com:5000", "--username", "robot")
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	r.Steps(t, "merge into global pull secret      registry.example.com:5000", "after:            5 registries")
	r.Lacks(t, "demo password")
	r.NoSecrets(t)
	if e, _ := global(t, r).Get("registry.example.com:5000"); e.Password != password || e.Username != "robot" {
		t.Errorf("entry has user %q and %d-character password, want robot and the environment's", e.Username, len(e.Password))
	}
}

func TestGlobalDryRunAndRemove(t *testing.T) {
	t.Run("dry run", func(t *testing.T) {
		r := exampletest.Embedded(t, run, "--dry-run")
		r.Steps(t, "(dry run: not persisted)", "after (would be): 5 registries", "Dry run: nothing was changed.")
		if _, ok := global(t, r).Get("us.icr.io"); ok {
			t.Error("dry run stored us.icr.io")
		}
	})
	t.Run("removing a registry that is not there changes nothing", func(t *testing.T) {
		r := exampletest.Embedded(t, run, "--remove", "--server", "us.icr.io")
		r.Steps(t, "remove from global pull secret     us.icr.io                                  unchanged", "after:            4 registries", "Nothing to do")
	})
	t.Run("removing a Red Hat registry is refused", func(t *testing.T) {
		r := exampletest.Run(t, run, exampletest.NoEnv, "--remove", "--server", "quay.io")
		var missing *pullsecret.MissingRequiredError
		if !errors.As(r.Err, &missing) || strings.Join(missing.Registries, ",") != "quay.io" {
			t.Fatalf("err = %v, want MissingRequiredError for quay.io", r.Err)
		}
		if _, ok := global(t, r).Get("quay.io"); !ok {
			t.Error("quay.io was removed")
		}
	})
}

func TestGlobalErrors(t *testing.T) {
	kubeOnly := exampletest.Getenv(map[string]string{exampleenv.EnvKubeconfig: exampletest.Kubeconfig(t)})
	for _, tc := range []struct {
		name, want string
		getenv     func(string) string
		args       []string
	}{
		{"no password on a real cluster", "set REGISTRY_PASSWORD", kubeOnly, []string{"--server", "us.icr.io"}},
		{"no server on a real cluster", "--server is required", kubeOnly, nil},
		{"password flag does not exist", "flag provided but not defined: -password", exampletest.NoEnv, []string{"--password", "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := exampletest.Run(t, run, tc.getenv, tc.args...)
			if r.Err == nil || !strings.Contains(r.Err.Error()+r.Stderr, tc.want) {
				t.Fatalf("err = %v, stderr %q; want %q", r.Err, r.Stderr, tc.want)
			}
		})
	}
}

func global(t *testing.T, r *exampletest.Result) *dockerconfig.Config {
	t.Helper()
	cfg, err := readGlobal(t.Context(), r.Env)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
