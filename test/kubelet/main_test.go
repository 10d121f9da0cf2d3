package kubelet

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/credentialprovider/plugin"

	"github.com/registrykit/registrykit/iam/iamtest"
)

// The plugin is registered once per process (the kubelet's registry is
// global and refuses a name twice): TestMain builds it, starts the fake
// IAMs and registers one provider per case below, each for its own
// registry domain, so that every test sees only its own provider.
const (
	apiKeyRegistry  = "us.icr.io" // icr-apikey: API key, one-hour tokens
	shortRegistry   = "jp.icr.io" // icr-short: API key, 3-second tokens
	profileRegistry = "de.icr.io" // icr-profile: trusted profile + CR token file
	saRegistry      = "uk.icr.io" // icr-sa: service-account-token mode
	missingRegistry = "au.icr.io" // icr-missing: the API key file is missing
	refusedRegistry = "ca.icr.io" // icr-refused: IAM does not know the key
	downRegistry    = "br.icr.io" // icr-down: IAM answers 503
)

const (
	nodeSA = "system:serviceaccount:kube-system:node-identity"
	// refusedKey is a key IAM does not know; it must not appear in any log.
	refusedKey = "LEAKCHECK-unknown-api-key-5a8c1e"
	// shortLife is the token lifetime of icr-short's IAM.
	shortLife = 3 * time.Second
	// sampleEnv makes the test binary a child that registers one sample
	// configuration from deploy/credential-provider and exits.
	sampleEnv = "REGISTRYKIT_SAMPLE_CREDENTIAL_PROVIDER_CONFIG"
)

var (
	// iamHour issues one-hour tokens (API key, profiles, service
	// accounts); iamShort three-second ones; iamDown is out.
	iamHour, iamShort, iamDown *iamtest.Server
	apiKey                     string
	nodeProfile, teamAProfile  iamtest.TrustedProfile
	teamBProfile               iamtest.TrustedProfile

	// serviceAccounts are what the kubelet would read from the API
	// server, by namespace/name.
	serviceAccounts = map[string]*corev1.ServiceAccount{}
	tokenRequests   []*authenticationv1.TokenRequest
	tokenMu         sync.Mutex

	klogOut syncBuffer // what the kubelet's runner logged
)

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestMain(m *testing.M) {
	if path := os.Getenv(sampleEnv); path != "" {
		os.Exit(registerSample(path))
	}
	os.Exit(setup(m))
}

func setup(m *testing.M) int {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("alsologtostderr", "false")
	_ = fs.Set("stderrthreshold", "FATAL")
	klog.SetOutput(&klogOut)

	dir, err := os.MkdirTemp("", "registrykit-kubelet-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	bin := filepath.Join(dir, "bin")
	if err := buildPlugin(filepath.Join(bin, "icr-credential-provider")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	iamHour = iamtest.NewServer()
	defer iamHour.Close()
	iamShort = iamtest.NewServer(iamtest.WithTokenLifetime(shortLife))
	defer iamShort.Close()
	iamDown = iamtest.NewServer()
	defer iamDown.Close()
	iamDown.Outage(iamtest.OpGetToken, 503)

	apiKey = iamHour.AddAPIKey("iam-ServiceId-puller")
	shortKey := iamShort.AddAPIKey("iam-ServiceId-puller")
	downKey := iamDown.AddAPIKey("iam-ServiceId-puller")
	nodeProfile = iamHour.AddTrustedProfile("node-puller", nodeSA)
	teamAProfile = iamHour.AddTrustedProfile("team-a-puller", "system:serviceaccount:team-a:app")
	teamBProfile = iamHour.AddTrustedProfile("team-b-puller", "system:serviceaccount:team-b:app", "system:serviceaccount:team-b:default")
	addServiceAccount("team-a", "app", map[string]string{"registrykit.io/iam-trusted-profile": "team-a-puller"})
	addServiceAccount("team-b", "app", map[string]string{"registrykit.io/iam-trusted-profile": teamBProfile.ID})
	addServiceAccount("team-b", "default", nil) // gets the --trusted-profile default
	addServiceAccount("team-c", "app", map[string]string{"registrykit.io/iam-trusted-profile": "team-a-puller"})

	files := map[string]string{
		"apikey":       apiKey,
		"short-apikey": shortKey,
		"down-apikey":  downKey,
		"refused":      refusedKey,
		"cr-token":     iamHour.CRToken(nodeSA, 0),
	}
	for name, v := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v+"\n"), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	f := func(name string) string { return filepath.Join(dir, name) }
	providers := []provider{
		{name: "icr-apikey", registry: apiKeyRegistry, args: []string{"--api-key-file", f("apikey"), "--iam-url", iamHour.URL()}},
		{name: "icr-short", registry: shortRegistry, args: []string{"--api-key-file", f("short-apikey"), "--iam-url", iamShort.URL()}},
		{name: "icr-profile", registry: profileRegistry, args: []string{"--trusted-profile", nodeProfile.ID, "--cr-token-file", f("cr-token"), "--iam-url", iamHour.URL()}},
		{name: "icr-sa", registry: saRegistry, serviceAccount: true, args: []string{"--trusted-profile", "team-b-puller", "--iam-url", iamHour.URL()}},
		{name: "icr-missing", registry: missingRegistry, args: []string{"--api-key-file", f("absent"), "--iam-url", iamHour.URL()}},
		{name: "icr-refused", registry: refusedRegistry, args: []string{"--api-key-file", f("refused"), "--iam-url", iamHour.URL()}},
		{name: "icr-down", registry: downRegistry, args: []string{"--api-key-file", f("down-apikey"), "--iam-url", iamDown.URL()}},
	}
	var cfg strings.Builder
	cfg.WriteString("apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n")
	for _, p := range providers {
		if err := os.Symlink("icr-credential-provider", filepath.Join(bin, p.name)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		cfg.WriteString(p.yaml())
	}
	config := f("config.yaml")
	if err := os.WriteFile(config, []byte(cfg.String()), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := plugin.RegisterCredentialProviderPlugins(config, bin, serviceAccountToken, serviceAccount); err != nil {
		fmt.Fprintln(os.Stderr, "register the providers:", err)
		return 1
	}
	return m.Run()
}

// provider is one entry of the test's CredentialProviderConfig.
type provider struct {
	name, registry string
	args           []string
	serviceAccount bool
}

func (p provider) yaml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - name: %s\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\n", p.name)
	fmt.Fprintf(&b, "    matchImages: [%q]\n    defaultCacheDuration: 10m\n    args:\n", p.registry)
	for _, a := range append(p.args, "--domains", p.registry) {
		fmt.Fprintf(&b, "      - %q\n", a)
	}
	if p.serviceAccount {
		b.WriteString("    tokenAttributes:\n      serviceAccountTokenAudience: iam\n      requireServiceAccount: true\n" +
			"      optionalServiceAccountAnnotationKeys: [\"registrykit.io/iam-trusted-profile\"]\n      cacheType: ServiceAccount\n")
	}
	return b.String()
}

// buildPlugin builds examples/icr-credential-provider in the library's
// module, as a node would be given it.
func buildPlugin(out string) error {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("the go tool builds the plugin: %w", err)
	}
	cmd := exec.Command(goCmd, "build", "-o", out, "./examples/icr-credential-provider")
	cmd.Dir = filepath.Join("..", "..")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./examples/icr-credential-provider: %w\n%s", err, b)
	}
	return nil
}

func addServiceAccount(ns, name string, annotations map[string]string) {
	serviceAccounts[ns+"/"+name] = &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Namespace: ns, Name: name, UID: types.UID("uid-" + ns + "-" + name), Annotations: annotations,
	}}
}

// serviceAccount is the kubelet's service account lookup.
func serviceAccount(namespace, name string) (*corev1.ServiceAccount, error) {
	sa, ok := serviceAccounts[namespace+"/"+name]
	if !ok {
		return nil, fmt.Errorf("serviceaccount %s/%s not found", namespace, name)
	}
	return sa.DeepCopy(), nil
}

// serviceAccountToken is the kubelet's TokenRequest: a token for the
// service account, from the fake IAM's stand-in for the cluster's issuer.
func serviceAccountToken(namespace, name string, tr *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error) {
	tokenMu.Lock()
	tokenRequests = append(tokenRequests, tr.DeepCopy())
	tokenMu.Unlock()
	out := tr.DeepCopy()
	out.Status.Token = iamHour.CRToken("system:serviceaccount:"+namespace+":"+name, time.Hour)
	out.Status.ExpirationTimestamp = metav1.NewTime(time.Now().Add(time.Hour))
	return out, nil
}

// registerSample is the child process of TestSampleConfigs: it registers
// one sample configuration with the kubelet's code and says why it fails.
func registerSample(path string) int {
	bin, err := os.MkdirTemp("", "registrykit-sample-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(bin) }()
	// The kubelet checks that the binary is there; this one only exists.
	if err := os.WriteFile(filepath.Join(bin, "icr-credential-provider"), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	noToken := func(string, string, *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error) {
		return nil, fmt.Errorf("not called")
	}
	if err := plugin.RegisterCredentialProviderPlugins(path, bin, noToken, serviceAccount); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
