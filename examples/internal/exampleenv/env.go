// Package exampleenv is the plumbing shared by the programs under examples/:
// common flags, the choice between a real cluster and IBM Cloud account and
// the embedded in-memory ones, and step-by-step output.
//
// A program that makes no IBM Cloud call (Flags.KubernetesOnly) in a pod
// without a kubeconfig uses the pod's service account.
//
// A program runs against a real cluster and IBM Cloud only when both are
// configured: a kubeconfig (--kubeconfig or KUBECONFIG) and an API key
// (IBMCLOUD_API_KEY, with the account in --account or IBMCLOUD_ACCOUNT_ID).
// With neither, it runs on registrytest's in-memory OpenShift cluster and an
// in-process iamtest server and says so on its first line. With only one of
// them it refuses: writing a fake IAM key into a real cluster, or creating
// real service IDs for a pretend cluster, is never what anyone wants.
package exampleenv

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
	"github.com/registrykit/registrykit/registry"
	"github.com/registrykit/registrykit/registry/registrytest"
)

// Environment variables read by Setup.
const (
	EnvKubeconfig = "KUBECONFIG"
	EnvAPIKey     = "IBMCLOUD_API_KEY"
	EnvAccountID  = "IBMCLOUD_ACCOUNT_ID"
	// EnvServiceHost is set by the kubelet in every pod; without a
	// kubeconfig, a KubernetesOnly program in a pod uses the pod's service
	// account.
	EnvServiceHost = "KUBERNETES_SERVICE_HOST"
)

// Flags are the flags every example takes.
type Flags struct {
	Kubeconfig string
	AccountID  string
	DryRun     bool
	Verbose    bool
	// KubernetesOnly is set by a program (it is not a flag) that makes no
	// IBM Cloud call on a real cluster: a kubeconfig alone then selects the
	// real cluster, IBMCLOUD_API_KEY is not needed, and Env.IAM is nil there.
	KubernetesOnly bool
}

// Register adds the common flags to fs.
func Register(fs *flag.FlagSet) *Flags {
	f := &Flags{}
	fs.StringVar(&f.Kubeconfig, "kubeconfig", "", "path to a kubeconfig (default $KUBECONFIG); without one, an embedded in-memory cluster is used")
	fs.StringVar(&f.AccountID, "account", "", "IBM Cloud account ID (default $IBMCLOUD_ACCOUNT_ID)")
	fs.BoolVar(&f.DryRun, "dry-run", false, "validate and report every step without changing anything (the API server's dry run)")
	fs.BoolVar(&f.Verbose, "v", false, "log debug records to stderr")
	return f
}

// Env is what an example works on.
type Env struct {
	// Embedded is true when Cluster and IAM are the in-memory fakes.
	Embedded bool
	Cluster  *registry.Cluster
	IAM      *iam.Client
	// Fake and IAMServer are set in embedded mode, for examples that want
	// to show the fakes' state (for instance the keys iamtest holds).
	Fake      *registrytest.Cluster
	IAMServer *iamtest.Server
	// APIKey is the caller's own IBM Cloud API key (embedded: the fake
	// account owner's). It is a redacting type.
	APIKey iam.Secret
	DryRun bool
	Logger *slog.Logger
	Out    io.Writer

	closers []func()
}

// ErrHalfConfigured is returned when only one of the cluster and the IBM
// Cloud account is configured.
var ErrHalfConfigured = errors.New("configure both a cluster (--kubeconfig or KUBECONFIG) and IBM Cloud (IBMCLOUD_API_KEY), or neither to use the embedded ones")

// Setup builds the Env. getenv is os.Getenv in a program and a map lookup in
// tests; seed objects are added to the embedded cluster (ignored for a real
// one). In embedded mode it prints the line that says so.
func Setup(ctx context.Context, f *Flags, getenv func(string) string, out, logOut io.Writer, seed ...runtime.Object) (*Env, error) {
	kubeconfig := f.Kubeconfig
	if kubeconfig == "" {
		kubeconfig = getenv(EnvKubeconfig)
	}
	apiKey := getenv(EnvAPIKey)
	account := f.AccountID
	if account == "" {
		account = getenv(EnvAccountID)
	}
	logger := slog.New(slog.DiscardHandler)
	if f.Verbose {
		logger = slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	env := &Env{DryRun: f.DryRun, Logger: logger, Out: out}

	switch {
	case kubeconfig == "" && f.KubernetesOnly && getenv(EnvServiceHost) != "":
		// In a pod: its service account, as client-go's in-cluster config.
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in-cluster config: %w", err)
		}
		cluster, err := registry.NewCluster(cfg)
		if err != nil {
			return nil, err
		}
		env.Cluster = cluster
		env.Printf("Using the cluster this pod runs in, as its service account (this program makes no IBM Cloud call).\n")
		runHook(ctx, env)
		return env, nil
	case kubeconfig == "" && (apiKey == "" || f.KubernetesOnly):
		if err := env.embedded(seed); err != nil {
			return nil, err
		}
		runHook(ctx, env)
		return env, nil
	case kubeconfig == "" || (apiKey == "" && !f.KubernetesOnly):
		return nil, ErrHalfConfigured
	}
	if f.KubernetesOnly {
		cluster, err := realCluster(kubeconfig)
		if err != nil {
			return nil, err
		}
		env.Cluster = cluster
		env.Printf("Using the cluster of %s (this program makes no IBM Cloud call).\n", kubeconfig)
		runHook(ctx, env)
		return env, nil
	}
	if account == "" {
		return nil, fmt.Errorf("IBM Cloud account: set --account or %s", EnvAccountID)
	}
	cluster, err := realCluster(kubeconfig)
	if err != nil {
		return nil, err
	}
	env.APIKey = iam.NewSecret(apiKey)
	client, err := iam.New(iam.Options{APIKey: env.APIKey, AccountID: account, Logger: logger})
	if err != nil {
		return nil, err
	}
	env.Cluster, env.IAM = cluster, client
	env.Printf("Using the cluster of %s and IBM Cloud account %s.\n", kubeconfig, account)
	runHook(ctx, env)
	return env, nil
}

func realCluster(kubeconfig string) (*registry.Cluster, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", kubeconfig, err)
	}
	return registry.NewCluster(cfg)
}

func (e *Env) embedded(seed []runtime.Object) error {
	fake, err := registrytest.NewOpenShiftCluster(seed...)
	if err != nil {
		return err
	}
	srv := iamtest.NewServer()
	e.closers = append(e.closers, srv.Close)
	srv.AddAPIKeyValue(demoOwnerIAMID, DemoCallerAPIKey)
	e.APIKey = iam.NewSecret(DemoCallerAPIKey)
	client, err := iam.New(iam.Options{APIKey: e.APIKey, AccountID: srv.AccountID(), URL: srv.URL(), Logger: e.Logger})
	if err != nil {
		srv.Close()
		return err
	}
	honourDryRun(fake)
	e.Embedded, e.Fake, e.IAMServer = true, fake, srv
	e.Cluster, e.IAM = &fake.Cluster, client
	e.Printf("No cluster or IBM Cloud API key configured: running on an embedded in-memory OpenShift cluster and an in-process fake IBM Cloud IAM.\n")
	return nil
}

// Close releases what Setup started.
func (e *Env) Close() {
	for _, c := range e.closers {
		c()
	}
	e.closers = nil
}

// Printf writes to the example's output.
func (e *Env) Printf(format string, args ...any) {
	fmt.Fprintf(e.Out, format, args...)
}

// Step prints one step and what it did, aligned.
func (e *Env) Step(name, object, action, reason string) {
	line := fmt.Sprintf("  %-34s %-42s %s", name, object, action)
	if reason != "" {
		line += " (" + reason + ")"
	}
	fmt.Fprintln(e.Out, line)
}
