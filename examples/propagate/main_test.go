package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/examples/internal/exampleenv"
	"github.com/registrykit/registrykit/examples/internal/exampletest"
	"github.com/registrykit/registrykit/icr"
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
		{"bad exclude glob", []string{"--exclude", "["}, "exclude[0]"},
		{"unknown flag", []string{"--namespace", "x"}, "flag provided but not defined"},
		{"api key file without --bearer", []string{"--api-key-file", "k", "--iam-url", "https://iam.test"}, "--api-key-file needs --bearer\n--iam-url needs --bearer"},
		{"key and profile", []string{"--bearer", "--api-key-file", "k", "--trusted-profile", "p", "--cr-token-file", "t"}, "--api-key-file cannot be combined with --trusted-profile or --cr-token-file"},
		{"cr token without profile", []string{"--bearer", "--cr-token-file", "t"}, "--cr-token-file needs --trusted-profile"},
		{"bad domain", []string{"--bearer", "--domains", "us.icr.io,Not A Domain"}, `--domains: "not a domain" is not a registry domain`},
		{"missing key file", []string{"--bearer", "--api-key-file", "/nonexistent/apikey"}, "read the API key: open /nonexistent/apikey"},
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

// --bearer: the source is an iambearer credential renewed from a key kept
// outside the cluster; the copies follow; no secret ever holds the key.
func TestPropagateEmbeddedBearer(t *testing.T) {
	const key = "propagate-example-key-0123456789"
	file := filepath.Join(t.TempDir(), "apikey")
	if err := os.WriteFile(file, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := exampletest.Embedded(t, run, "--bearer", "--api-key-file", file, "--domains", "us.icr.io,de.icr.io")
	r.Steps(t,
		"Keyless: writing default/all-icr-io as an iambearer credential, tokens from an API key of service ID registrykit-propagate",
		"created   secret          default/all-icr-io                       iambearer token valid until",
		"created   secret          team-a/all-icr-io                        copied from default/all-icr-io",
		"[waiting for the token's renewal",
		"updated   secret          default/all-icr-io                       iambearer token valid until",
		"updated   secret          team-a/all-icr-io                        content changed at source default/all-icr-io",
		"Every secret read: 4 hold an iambearer token, 0 expired tokens found; 0 API keys found.",
		"Done",
	)
	r.Lacks(t, "failed", "source not found", key)
	list, err := r.Env.Cluster.Kube.CoreV1().Secrets("").List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list.Items {
		for k, v := range s.Data {
			if strings.Contains(string(v), key) || strings.Contains(string(v), base64.StdEncoding.EncodeToString([]byte(icr.APIKeyUsername+":"+key))) {
				t.Errorf("secret %s/%s holds the API key in %s", s.Namespace, s.Name, k)
			}
		}
	}
	s, err := r.Env.Cluster.Kube.CoreV1().Secrets("default").Get(t.Context(), "all-icr-io", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := dockerconfig.ParseSecret(string(s.Type), s.Data)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Servers(), ","); got != "de.icr.io,us.icr.io" {
		t.Errorf("source servers = %s, want de.icr.io,us.icr.io", got)
	}

	r = exampletest.Embedded(t, run, "--bearer", "--trusted-profile", "registrykit-propagate")
	r.Steps(t, "tokens from trusted profile registrykit-propagate of the embedded IAM",
		"created   secret          team-a/all-icr-io", "0 expired tokens found; 0 API keys found.", "Done")
	r.Lacks(t, "failed")
}

// On a cluster, --bearer needs a credential to make tokens from.
func TestPropagateBearerNeedsACredential(t *testing.T) {
	getenv := exampletest.Getenv(map[string]string{exampleenv.EnvKubeconfig: exampletest.Kubeconfig(t)})
	r := exampletest.Run(t, run, getenv, "--bearer", "--metrics-addr", "0", "--health-addr", "0")
	if r.Err == nil || !strings.Contains(r.Err.Error(), "--bearer needs --api-key-file, or --trusted-profile with --cr-token-file") {
		t.Fatalf("err = %v", r.Err)
	}
}

// In a pod (KUBERNETES_SERVICE_HOST set) without a kubeconfig it uses the
// pod's service account, not the embedded cluster; outside a pod
// client-go's in-cluster config says it is not in one.
func TestPropagateInClusterWithoutAPod(t *testing.T) {
	if os.Getenv(exampleenv.EnvServiceHost) != "" {
		t.Skip("running in a pod: the in-cluster config would work")
	}
	r := exampletest.Run(t, run, exampletest.Getenv(map[string]string{exampleenv.EnvServiceHost: "10.0.0.1"}))
	if r.Err == nil || !strings.Contains(r.Err.Error(), "in-cluster config") {
		t.Fatalf("err = %v; want the in-cluster config's", r.Err)
	}
	if strings.Contains(r.Stdout, "embedded") {
		t.Errorf("fell back to the embedded cluster:\n%s", r.Stdout)
	}
}
