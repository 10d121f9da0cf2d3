package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/examples/internal/exampleenv"
	"github.com/registrykit/registrykit/pullsecret"
)

func noEnv(string) string { return "" }

func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, noEnv, &out, &errOut); err != nil {
		t.Fatalf("run %q: %v\nstderr:\n%s", args, err, errOut.String())
	}
	assertNoSecret(t, out.String()+errOut.String())
	return out.String()
}

func TestEmbeddedScenarioShowsTheFailureAndTheFix(t *testing.T) {
	out := runOK(t)
	first, _, _ := strings.Cut(out, "\n")
	if !strings.Contains(first, "embedded in-memory") {
		t.Errorf("first line does not say it runs embedded: %q", first)
	}
	for _, want := range []string{
		"pod web-1 (service account default) in namespace team-a",
		"1. default-dockercfg-q8z4m  no-match",
		"1. all-icr-io               matching",
		"verdict: pod web-1 was created before service account default got all-icr-io (pods copy the account's imagePullSecrets at creation): delete and recreate the pod",
		"Once recreated, web-1 gets",
		"1. secret all-icr-io, key us.icr.io, user iamapikey",
		"verdict: ok:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestEmbeddedOtherSubjects(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--service-account", "builder", "--image", "us.icr.io/team/web:1"},
			"verdict: secret legacy-icr-io is Opaque: the kubelet ignores it; recreate it as kubernetes.io/dockerconfigjson"},
		{[]string{"--pod", "web-1"}, // every image of the pod
			"image us.icr.io/team/web:1 (registry us.icr.io) for pod web-1"},
		{[]string{"--service-account", "default", "--image", "icr.io/team/web:1"},
			"verdict: ok: the kubelet tries 1 credential(s) for icr.io"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out := runOK(t, tt.args...)
			if !strings.Contains(out, tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, out)
			}
			if strings.Contains(out, "Once recreated") {
				t.Errorf("the contrast belongs to the default scenario only:\n%s", out)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"--pod", "web-1", "--service-account", "default", "--image", "nginx"},
		{"--service-account", "default", "--image", "https://us.icr.io/x"},
	} {
		err := run(context.Background(), args, noEnv, &bytes.Buffer{}, &bytes.Buffer{})
		if !errors.Is(err, registrykit.ErrInvalid) {
			t.Errorf("run %q: err = %v, want registrykit.ErrInvalid", args, err)
		}
	}
	err := run(context.Background(), []string{"--service-account", "default"}, noEnv, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--image is required") {
		t.Errorf("missing --image: err = %v", err)
	}
	err = run(context.Background(), []string{"--service-account", "nobody", "--image", "nginx"}, noEnv, &bytes.Buffer{}, &bytes.Buffer{})
	if !errors.Is(err, pullsecret.ErrNotFound) {
		t.Errorf("missing service account: err = %v, want ErrNotFound", err)
	}
}

func TestRealClusterNeedsAReadableKubeconfig(t *testing.T) {
	getenv := func(k string) string {
		if k == exampleenv.EnvKubeconfig {
			return "/nonexistent/kubeconfig"
		}
		return ""
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"--service-account", "default", "--image", "nginx"}, getenv, &out, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "load kubeconfig /nonexistent/kubeconfig") {
		t.Errorf("err = %v, want a kubeconfig load error", err)
	}
	if strings.Contains(out.String(), "embedded") {
		t.Errorf("fell back to the embedded cluster with KUBECONFIG set:\n%s", out.String())
	}
}

// assertNoSecret fails if the output shows the scenario's placeholder key,
// raw or as the base64 auth field.
func assertNoSecret(t *testing.T, s string) {
	t.Helper()
	for _, secret := range []string{"placeholder-api-key-not-a-real-one", "placeholder-token"} {
		for _, form := range []string{secret, base64.StdEncoding.EncodeToString([]byte("iamapikey:" + secret)), base64.StdEncoding.EncodeToString([]byte("<token>:" + secret))} {
			if strings.Contains(s, form) {
				t.Errorf("output contains a secret (%q)", form[:8])
			}
		}
	}
}
