// Package exampletest runs an example program's run function in process,
// in embedded mode, and checks what it printed: the steps in order, and that
// no credential the embedded fakes know of was printed. It is used by the
// examples' tests only.
package exampletest

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/examples/internal/exampleenv"
)

// Main is an example's run function.
type Main func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error

// NoEnv is a getenv with nothing set: the program runs embedded.
func NoEnv(string) string { return "" }

// Getenv returns a getenv that reads m.
func Getenv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// Result is one run of a program.
type Result struct {
	// Stdout and Stderr are what the program wrote.
	Stdout, Stderr string
	// Err is what run returned.
	Err error
	// Env is the environment Setup built (nil if Setup was not reached or
	// failed). Its fakes can be inspected after the run.
	Env *exampleenv.Env

	mu    sync.Mutex
	creds []string
}

// Run runs main with args and getenv and records every credential written
// into a secret of the embedded cluster while it runs.
func Run(t *testing.T, main Main, getenv func(string) string, args ...string) *Result {
	t.Helper()
	r := &Result{}
	ctx := exampleenv.WithSetupHook(t.Context(), r.watch)
	var out, errOut bytes.Buffer
	r.Err = main(ctx, args, getenv, &out, &errOut)
	r.Stdout, r.Stderr = out.String(), errOut.String()
	return r
}

// Embedded runs main embedded (getenv NoEnv) with -v, so that the log
// records are checked for credentials too, and fails the test unless it
// succeeded, said so on its first line, and printed no credential.
func Embedded(t *testing.T, main Main, args ...string) *Result {
	t.Helper()
	r := Run(t, main, NoEnv, append([]string{"-v"}, args...)...)
	if r.Err != nil {
		t.Fatalf("run %v: %v\nstdout:\n%s\nstderr:\n%s", args, r.Err, r.Stdout, r.Stderr)
	}
	if first, _, _ := strings.Cut(r.Stdout, "\n"); !strings.Contains(first, "embedded in-memory") {
		t.Errorf("first line does not say the run is embedded: %q", first)
	}
	r.NoSecrets(t)
	return r
}

// watch is the setup hook: it records the caller's API key and every
// credential in a secret the embedded cluster is asked to write.
func (r *Result) watch(env *exampleenv.Env) {
	r.Env = env
	if !env.Embedded {
		return
	}
	r.add(env.APIKey.Reveal())
	env.Fake.KubeFake.PrependReactor("*", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if o, ok := a.(interface{ GetObject() runtime.Object }); ok {
			if s, ok := o.GetObject().(*corev1.Secret); ok {
				r.addSecret(s)
			}
		}
		return false, nil, nil
	})
}

func (r *Result) add(vs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range vs {
		if len(v) >= 6 {
			r.creds = append(r.creds, v)
		}
	}
}

func (r *Result) addSecret(s *corev1.Secret) {
	cfg, err := dockerconfig.ParseSecret(string(s.Type), s.Data)
	if err != nil {
		return
	}
	for server, e := range cfg.Auths {
		r.add(e.Auth, e.IdentityToken, e.RegistryToken)
		// registrytest's global pull secret has the placeholder password
		// "<registry>" for each registry, which output names by design.
		if e.Password != server {
			r.add(e.Password)
		}
		if e.Password != "" {
			r.add(base64.StdEncoding.EncodeToString([]byte(e.Username + ":" + e.Password)))
		}
	}
}

// Credentials returns every credential the run is known to have handled:
// the caller's API key, each password and auth value written into a secret,
// each secret the cluster holds now, and each access token iamtest issued.
func (r *Result) Credentials(t *testing.T) []string {
	t.Helper()
	if r.Env != nil && r.Env.Embedded {
		list, err := r.Env.Cluster.Kube.CoreV1().Secrets("").List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatalf("list secrets: %v", err)
		}
		for i := range list.Items {
			r.addSecret(&list.Items[i])
		}
		r.add(r.Env.IAMServer.IssuedTokens()...)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.creds...)
}

// NoSecrets fails the test if stdout, stderr or the returned error holds a
// credential of Credentials, or the base64 form of an "iamapikey:" auth.
func (r *Result) NoSecrets(t *testing.T) {
	t.Helper()
	all := r.Stdout + r.Stderr
	if r.Err != nil {
		all += r.Err.Error()
	}
	creds := r.Credentials(t)
	if r.Env != nil && r.Env.Embedded && len(creds) < 2 {
		t.Errorf("only %d credentials recorded: the leak check would prove nothing", len(creds))
	}
	for _, c := range creds {
		if strings.Contains(all, c) {
			t.Errorf("output contains a credential (%d characters)", len(c))
		}
	}
	if strings.Contains(all, base64.StdEncoding.EncodeToString([]byte("iamapikey:"))[:12]) {
		t.Error(`output contains base64("iamapikey:")`)
	}
}

// Steps fails the test unless each of want is found in a line of stdout,
// in order (each after the line that matched the previous one).
func (r *Result) Steps(t *testing.T, want ...string) {
	t.Helper()
	lines := strings.Split(r.Stdout, "\n")
	i := 0
	for _, w := range want {
		found := false
		for ; i < len(lines); i++ {
			if strings.Contains(lines[i], w) {
				found = true
				i++
				break
			}
		}
		if !found {
			t.Errorf("no line containing %q after the previous step; output:\n%s", w, r.Stdout)
			return
		}
	}
}

// Lacks fails the test if stdout contains any of s.
func (r *Result) Lacks(t *testing.T, s ...string) {
	t.Helper()
	for _, x := range s {
		if strings.Contains(r.Stdout, x) {
			t.Errorf("output contains %q:\n%s", x, r.Stdout)
		}
	}
}

// Kubeconfig writes a kubeconfig for a server that does not exist
// (https://127.0.0.1:1) and returns its path: enough for Setup to choose a
// real cluster, for tests of what a program refuses before its first call.
func Kubeconfig(t *testing.T) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["nowhere"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1"}
	cfg.AuthInfos["nobody"] = &clientcmdapi.AuthInfo{}
	cfg.Contexts["nowhere"] = &clientcmdapi.Context{Cluster: "nowhere", AuthInfo: "nobody"}
	cfg.CurrentContext = "nowhere"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}
