package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/examples/internal/exampleenv"
)

func noEnv(string) string { return "" }

func TestQuickstartEmbedded(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"--projects", "team-a,team-b"}, noEnv, &out, &errOut); err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, errOut.String())
	}
	lines := strings.Split(out.String(), "\n")
	if !strings.Contains(lines[0], "embedded in-memory") {
		t.Errorf("first line does not say it runs embedded: %q", lines[0])
	}
	for _, want := range []string{
		"service ID", "cluster-c0ffee0example",
		"default/all-icr-io", "team-a/all-icr-io", "team-b/all-icr-io",
		"team-a/default", "team-b/default",
		"Done:",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "failed") {
		t.Errorf("a step failed:\n%s", out.String())
	}
}

func TestQuickstartRerunChangesNothing(t *testing.T) {
	ctx := context.Background()
	targets := []string{"team-a", "team-b"}
	var out bytes.Buffer
	env, err := exampleenv.Setup(ctx, &exampleenv.Flags{}, noEnv, &out, &out, exampleenv.Projects(nil, targets...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	if err := story(ctx, env, "c1", targets); err != nil {
		t.Fatal(err)
	}
	keys := len(env.IAMServer.APIKeys())
	out.Reset()
	if err := story(ctx, env, "c1", targets); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(out.String(), "\n") {
		for _, changed := range []string{" created", " updated", " failed"} {
			if strings.Contains(line, changed) {
				t.Errorf("rerun changed something: %q", line)
			}
		}
	}
	if !strings.Contains(out.String(), "reused") {
		t.Errorf("rerun did not reuse the API key:\n%s", out.String())
	}
	if got := len(env.IAMServer.APIKeys()); got != keys {
		t.Errorf("rerun left %d API keys, want %d", got, keys)
	}
}

func TestQuickstartRefusesHalfConfiguration(t *testing.T) {
	getenv := func(k string) string {
		if k == exampleenv.EnvKubeconfig {
			return "/nonexistent/kubeconfig"
		}
		return ""
	}
	err := run(context.Background(), nil, getenv, &bytes.Buffer{}, &bytes.Buffer{})
	if !errors.Is(err, exampleenv.ErrHalfConfigured) {
		t.Fatalf("err = %v, want ErrHalfConfigured", err)
	}
}

func TestQuickstartPrintsNoKey(t *testing.T) {
	ctx := context.Background()
	targets := []string{"team-a"}
	var out bytes.Buffer
	env, err := exampleenv.Setup(ctx, &exampleenv.Flags{Verbose: true}, noEnv, &out, &out, exampleenv.Projects(nil, targets...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	if err := story(ctx, env, "c1", targets); err != nil {
		t.Fatal(err)
	}
	s, err := env.Cluster.Kube.CoreV1().Secrets("default").Get(ctx, "all-icr-io", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := dockerconfig.ParseSecret(string(s.Type), s.Data)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := cfg.Get("us.icr.io")
	if !ok || e.Password == "" {
		t.Fatal("all-icr-io holds no key for us.icr.io")
	}
	secrets := map[string]string{
		"minted API key":     e.Password,
		"base64 auth":        base64.StdEncoding.EncodeToString([]byte("iamapikey:" + e.Password)),
		"caller's own key":   env.APIKey.Reveal(),
		"base64 iamapikey: ": base64.StdEncoding.EncodeToString([]byte("iamapikey:"))[:12],
	}
	for what, v := range secrets {
		if strings.Contains(out.String(), v) {
			t.Errorf("output (stdout and debug log) contains the %s", what)
		}
	}
	if !strings.Contains(out.String(), "level=DEBUG") && !strings.Contains(out.String(), "level=INFO") {
		t.Error("-v produced no log records, so the check above proves little")
	}
}

func TestQuickstartDryRunChangesNothing(t *testing.T) {
	ctx := context.Background()
	targets := []string{"team-a"}
	var out bytes.Buffer
	env, err := exampleenv.Setup(ctx, &exampleenv.Flags{DryRun: true}, noEnv, &out, &out, exampleenv.Projects(nil, targets...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	if err := story(ctx, env, "c1", targets); err != nil {
		t.Fatalf("dry run: %v\n%s", err, out.String())
	}
	if n := len(env.IAMServer.ServiceIDs()); n != 0 {
		t.Errorf("dry run created %d service IDs", n)
	}
	for _, ns := range []string{"default", "team-a"} {
		if _, err := env.Cluster.Kube.CoreV1().Secrets(ns).Get(ctx, "all-icr-io", metav1.GetOptions{}); err == nil {
			t.Errorf("dry run stored %s/all-icr-io", ns)
		}
	}
	if !strings.Contains(out.String(), "Dry run: nothing was changed.") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestQuickstartRefusesPositionalArguments(t *testing.T) {
	err := run(context.Background(), []string{"team-a"}, noEnv, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `unexpected arguments ["team-a"]`) {
		t.Fatalf("err = %v", err)
	}
}
