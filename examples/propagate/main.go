// Command propagate keeps a pull secret copied into every selected
// namespace and attached to its service accounts, as the cluster changes:
// propagate.Propagator, the controller form of the guide's "copy the
// all-icr-io secret to other projects" steps. It prints one line per action:
// the action, the object and the reason.
//
//	go run ./examples/propagate                             # embedded, a few seconds
//	KUBECONFIG=~/.kube/config go run ./examples/propagate   # until SIGINT or SIGTERM
//	go run ./examples/propagate --kubeconfig ~/.kube/config --selector team=payments --prune
//
// Flags:
//
//	--source NS/NAME               the secret to copy (default default/all-icr-io)
//	--selector SELECTOR            namespace label selector; empty: every namespace not excluded
//	--exclude GLOB                 repeatable; replaces the default kube-* and openshift-*
//	--service-account NAME         repeatable; default "default"
//	--adopt                        take over same-named pull secrets for the same registries
//	--prune                        delete our copies from namespaces that leave the selection
//	--leader-elect                 reconcile only while holding a Lease (run 2+ replicas)
//	--leader-election-namespace NS the Lease's namespace (default: the source's)
//	--metrics-addr ADDR            /metrics (default :8080; 0 turns it off)
//	--health-addr ADDR             /healthz and /readyz (default :8081; 0 turns it off)
//	-v                             debug logs on stderr
//
// Keyless (refresher mode, propagate.Bearer): the source is not copied from
// an API key secret but written by the controller as an iambearer
// credential holding an IAM access token, renewed at 80% of its lifetime;
// the copies follow. No API key is in any secret.
//
//	--bearer                       refresher mode
//	--api-key-file PATH            the API key the tokens are made from (kept outside the cluster)
//	--trusted-profile ID-or-NAME   or: act as this trusted profile, with
//	--cr-token-file PATH           the controller's compute-resource token
//	--iam-url URL                  IAM endpoint (default https://iam.cloud.ibm.com)
//	--domains D1,D2                registry domains (default every icr.io domain)
//
// Without a cluster configured it runs on an embedded in-memory cluster for
// a few seconds: projects and their service accounts appear over time,
// someone deletes a copy and removes a reference, and every convergence is
// printed; then it exits 0. The endpoints are off there unless their flags
// are given. With a kubeconfig (--kubeconfig or KUBECONFIG) it runs until
// SIGINT or SIGTERM and exits 0. It makes no IBM Cloud call, except with
// --bearer, where it asks IAM for tokens. With --bearer the embedded run
// uses a fake IAM whose tokens live 2 seconds, waits for one renewal and
// reads every secret of the cluster: no API key, no expired token.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/registrykit/registrykit/examples/internal/exampleenv"
	"github.com/registrykit/registrykit/propagate"
	"github.com/registrykit/registrykit/pullsecret"
	"github.com/registrykit/registrykit/registry"
)

func main() { exampleenv.Main("propagate", run) }

// list is a repeatable string flag.
type list struct {
	vals []string
	set  bool
}

func (l *list) String() string { return strings.Join(l.vals, ",") }

func (l *list) Set(v string) error {
	l.vals, l.set = append(l.vals, v), true
	return nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, common := exampleenv.NewFlagSet("propagate", stderr)
	common.KubernetesOnly = true
	source := fs.String("source", registry.DefaultNamespace+"/"+registry.DefaultSecretName, "the secret to copy, NS/NAME")
	selector := fs.String("selector", "", "namespace label selector; empty means every namespace not excluded")
	var exclude, sas list
	fs.Var(&exclude, "exclude", "namespace glob to exclude (repeatable; replaces the default "+strings.Join(pullsecret.DefaultExclude, ", ")+")")
	fs.Var(&sas, "service-account", "service account that gets the copy in its imagePullSecrets (repeatable; default "+propagate.DefaultServiceAccount+")")
	adopt := fs.Bool("adopt", false, "take over same-named pull secrets for the same registries that registrykit did not make")
	prune := fs.Bool("prune", false, "delete our copies from namespaces that leave the selection, and detach them")
	leaderElect := fs.Bool("leader-elect", false, "reconcile only while holding a Lease, so that several replicas can run")
	leNamespace := fs.String("leader-election-namespace", "", "namespace of the Lease (default: the source's namespace)")
	metricsAddr := fs.String("metrics-addr", ":8080", "address of /metrics; 0 turns it off")
	healthAddr := fs.String("health-addr", ":8081", "address of /healthz and /readyz; 0 turns it off")
	var bearer bearerFlags
	bearer.register(fs)
	if err := exampleenv.Parse(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	if err := bearer.validate(explicit); err != nil {
		return err
	}

	ns, name, ok := strings.Cut(*source, "/")
	if !ok {
		return fmt.Errorf("--source %q: want NAMESPACE/NAME", *source)
	}
	rule := propagate.Rule{Source: types.NamespacedName{Namespace: ns, Name: name}, Prune: *prune}
	if *selector != "" {
		sel, err := labels.Parse(*selector)
		if err != nil {
			return fmt.Errorf("--selector %q: %w", *selector, err)
		}
		rule.Selector = sel
	}
	if exclude.set {
		rule.Exclude = exclude.vals
	}
	if sas.set {
		rule.ServiceAccounts = sas.vals
	}
	if *adopt {
		rule.Adoption = pullsecret.AdoptForeign
	}

	// The workers report concurrently with the scenario's own lines.
	stdout = &lockedWriter{w: stdout}
	env, err := exampleenv.Setup(ctx, common, getenv, stdout, stderr, exampleenv.Projects(map[string]string{"team": "payments"}, "team-a")...)
	if err != nil {
		return err
	}
	defer env.Close()
	if env.Embedded {
		// Fixed ports would collide with whatever else runs here; the
		// embedded run serves them only when asked.
		if !explicit["metrics-addr"] {
			*metricsAddr = "0"
		}
		if !explicit["health-addr"] {
			*healthAddr = "0"
		}
		if !bearer.on {
			if err := env.SeedICRSecret(ctx, "c0ffee0example", nil); err != nil {
				return err
			}
		}
	}
	mode := ""
	if bearer.on {
		src, from, done, err := bearer.tokenSource(env)
		defer done()
		if err != nil {
			return err
		}
		rule.Bearer = &propagate.Bearer{TokenSource: src, Domains: bearer.domainList()}
		mode = "\nKeyless: writing " + rule.Source.String() + " as an iambearer credential, tokens from " + from + "\n"
	}

	opts := propagate.Options{
		Rules:       []propagate.Rule{rule},
		MetricsAddr: *metricsAddr,
		HealthAddr:  *healthAddr,
		OnOutcome: func(o propagate.Outcome) {
			reason := o.Result.Reason
			if o.Err != nil {
				reason = o.Err.Error()
			}
			fmt.Fprintf(stdout, "  %-9s %-15s %-40s %s\n", o.Result.Action, strings.ToLower(o.Kind), o.Object(), reason)
		},
	}
	opts.DryRun, opts.Logger = env.DryRun, env.Logger
	if *leaderElect {
		le := *leNamespace
		if le == "" {
			le = ns
		}
		opts.LeaderElection = &propagate.LeaderElection{Namespace: le}
	}
	p, err := propagate.New(env.Cluster.Kube, opts)
	if err != nil {
		return err
	}

	env.Printf("%s", mode)
	env.Printf("\nPropagating %s to %s, attached to service account %s\n", rule.Source, describe(*selector, rule.Exclude), strings.Join(orDefault(sas.vals), ", "))
	if !env.Embedded {
		env.Printf("Running until SIGINT or SIGTERM.\n")
		if err := p.Start(ctx); err != nil {
			return err
		}
		env.Printf("Stopped.\n")
		return nil
	}

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Start(runCtx) }()
	err = scenario(ctx, env, env.Cluster.Kube, p, name)
	if err == nil && bearer.on {
		err = renewal(ctx, env, env.Cluster.Kube, rule)
	}
	stop()
	if startErr := <-done; startErr != nil && err == nil {
		err = startErr
	}
	if err != nil {
		return err
	}
	env.Printf("\nDone: the embedded run stops here; on a cluster it runs until SIGINT or SIGTERM.\n")
	return nil
}

// scenario is what happens to the embedded cluster while the Propagator
// runs: new projects whose service accounts appear a moment later, a copy
// deleted by someone, a reference removed by someone.
func scenario(ctx context.Context, env *exampleenv.Env, kube kubernetes.Interface, p *propagate.Propagator, secret string) error {
	if err := waitReady(ctx, p); err != nil {
		return err
	}
	step := func(d time.Duration, what string, do func(context.Context) error) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
		env.Printf("%s\n", what)
		return do(ctx)
	}
	newNamespace := func(name string, lbls map[string]string) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls},
				Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}, metav1.CreateOptions{})
			return err
		}
	}
	newSA := func(ns string) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default"}}, metav1.CreateOptions{})
			return err
		}
	}
	steps := []struct {
		after time.Duration
		what  string
		do    func(context.Context) error
	}{
		{300 * time.Millisecond, "\n[project team-b created]", newNamespace("team-b", map[string]string{"team": "payments"})},
		{400 * time.Millisecond, "[team-b/default service account created]", newSA("team-b")},
		{300 * time.Millisecond, "[project team-c created]", newNamespace("team-c", map[string]string{"team": "search"})},
		{100 * time.Millisecond, "[project kube-demo created: excluded by default]", newNamespace("kube-demo", nil)},
		{300 * time.Millisecond, "[team-c/default service account created]", newSA("team-c")},
		{300 * time.Millisecond, "[someone deletes team-a/" + secret + "]", func(ctx context.Context) error {
			err := kube.CoreV1().Secrets("team-a").Delete(ctx, secret, metav1.DeleteOptions{})
			if apierrors.IsNotFound(err) {
				return nil // not selected: nothing to delete
			}
			return err
		}},
		{300 * time.Millisecond, "[someone empties team-b/default's imagePullSecrets]", func(ctx context.Context) error {
			sa, err := kube.CoreV1().ServiceAccounts("team-b").Get(ctx, "default", metav1.GetOptions{})
			if err != nil {
				return err
			}
			sa.ImagePullSecrets = nil
			_, err = kube.CoreV1().ServiceAccounts("team-b").Update(ctx, sa, metav1.UpdateOptions{})
			return err
		}},
	}
	for _, s := range steps {
		if err := step(s.after, s.what, s.do); err != nil {
			return err
		}
	}
	select { // let the last changes converge
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(500 * time.Millisecond):
	}
	return nil
}

func waitReady(ctx context.Context, p *propagate.Propagator) error {
	return wait.PollUntilContextCancel(ctx, 10*time.Millisecond, true, func(context.Context) (bool, error) {
		return p.Readyz(nil) == nil, nil
	})
}

func describe(selector string, exclude []string) string {
	if exclude == nil {
		exclude = pullsecret.DefaultExclude
	}
	s := "every namespace"
	if selector != "" {
		s = "namespaces with labels " + selector
	}
	if len(exclude) > 0 {
		s += " except " + strings.Join(exclude, ", ")
	}
	return s
}

func orDefault(sas []string) []string {
	if len(sas) == 0 {
		return []string{propagate.DefaultServiceAccount}
	}
	return sas
}

// lockedWriter serialises writes.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
