package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/registrykit/registrykit/examples/internal/exampleenv"
	"github.com/registrykit/registrykit/examples/internal/exampletest"
	"github.com/registrykit/registrykit/pullsecret"
)

func TestPropagateEmbedded(t *testing.T) {
	r := exampletest.Embedded(t, run)
	r.Steps(t,
		"Propagating default/all-icr-io to every namespace except kube-*, openshift-*, attached to service account default",
		"created   secret          team-a/all-icr-io                        copied from default/all-icr-io",
		"[project team-b created]",
		"created   secret          team-b/all-icr-io",
		"[team-b/default service account created]",
		"updated   serviceaccount  team-b/default                           added all-icr-io to imagePullSecrets",
		"[project team-c created]",
		"created   secret          team-c/all-icr-io",
		"[team-c/default service account created]",
		"updated   serviceaccount  team-c/default",
		"[someone deletes team-a/all-icr-io]",
		"created   secret          team-a/all-icr-io",
		"[someone empties team-b/default's imagePullSecrets]",
		"updated   serviceaccount  team-b/default",
		"Done: the embedded run stops here",
	)
	r.Lacks(t, "failed", "kube-demo/", "openshift-config/", "openshift-image-registry/")
	kube := r.Env.Cluster.Kube
	for _, ns := range []string{"team-a", "team-b", "team-c"} {
		s, err := kube.CoreV1().Secrets(ns).Get(t.Context(), "all-icr-io", metav1.GetOptions{})
		if err != nil || s.Annotations[pullsecret.AnnotationCopiedFrom] != "default/all-icr-io" {
			t.Errorf("%s: copy %v, err %v", ns, s, err)
		}
		sa, err := kube.CoreV1().ServiceAccounts(ns).Get(t.Context(), "default", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ref := range sa.ImagePullSecrets {
			if ref.Name == "all-icr-io" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s/default references all-icr-io %d times", ns, n)
		}
	}
	if _, err := kube.CoreV1().Secrets("kube-demo").Get(t.Context(), "all-icr-io", metav1.GetOptions{}); err == nil {
		t.Error("copied into an excluded namespace")
	}
}

func TestPropagateEmbeddedWithFlags(t *testing.T) {
	r := exampletest.Embedded(t, run, "--selector", "team=search", "--service-account", "default", "--service-account", "builder",
		"--exclude", "team-*", "--leader-elect", "--prune", "--adopt")
	// team-c is team=search but excluded by name only for globs; the selector
	// and the exclusion together leave nothing.
	r.Steps(t, "Propagating default/all-icr-io to namespaces with labels team=search except team-*, attached to service account default, builder", "Done")
	r.Lacks(t, "created   secret", "failed")
	if _, err := r.Env.Cluster.Kube.CoordinationV1().Leases("default").Get(t.Context(), "registrykit-propagate", metav1.GetOptions{}); err != nil {
		t.Errorf("no Lease with --leader-elect: %v", err)
	}
	r = exampletest.Embedded(t, run, "--selector", "team=search", "--exclude", "kube-*")
	r.Steps(t, "created   secret          team-c/all-icr-io", "Done")
	r.Lacks(t, "secret          team-a/", "secret          team-b/", "serviceaccount  team-a/", "failed")
}

func TestPropagateFlagsAndErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string // "" means success
	}{
		{"help exits 0", []string{"--help"}, ""},
		{"source without a slash", []string{"--source", "all-icr-io"}, `--source "all-icr-io": want NAMESPACE/NAME`},
		{"bad selector", []string{"--selector", "team in (a"}, `--selector "team in (a"`},
		{"bad exclude glob", []string{"--exclude", "["}, "Exclude[0]"},
		{"unknown flag", []string{"--namespace", "x"}, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := exampletest.Run(t, run, exampletest.NoEnv, tc.args...)
			switch {
			case tc.want == "" && r.Err != nil:
				t.Fatalf("err = %v", r.Err)
			case tc.want != "" && (r.Err == nil || !strings.Contains(r.Err.Error()+r.Stderr, tc.want)):
				t.Fatalf("err = %v, stderr %q; want %q", r.Err, r.Stderr, tc.want)
			}
		})
	}
}

// With a kubeconfig it runs until its context ends (SIGINT or SIGTERM in
// the program) and then returns nil, even when the cluster never answered.
func TestPropagateRunsUntilSignalled(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	var out, errOut bytes.Buffer
	getenv := exampletest.Getenv(map[string]string{exampleenv.EnvKubeconfig: exampletest.Kubeconfig(t)})
	start := time.Now()
	err := run(ctx, []string{"--metrics-addr", "127.0.0.1:0", "--health-addr", "127.0.0.1:0"}, getenv, &out, &errOut)
	if err != nil {
		t.Fatalf("err = %v\n%s", err, errOut.String())
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("returned %s after the signal", d)
	}
	for _, want := range []string{"Running until SIGINT or SIGTERM.", "Stopped."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
