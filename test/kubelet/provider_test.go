package kubelet

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/kubernetes/pkg/credentialprovider"
	"k8s.io/kubernetes/pkg/credentialprovider/plugin"

	"github.com/registrykit/registrykit/iam/iamtest"
)

// pod is who pulls: the kubelet passes its coordinates to the runner.
type pod struct{ namespace, name, uid, serviceAccount string }

var nodePod = pod{"kube-system", "static", "uid-static", ""}

// lookup is what the kubelet does before a pull: ask every registered
// provider whose matchImages match image.
func lookup(p pod, image string) []credentialprovider.TrackedAuthConfig {
	creds, _ := plugin.NewExternalCredentialProviderDockerKeyring(p.namespace, p.name, p.uid, p.serviceAccount).Lookup(image)
	return creds
}

// iambearer checks that creds is one iambearer credential that srv accepts
// now, and returns the identity the token acts as.
func iambearer(t *testing.T, srv *iamtest.Server, creds []credentialprovider.TrackedAuthConfig) string {
	t.Helper()
	if len(creds) != 1 {
		t.Fatalf("%d credentials, want 1", len(creds))
	}
	c := creds[0]
	if c.Username != "iambearer" {
		t.Fatalf("username = %q, want iambearer", c.Username)
	}
	if !srv.TokenValidAt(c.Password, time.Now()) {
		t.Fatalf("the password is not a token IAM accepts now")
	}
	return identity(t, c.Password)
}

func identity(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatal("the token is not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		IAMID string `json:"iam_id"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c.IAMID
}

// Request and response: the runner execs the plugin with a v1 request and
// turns its response into the credential of the pull.
func TestAPIKeyMode(t *testing.T) {
	calls := iamHour.Calls(iamtest.OpGetToken)
	id := iambearer(t, iamHour, lookup(nodePod, apiKeyRegistry+"/team/app:1"))
	if id != "iam-ServiceId-puller" {
		t.Errorf("the token acts as %s, want the API key's service ID", id)
	}
	// cacheKeyType Registry: another image of the same registry is served
	// from the runner's cache, for the cacheDuration (48 minutes here).
	first := lookup(nodePod, apiKeyRegistry+"/team/app:1")
	for _, image := range []string{apiKeyRegistry + "/team/other:2", apiKeyRegistry + "/x/y@sha256:" + strings.Repeat("0", 64)} {
		if diff := cmp.Diff(first[0].Password, lookup(nodePod, image)[0].Password); diff != "" {
			t.Errorf("%s: another token than the cached one", image)
		}
	}
	if got := iamHour.Calls(iamtest.OpGetToken) - calls; got != 1 {
		t.Errorf("%d token requests for 4 lookups in one registry, want 1", got)
	}
}

func TestTrustedProfileMode(t *testing.T) {
	if id := iambearer(t, iamHour, lookup(nodePod, profileRegistry+"/team/app")); id != nodeProfile.IAMID {
		t.Errorf("the token acts as %s, want the node's profile %s", id, nodeProfile.IAMID)
	}
}

// Service-account-token mode: the runner asks for a token of the pod's
// service account with the configured audience, bound to the pod, and
// passes it with the service account's annotations; each service account
// pulls as its own profile, cached per service account.
func TestServiceAccountTokenMode(t *testing.T) {
	calls := iamHour.Calls(iamtest.OpGetToken)
	tests := []struct {
		pod  pod
		want string
	}{
		{pod{"team-a", "app-1", "uid-a1", "app"}, teamAProfile.IAMID},
		{pod{"team-a", "app-2", "uid-a2", "app"}, teamAProfile.IAMID},     // same service account: cached
		{pod{"team-b", "app-1", "uid-b1", "app"}, teamBProfile.IAMID},     // annotation by id
		{pod{"team-b", "job-1", "uid-b2", "default"}, teamBProfile.IAMID}, // no annotation: --trusted-profile
	}
	for _, tt := range tests {
		if id := iambearer(t, iamHour, lookup(tt.pod, saRegistry+"/"+tt.pod.namespace+"/app")); id != tt.want {
			t.Errorf("%s/%s: the token acts as %s, want %s", tt.pod.namespace, tt.pod.serviceAccount, id, tt.want)
		}
	}
	if got := iamHour.Calls(iamtest.OpGetToken) - calls; got != 3 {
		t.Errorf("%d token requests for 3 service accounts, want 3", got)
	}
	tokenMu.Lock()
	requests := slices.Clone(tokenRequests)
	tokenMu.Unlock()
	if len(requests) == 0 {
		t.Fatal("the runner asked for no service account token")
	}
	tr := requests[0]
	if diff := cmp.Diff([]string{"iam"}, tr.Spec.Audiences); diff != "" {
		t.Errorf("audiences (-want +got):\n%s", diff)
	}
	if b := tr.Spec.BoundObjectRef; b == nil || b.Kind != "Pod" || b.Name != "app-1" {
		t.Errorf("token bound to %+v, want the pod", b)
	}

	// A profile that does not trust the service account: IAM refuses, the
	// pod gets no credential.
	if creds := lookup(pod{"team-c", "app-1", "uid-c1", "app"}, saRegistry+"/team-c/app"); len(creds) != 0 {
		t.Errorf("a service account the profile does not trust got %d credentials", len(creds))
	}
	if log := klogOut.String(); !strings.Contains(log, iamtest.CodeProfileNotTrusted) {
		t.Errorf("the runner's log does not give the plugin's reason %s", iamtest.CodeProfileNotTrusted)
	}
}

// cacheDuration is honoured, and ends before the token expires: with
// 3-second tokens the runner serves the cached token for ~2.4 s, then runs
// the plugin again; every credential it hands out is valid at that moment.
func TestCacheDurationBeforeExpiry(t *testing.T) {
	calls := iamShort.Calls(iamtest.OpGetToken)
	seen := map[string]bool{}
	deadline := time.Now().Add(3*shortLife + time.Second)
	for time.Now().Before(deadline) {
		creds := lookup(nodePod, shortRegistry+"/team/app")
		iambearer(t, iamShort, creds) // valid now
		seen[creds[0].Password] = true
		time.Sleep(50 * time.Millisecond)
	}
	execs := iamShort.Calls(iamtest.OpGetToken) - calls
	// 10 s of lookups, renewed every ~2.4 s: 4 or 5 tokens, not 200.
	if execs < 3 || execs > 6 {
		t.Errorf("%d token requests over %v of lookups with %v tokens, want 3..6", execs, 3*shortLife+time.Second, shortLife)
	}
	if len(seen) != execs {
		t.Errorf("%d distinct tokens for %d plugin runs", len(seen), execs)
	}
}

// Failures: the plugin exits non-zero with one line on stderr; the runner
// logs it, and the pull goes on without a credential. No credential
// appears in the log.
func TestFailures(t *testing.T) {
	tests := []struct {
		registry string
		want     string
	}{
		{missingRegistry, "icr-credential-provider: read the API key: open "},
		{refusedRegistry, "BXNIM0415E"},
		{downRegistry, "503"},
	}
	for _, tt := range tests {
		t.Run(tt.registry, func(t *testing.T) {
			if creds := lookup(nodePod, tt.registry+"/team/app"); len(creds) != 0 {
				t.Fatalf("%d credentials, want none", len(creds))
			}
			log := klogOut.String()
			var line string
			for l := range strings.Lines(log) {
				if strings.Contains(l, tt.registry+"/team/app") && strings.Contains(l, "exit status 1") {
					line = l
				}
			}
			if line == "" {
				t.Fatalf("the runner logged no failed run for %s", tt.registry)
			}
			if !strings.Contains(line, tt.want) {
				t.Errorf("the logged reason does not contain %q:\n%s", tt.want, line)
			}
		})
	}
	log := klogOut.String()
	for _, secret := range append([]string{refusedKey, apiKey}, iamHour.IssuedTokens()...) {
		if strings.Contains(log, secret) {
			t.Error("the runner's log carries a credential")
		}
	}
}

// An image no provider matches never runs the plugin.
func TestNoMatch(t *testing.T) {
	calls := iamHour.Calls(iamtest.OpGetToken)
	for _, image := range []string{"quay.io/team/app", "cp.icr.io/cp/app", "icr.io.example.com/x"} {
		if creds := lookup(nodePod, image); len(creds) != 0 {
			t.Errorf("%s: %d credentials, want none", image, len(creds))
		}
	}
	if iamHour.Calls(iamtest.OpGetToken) != calls {
		t.Error("a plugin ran for an image no provider matches")
	}
}

// The sample configurations in deploy/credential-provider load and
// validate with the kubelet's own code (each in a child process: the
// kubelet's provider registry is per process).
func TestSampleConfigs(t *testing.T) {
	samples, err := filepath.Glob(filepath.Join("..", "..", "deploy", "credential-provider", "*.yaml"))
	if err != nil || len(samples) == 0 {
		t.Fatalf("no sample configurations: %v", err)
	}
	for _, s := range samples {
		t.Run(filepath.Base(s), func(t *testing.T) {
			abs, err := filepath.Abs(s)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), sampleEnv+"="+abs)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("the kubelet refuses %s: %v\n%s", s, err, out)
			}
		})
	}
}
