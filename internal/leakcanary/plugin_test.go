package leakcanary_test

import (
	"context"
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/registrykit/registrykit/iam/iamtest"
)

// credentialProviderAPI is the package a kubelet image credential
// provider speaks: an example that imports it is run as a plugin.
const credentialProviderAPI = "k8s.io/kubelet/pkg/apis/credentialprovider/v1"

// importsPath reports whether a non-test Go file in dir imports path.
func importsPath(t *testing.T, dir, path string) bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		for _, imp := range file.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == path {
				return true
			}
		}
	}
	return false
}

// runPlugin runs a kubelet image credential provider the ways a kubelet
// and a mistaken operator would, against an iamtest server: with -h; with
// nothing on stdin; with requests that fail at IAM while carrying
// sentinel credentials (an unknown API key in --api-key-file, an unknown
// compute-resource token in --cr-token-file, an unknown service account
// token in the request); with a malformed request that holds a sentinel;
// and with a key IAM knows, which must succeed. A failing run must exit 1
// with nothing on stdout and one line on stderr; the successful one must
// answer a response on stdout and nothing on stderr. Every stderr (and
// every failing stdout) is scanned for the base needles, the sentinels
// and JWTs; the successful stdout, which carries an access token by
// design, for the base needles (the API key included) and the sentinels.
func runPlugin(t *testing.T, ex *example, baseNeedles []needle, sem chan struct{}) {
	srv := iamtest.NewServer()
	t.Cleanup(srv.Close)
	key := srv.AddAPIKey("iam-ServiceId-leakcanary")
	profile := srv.AddTrustedProfile("leakcanary", "system:serviceaccount:leakcanary:app")
	home := t.TempDir()
	env := []string{"HOME=" + home, "TMPDIR=" + home}

	sentinels := []needle{
		{"unknown API key in --api-key-file", "LEAKCANARY-plugin-api-key-7c1d2e"},
		{"unknown compute-resource token in --cr-token-file", "LEAKCANARY-plugin-cr-token-4b9a0f"},
		{"unknown service account token in the request", "LEAKCANARY-plugin-sa-token-e3f6a8"},
	}
	file := func(name, v string) string {
		p := filepath.Join(home, name)
		if err := os.WriteFile(p, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	unknownKey, crToken, knownKey := file("unknown-key", sentinels[0].value), file("cr-token", sentinels[1].value), file("key", key)
	request := func(saToken string, annotations map[string]string) string {
		b, _ := json.Marshal(map[string]any{
			"apiVersion": "credentialprovider.kubelet.k8s.io/v1", "kind": "CredentialProviderRequest",
			"image": "us.icr.io/leakcanary/app:1", "serviceAccountToken": saToken, "serviceAccountAnnotations": annotations,
		})
		return string(b)
	}
	iamURL := []string{"--iam-url", srv.URL()}
	ok := &run{args: append([]string{"--api-key-file", knownKey}, iamURL...), env: env, stdin: request("", nil), mustSucceed: true, note: " (known key)"}
	failing := []*run{
		{args: nil, env: env, note: " (no request)"},
		{args: append([]string{"--api-key-file", unknownKey}, iamURL...), env: env, stdin: request("", nil), note: " (unknown key)"},
		{args: append([]string{"--trusted-profile", profile.ID, "--cr-token-file", crToken}, iamURL...), env: env, stdin: request("", nil), note: " (unknown CR token)"},
		{args: iamURL, env: env, stdin: request(sentinels[2].value, map[string]string{"registrykit.io/iam-trusted-profile": profile.Name}), note: " (unknown service account token)"},
		{args: append([]string{"--api-key-file", knownKey}, iamURL...), env: env, stdin: `{"serviceAccountToken":"` + sentinels[2].value + `",`, note: " (malformed request)"},
	}
	help := &run{args: []string{"-h"}, env: env, note: " (usage)"}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	all := append([]*run{help, ok}, failing...)
	for _, r := range all {
		r.exec(ctx, ex.bin, sem)
	}

	where := func(r *run) string { return ex.name + " " + strings.Join(r.args, " ") + r.note }
	c, answers := &corpus{}, &corpus{}
	for _, r := range all {
		c.add(where(r)+" stderr", r.stderr)
		if r != ok {
			c.add(where(r)+" stdout", r.stdout)
		}
	}
	answers.add(where(ok)+" stdout", ok.stdout)

	if ok.err != nil || ok.stderr != "" {
		t.Errorf("%s: %v, stderr %d bytes; want exit 0 and nothing on stderr", where(ok), ok.err, len(ok.stderr))
	}
	var resp struct {
		Kind string                    `json:"kind"`
		Auth map[string]map[string]any `json:"auth"`
	}
	if err := json.Unmarshal([]byte(ok.stdout), &resp); err != nil || resp.Kind != "CredentialProviderResponse" || len(resp.Auth) != 1 {
		t.Errorf("%s: stdout is not a response with one credential (%d bytes)", where(ok), len(ok.stdout))
	}
	for _, r := range failing {
		var exit *exec.ExitError
		if !errors.As(r.err, &exit) || exit.ExitCode() != 1 {
			t.Errorf("%s: %v, want exit status 1", where(r), r.err)
		}
		if r.stdout != "" {
			t.Errorf("%s: %d bytes on stdout, want none on failure", where(r), len(r.stdout))
		}
		if lines := strings.Count(strings.TrimSuffix(r.stderr, "\n"), "\n") + 1; r.stderr == "" || lines != 1 {
			t.Errorf("%s: %d lines on stderr, want one reason", where(r), lines)
		}
		t.Logf("%s: %s", where(r), strings.TrimSpace(r.stderr))
	}

	needles := append(append([]needle(nil), baseNeedles...), sentinels...)
	c.check(t, newScanner(needles...), 2*len(all)-1)
	sc := newScanner(needles...)
	sc.answers = true
	answers.check(t, sc, 1)
}
