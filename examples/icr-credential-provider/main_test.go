package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	credentialproviderv1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1"

	"github.com/registrykit/registrykit/iam/iamtest"
	"github.com/registrykit/registrykit/icr"
)

const (
	puller  = "iam-ServiceId-puller"
	nodeSA  = "system:serviceaccount:kube-system:node-identity"
	appSA   = "system:serviceaccount:team-a:app"
	otherSA = "system:serviceaccount:team-b:app"
)

// fixture is a fake IAM with an API key, a profile trusted by the node's
// identity and one per workload, and the files a node would hold.
type fixture struct {
	srv                     *iamtest.Server
	key                     string
	keyFile, crTokenFile    string
	nodeProfile, appProfile iamtest.TrustedProfile
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv := iamtest.NewServer(iamtest.WithTokenLifetime(time.Hour))
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv, key: srv.AddAPIKey(puller)}
	f.nodeProfile = srv.AddTrustedProfile("node-puller", nodeSA)
	f.appProfile = srv.AddTrustedProfile("team-a-puller", appSA)
	dir := t.TempDir()
	f.keyFile = filepath.Join(dir, "apikey")
	f.crTokenFile = filepath.Join(dir, "cr-token")
	for file, v := range map[string]string{f.keyFile: f.key + "\n", f.crTokenFile: srv.CRToken(nodeSA, 0)} {
		if err := os.WriteFile(file, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func request(image, saToken string, annotations map[string]string) string {
	b, _ := json.Marshal(map[string]any{
		"apiVersion": "credentialprovider.kubelet.k8s.io/v1", "kind": "CredentialProviderRequest",
		"image": image, "serviceAccountToken": saToken, "serviceAccountAnnotations": annotations,
	})
	return string(b)
}

// call runs the plugin in process.
func call(t *testing.T, stdin string, args ...string) (stdout string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	err = run(ctx, args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), err
}

func decode(t *testing.T, stdout string) credentialproviderv1.CredentialProviderResponse {
	t.Helper()
	var resp credentialproviderv1.CredentialProviderResponse
	if err := json.Unmarshal([]byte(stdout), &resp); err != nil {
		t.Fatalf("stdout is not a response: %v", err)
	}
	if resp.APIVersion != "credentialprovider.kubelet.k8s.io/v1" || resp.Kind != "CredentialProviderResponse" {
		t.Errorf("response is %s %s", resp.APIVersion, resp.Kind)
	}
	if resp.CacheKeyType != credentialproviderv1.RegistryPluginCacheKeyType {
		t.Errorf("cacheKeyType = %q, want Registry", resp.CacheKeyType)
	}
	return resp
}

// checkCredential checks that resp gives registry an iambearer token of
// iamID that the fake IAM accepts for longer than the cache duration.
func checkCredential(t *testing.T, f *fixture, resp credentialproviderv1.CredentialProviderResponse, registry string) {
	t.Helper()
	if len(resp.Auth) != 1 {
		t.Fatalf("auth has %d entries, want 1 for %s", len(resp.Auth), registry)
	}
	a, ok := resp.Auth[registry]
	if !ok || a.Username != "iambearer" {
		t.Fatalf("auth = %v, want iambearer for %s", keys(resp.Auth), registry)
	}
	exp, ok := f.srv.TokenExpiry(a.Password)
	if !ok {
		t.Fatal("the password is not a token IAM issued")
	}
	if resp.CacheDuration == nil || resp.CacheDuration.Duration <= 0 {
		t.Fatalf("cacheDuration = %v, want a positive duration", resp.CacheDuration)
	}
	if until := time.Now().Add(resp.CacheDuration.Duration); !until.Before(exp) {
		t.Errorf("cached until %v, after the token expires at %v", until, exp)
	}
	// 80% of the hour, to the second.
	if d := resp.CacheDuration.Duration; d < 47*time.Minute || d > 48*time.Minute {
		t.Errorf("cacheDuration = %v, want about 48m", d)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// iamIDOf returns the identity the fake IAM's token acts as.
func iamIDOf(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatal("not a JWT")
	}
	var c struct {
		IAMID string `json:"iam_id"`
	}
	raw, _ := decodeSegment(parts[1])
	_ = json.Unmarshal(raw, &c)
	return c.IAMID
}

func TestModes(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name     string
		args     []string
		saToken  string
		ann      map[string]string
		image    string
		registry string
		identity string
	}{
		{"API key", []string{"--api-key-file", f.keyFile}, "", nil, "us.icr.io/team/app:1", "us.icr.io", puller},
		{"trusted profile by name", []string{"--trusted-profile", "node-puller", "--cr-token-file", f.crTokenFile}, "", nil, "icr.io/team/app@sha256:0", "icr.io", f.nodeProfile.IAMID},
		{"trusted profile by id", []string{"--trusted-profile", f.nodeProfile.ID, "--cr-token-file", f.crTokenFile}, "", nil, "private.de.icr.io/x/y", "private.de.icr.io", f.nodeProfile.IAMID},
		{"trusted profile by CRN", []string{"--trusted-profile", f.nodeProfile.CRN, "--cr-token-file", f.crTokenFile}, "", nil, "de.icr.io/x/y", "de.icr.io", f.nodeProfile.IAMID},
		{"service account, profile from its annotation", nil, f.srv.CRToken(appSA, 0), map[string]string{ProfileAnnotation: "team-a-puller"}, "us.icr.io/team-a/app", "us.icr.io", f.appProfile.IAMID},
		{"service account, profile from the flag", []string{"--trusted-profile", f.appProfile.ID}, f.srv.CRToken(appSA, 0), nil, "us.icr.io/team-a/app", "us.icr.io", f.appProfile.IAMID},
		{"service account, annotation wins over the flag", []string{"--trusted-profile", "node-puller"}, f.srv.CRToken(appSA, 0), map[string]string{ProfileAnnotation: f.appProfile.ID}, "uk.icr.io/a", "uk.icr.io", f.appProfile.IAMID},
		{"upper-case registry", []string{"--api-key-file", f.keyFile}, "", nil, "US.ICR.IO/team/app", "us.icr.io", puller},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := call(t, request(tt.image, tt.saToken, tt.ann), append(tt.args, "--iam-url", f.srv.URL())...)
			if err != nil {
				t.Fatal(err)
			}
			resp := decode(t, out)
			checkCredential(t, f, resp, tt.registry)
			if got := iamIDOf(t, resp.Auth[tt.registry].Password); got != tt.identity {
				t.Errorf("the token acts as %s, want %s", got, tt.identity)
			}
		})
	}
}

func TestOtherRegistries(t *testing.T) {
	f := newFixture(t)
	base := []string{"--api-key-file", f.keyFile, "--iam-url", f.srv.URL()}
	for _, tt := range []struct {
		image string
		args  []string
	}{
		{"cp.icr.io/cp/app", nil}, // the entitled registry takes an entitlement key, not a token
		{"quay.io/x/y", nil},
		{"de.icr.io/x/y", []string{"--domains", "us.icr.io, private.us.icr.io"}},
	} {
		calls := f.srv.Calls(iamtest.OpGetToken)
		out, err := call(t, request(tt.image, "", nil), append(base, tt.args...)...)
		if err != nil {
			t.Fatalf("%s: %v", tt.image, err)
		}
		resp := decode(t, out)
		if len(resp.Auth) != 0 || resp.CacheDuration == nil || resp.CacheDuration.Duration != emptyCacheDuration {
			t.Errorf("%s: auth %v, cacheDuration %v; want none, cached an hour", tt.image, keys(resp.Auth), resp.CacheDuration)
		}
		if f.srv.Calls(iamtest.OpGetToken) != calls {
			t.Errorf("%s: IAM was asked for a token", tt.image)
		}
	}
	out, err := call(t, request("private.us.icr.io/x/y", "", nil), append(base, "--domains", "us.icr.io,private.us.icr.io")...)
	if err != nil {
		t.Fatal(err)
	}
	checkCredential(t, f, decode(t, out), "private.us.icr.io")
}

func TestDefaultDomainsAreEveryICRDomain(t *testing.T) {
	c, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := icr.Domains(icr.DomainOptions{})
	if diff := cmp.Diff(want, c.domains); diff != "" {
		t.Errorf("domains (-want +got):\n%s", diff)
	}
	if c.iamURL != "https://iam.cloud.ibm.com" {
		t.Errorf("--iam-url default = %q", c.iamURL)
	}
}

func TestFailures(t *testing.T) {
	f := newFixture(t)
	down := newFixture(t)
	down.srv.Outage(iamtest.OpGetToken, 503)
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	appToken := f.srv.CRToken(appSA, 0)
	otherToken := f.srv.CRToken(otherSA, 0)
	iamURL := []string{"--iam-url", f.srv.URL()}
	ok := request("us.icr.io/a/b", "", nil)
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string // in the error
	}{
		{"no request", "", nil, "no CredentialProviderRequest on stdin"},
		{"not JSON", "{" + appToken, nil, "not a CredentialProviderRequest in JSON"},
		{"wrong version", `{"apiVersion":"credentialprovider.kubelet.k8s.io/v1alpha1","kind":"CredentialProviderRequest","image":"us.icr.io/a"}`, nil, `"credentialprovider.kubelet.k8s.io/v1alpha1"`},
		{"wrong kind", `{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderResponse","image":"us.icr.io/a"}`, nil, `want credentialprovider.kubelet.k8s.io/v1 CredentialProviderRequest`},
		{"no image", request("", "", nil), nil, "names no image"},
		{"no mode", ok, iamURL, "no credential: give --api-key-file"},
		{"key file missing", ok, append([]string{"--api-key-file", "/nonexistent/key"}, iamURL...), "no such file"},
		{"key file empty", ok, append([]string{"--api-key-file", empty}, iamURL...), "is empty"},
		{"unknown key", ok, append([]string{"--api-key-file", f.crTokenFile}, iamURL...), "BXNIM0415E"},
		{"IAM down", ok, []string{"--api-key-file", f.keyFile, "--iam-url", down.srv.URL()}, "503"},
		{"plain http IAM", ok, []string{"--api-key-file", f.keyFile, "--iam-url", "http://iam.example.com"}, "must use https"},
		{"api key and profile", ok, []string{"--api-key-file", f.keyFile, "--trusted-profile", "p"}, "cannot be combined"},
		{"cr token file without profile", ok, []string{"--cr-token-file", f.crTokenFile}, "needs --trusted-profile"},
		{"bad domain", ok, []string{"--domains", "us.icr.io,https://x"}, "not a registry domain"},
		{"positional argument", ok, []string{"extra"}, "unexpected arguments"},
		{"service account token with an API key", request("us.icr.io/a", appToken, nil), append([]string{"--api-key-file", f.keyFile}, iamURL...), "selects another mode"},
		{"service account without a profile", request("us.icr.io/a", appToken, nil), iamURL, "no trusted profile for the service account"},
		{"profile does not trust the service account", request("us.icr.io/a", otherToken, map[string]string{ProfileAnnotation: "team-a-puller"}), iamURL, iamtest.CodeProfileNotTrusted},
		{"unknown profile", request("us.icr.io/a", appToken, map[string]string{ProfileAnnotation: "nobody"}), iamURL, iamtest.CodeProfileNotFound},
		{"service account token IAM did not issue", request("us.icr.io/a", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLW5vdC1yZWFs", map[string]string{ProfileAnnotation: "team-a-puller"}), iamURL, iamtest.CodeInvalidCRToken},
	}
	secrets := []string{f.key, appToken, otherToken, "c2lnbmF0dXJlLW5vdC1yZWFs"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := call(t, tt.stdin, tt.args...)
			if err == nil {
				t.Fatalf("no error; stdout %d bytes", len(out))
			}
			if out != "" {
				t.Errorf("stdout is not empty on failure (%d bytes)", len(out))
			}
			line := oneLine(err.Error())
			if strings.ContainsAny(line, "\r\n") {
				t.Errorf("the reason is not one line")
			}
			if !strings.Contains(line, tt.want) {
				t.Errorf("reason %q does not contain %q", line, tt.want)
			}
			for _, s := range secrets {
				if strings.Contains(line, s) {
					t.Errorf("the reason carries a credential")
				}
			}
		})
	}
}

func decodeSegment(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
