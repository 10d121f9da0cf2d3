package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

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

func TestQuickstartRerunIsIdempotentOnTheSameCluster(t *testing.T) {
	// Two runs share nothing (each embeds a fresh cluster), so idempotence
	// is shown within one cluster by the audit being clean and every copy
	// created exactly once.
	var out bytes.Buffer
	if err := run(context.Background(), nil, noEnv, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "copy secret"); n != 2 {
		t.Errorf("copy steps = %d, want 2 (one per default project)", n)
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
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"-v"}, noEnv, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	// The embedded IAM mints keys of a known shape; none may be printed,
	// raw or base64-encoded as in an auth field.
	all := out.String() + errOut.String()
	for _, marker := range []string{"password", `"auth"`} {
		if strings.Contains(all, marker) {
			t.Errorf("output contains %q", marker)
		}
	}
	if strings.Contains(all, base64.StdEncoding.EncodeToString([]byte("iamapikey:"))[:12]) {
		t.Error("output contains a base64 iamapikey: auth value")
	}
}
