package harness

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	buildclient "github.com/openshift/client-go/build/clientset/versioned"
	imageclient "github.com/openshift/client-go/image/clientset/versioned"
	imageregistryclient "github.com/openshift/client-go/imageregistry/clientset/versioned"
	routeclient "github.com/openshift/client-go/route/clientset/versioned"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// Env is one running kube-apiserver+etcd with CRDs installed.
//
// All clients use the admin (system:masters) identity in Config. An Env is
// safe for concurrent use by parallel tests.
type Env struct {
	// Config is the admin rest.Config. Copy it (rest.CopyConfig) before
	// changing it.
	Config *rest.Config

	Kube          kubernetes.Interface
	Dynamic       dynamic.Interface
	Routes        routeclient.Interface         // route.openshift.io (CRD)
	Images        imageclient.Interface         // image.openshift.io (test-only CRD)
	Builds        buildclient.Interface         // build.openshift.io (test-only CRD)
	ImageRegistry imageregistryclient.Interface // imageregistry.operator.openshift.io (CRD)

	// AssetsDir is the folder kube-apiserver and etcd were run from.
	AssetsDir string
	// Testenv is the underlying envtest environment, for what the harness
	// does not wrap (e.g. Testenv.AddUser with groups).
	Testenv *envtest.Environment

	mu    sync.Mutex
	users map[string]bool // user names bound by UserConfig and not yet cleaned up

	// addUserMu serialises Testenv.AddUser: envtest's certificate
	// authority increments its serial number without a lock, so parallel
	// tests racing there could mint two client certificates with one serial.
	// RestartAPIServer holds it too, since a restart rewrites the same
	// envtest state.
	addUserMu sync.Mutex

	// certDir holds kube-apiserver's serving certificates and client CA;
	// the harness owns it (envtest would make a new one, with a new CA, on
	// each start) so that a restart keeps them. Stop removes it.
	certDir string
}

// binaries envtest needs in the assets folder.
var binaries = []string{"kube-apiserver", "etcd"}

// Start starts kube-apiserver and etcd and installs every CRD in test/crds.
//
// The binaries come from $KUBEBUILDER_ASSETS if set, else from
// <repo>/bin/k8s/<version>, where <version> is the k8s.io/kubernetes version
// pinned in hack/testbin/kube-apiserver/go.mod. A missing binary is an
// error that says how to build it.
func Start() (*Env, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	assets, err := assetsDir(root)
	if err != nil {
		return nil, err
	}
	var missing []error
	for _, b := range binaries {
		if _, err := os.Stat(filepath.Join(assets, b)); err != nil {
			missing = append(missing, err)
		}
	}
	if len(missing) > 0 {
		from := "the default folder"
		if os.Getenv("KUBEBUILDER_ASSETS") != "" {
			from = "KUBEBUILDER_ASSETS"
		}
		return nil, fmt.Errorf("kube-apiserver/etcd not found in %s (%s); build them with "+
			"`hack/testbin.sh` in %s (or run `make integration`), which prints the folder to use as "+
			"KUBEBUILDER_ASSETS: %w", assets, from, root, errors.Join(missing...))
	}

	// envtest logs through controller-runtime's global logger; without one
	// it complains after 30s. Print only errors and V(0) messages.
	ctrllog.SetLogger(funcr.New(func(prefix, args string) {
		fmt.Fprintln(os.Stderr, "envtest:", prefix, args)
	}, funcr.Options{Verbosity: 0}))

	te := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(root, "test", "crds")},
		ErrorIfCRDPathMissing: true,
	}
	// A shared 2-core machine can take longer than envtest's 20s default.
	if os.Getenv("KUBEBUILDER_CONTROLPLANE_START_TIMEOUT") == "" {
		te.ControlPlaneStartTimeout = 2 * time.Minute
	}
	// Explicit paths so that a KUBEBUILDER_ASSETS pointing elsewhere and the
	// existence check above cannot disagree.
	api := te.ControlPlane.GetAPIServer()
	api.Path = filepath.Join(assets, "kube-apiserver")
	te.ControlPlane.Etcd = &envtest.Etcd{Path: filepath.Join(assets, "etcd")}
	certDir, err := os.MkdirTemp("", "registrykit-apiserver-")
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver certificate folder: %w", err)
	}
	api.CertDir = certDir
	fastShutdown(te)

	cfg, err := te.Start()
	if err != nil {
		_ = te.Stop()
		_ = os.RemoveAll(certDir)
		return nil, fmt.Errorf("start kube-apiserver and etcd from %s: %w", assets, err)
	}
	e, err := newEnv(cfg)
	if err != nil {
		_ = te.Stop()
		_ = os.RemoveAll(certDir)
		return nil, err
	}
	e.AssetsDir = assets
	e.Testenv = te
	e.certDir = certDir
	return e, nil
}

// stopTimeout bounds kube-apiserver's and etcd's graceful stop; past it
// envtest kills the process. With fastShutdown's flags kube-apiserver
// stops in about a second.
const stopTimeout = 30 * time.Second

// fastShutdown makes kube-apiserver stop in about a second. By default it
// waits up to its request timeout (60 s) for open watches to end, so
// every stop ran into envtest's 20 s stop timeout and ended in a kill.
// The flags:
//
//   - --shutdown-delay-duration=0s: no window for a load balancer to notice
//     (there is none);
//   - --shutdown-watch-termination-grace-period=1s: open watches are ended
//     by the server, so clients see their watch close and re-watch;
//   - --shutdown-send-retry-after=true: until the requests in flight have
//     finished, new ones are answered 429 with Retry-After (client-go
//     retries them), and then the HTTP server gets 2 s to close, not the
//     request timeout.
func fastShutdown(te *envtest.Environment) {
	args := te.ControlPlane.GetAPIServer().Configure()
	args.Set("shutdown-delay-duration", "0s")
	args.Set("shutdown-watch-termination-grace-period", "1s")
	args.Set("shutdown-send-retry-after", "true")
	if os.Getenv("KUBEBUILDER_CONTROLPLANE_STOP_TIMEOUT") == "" {
		te.ControlPlaneStopTimeout = stopTimeout
	}
}

func newEnv(cfg *rest.Config) (*Env, error) {
	e := &Env{Config: cfg, users: map[string]bool{}}
	var errs []error
	var err error
	e.Kube, err = kubernetes.NewForConfig(cfg)
	errs = append(errs, err)
	e.Dynamic, err = dynamic.NewForConfig(cfg)
	errs = append(errs, err)
	e.Routes, err = routeclient.NewForConfig(cfg)
	errs = append(errs, err)
	e.Images, err = imageclient.NewForConfig(cfg)
	errs = append(errs, err)
	e.Builds, err = buildclient.NewForConfig(cfg)
	errs = append(errs, err)
	e.ImageRegistry, err = imageregistryclient.NewForConfig(cfg)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("create clients: %w", err)
	}
	return e, nil
}

// Stop stops kube-apiserver and etcd and removes their data.
func (e *Env) Stop() error {
	if e == nil || e.Testenv == nil {
		return nil
	}
	err := e.Testenv.Stop()
	if e.certDir != "" {
		_ = os.RemoveAll(e.certDir)
	}
	if err != nil {
		return fmt.Errorf("stop kube-apiserver and etcd: %w", err)
	}
	return nil
}

// Main is the whole TestMain of an integration test package: it starts the
// Env, stores it in *env, runs the tests, stops the Env and exits. If the
// Env cannot start (for example, the binaries are not built) it prints why
// and exits 1 without running any test.
func Main(m *testing.M, env **Env) {
	os.Exit(run(m, env))
}

func run(m *testing.M, env **Env) int {
	if !flag.Parsed() {
		flag.Parse() // for testing.Verbose; m.Run would parse them anyway
	}
	start := time.Now()
	e, err := Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: integration harness: %v\n", err)
		return 1
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "harness: kube-apiserver up in %s (assets %s)\n",
			time.Since(start).Round(100*time.Millisecond), e.AssetsDir)
	}
	*env = e
	code := m.Run()
	if err := e.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: integration harness: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// repoRoot walks up from the working directory (a test's package folder)
// to the folder holding hack/testbin.sh.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "hack", "testbin.sh")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("find repository root: no hack/testbin.sh above %s", wd)
		}
	}
}

// assetsDir is $KUBEBUILDER_ASSETS or the folder hack/testbin.sh builds into.
func assetsDir(root string) (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return filepath.Abs(dir)
	}
	version, err := kubernetesVersion(filepath.Join(root, "hack", "testbin", "kube-apiserver", "go.mod"))
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "bin", "k8s", version), nil
}

// kubernetesVersion reads the k8s.io/kubernetes requirement ("v1.37.2")
// from the tools module and returns it without the "v", matching the
// folder name hack/testbin.sh uses.
func kubernetesVersion(goMod string) (string, error) {
	f, err := os.Open(goMod)
	if err != nil {
		return "", fmt.Errorf("read kubernetes version: %w", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) > 0 && fields[0] == "require" {
			fields = fields[1:]
		}
		if len(fields) >= 2 && fields[0] == "k8s.io/kubernetes" {
			return strings.TrimPrefix(fields[1], "v"), nil
		}
	}
	if err := s.Err(); err != nil {
		return "", fmt.Errorf("read kubernetes version from %s: %w", goMod, err)
	}
	return "", fmt.Errorf("read kubernetes version: no k8s.io/kubernetes requirement in %s", goMod)
}

// Counted returns an Env whose clients (Kube, Routes, Images, Builds,
// ImageRegistry, Dynamic) send their requests through a RequestCounter, with
// client-side rate limits raised out of the way (QPS and Burst 1000). The
// server is the same; the returned Env has no Testenv, so start and stop
// only the original.
func (e *Env) Counted(t testing.TB) (*Env, *RequestCounter) {
	t.Helper()
	cfg := rest.CopyConfig(e.Config)
	cfg.QPS, cfg.Burst = 1000, 1000
	cfg, counter := CountRequests(cfg)
	c, err := newEnv(cfg)
	if err != nil {
		t.Fatalf("harness: counted clients: %v", err)
	}
	c.AssetsDir = e.AssetsDir
	return c, counter
}
