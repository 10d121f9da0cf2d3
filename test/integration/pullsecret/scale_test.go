package pullsecret_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/pullsecret"
	"github.com/registrykit/registrykit/test/integration/harness"
)

// Scale test settings. The client rate limit is lifted (QPS 1000, Burst
// 1000) for Copy and for the plain loop alike, so that the API server is
// the limit being compared; with client-go's default 5 QPS / 10 burst, 500
// creates would take ~100 s whatever the code does.
const (
	scaleQPS   = 1000
	scaleBurst = 1000
)

// TestScaleCopy copies a pull secret to 500 namespaces on the real API
// server and prints figures; it asserts request counts, never timings.
// Skipped unless REGISTRYKIT_SCALE=1 (it creates 500 namespaces and 2000
// secrets; well under a minute on a shared 2-core machine):
//
//	cd test/integration && REGISTRYKIT_SCALE=1 go test -run TestScaleCopy -v ./pullsecret/
//
// REGISTRYKIT_SCALE_NAMESPACES overrides 500; REGISTRYKIT_SCALE_KUBECTL
// overrides the 50 namespaces the guide's loop runs on. With
// REGISTRYKIT_KUBECTL=/path/to/kubectl the guide's loop also runs for real
// (sh, sed and that kubectl); without it, only the in-process emulation
// runs.
//
// The plain loop (a) and Copy's first run are measured twice, in
// alternating order, into fresh secret names; the best of each is compared.
func TestScaleCopy(t *testing.T) {
	if os.Getenv("REGISTRYKIT_SCALE") == "" {
		t.Skip("set REGISTRYKIT_SCALE=1 to run the 500-namespace scale test")
	}
	n := harness.EnvInt(t, "REGISTRYKIT_SCALE_NAMESPACES", 500)
	nKubectl := min(harness.EnvInt(t, "REGISTRYKIT_SCALE_KUBECTL", 50), n)
	conc := pullsecret.DefaultConcurrency
	ctx := t.Context()

	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = scaleQPS, scaleBurst
	admin, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}

	// The guide's all-icr-io in "default": one entry per ICR domain.
	const srcNS = "default"
	env.NamespaceNamed(t, srcNS)
	icrDomains := []string{"icr.io", "us.icr.io", "uk.icr.io", "de.icr.io", "au.icr.io", "jp.icr.io", "jp2.icr.io", "br.icr.io", "ca.icr.io", "fr2.icr.io", "es.icr.io"}
	c := &dockerconfig.Config{}
	for _, d := range icrDomains {
		c.Set(d, dockerconfig.Entry{Username: "iamapikey", Password: "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH", Email: "iamapikey"})
	}
	data := docBytes(t, c)
	runID := strconv.FormatInt(time.Now().UnixNano(), 36)
	srcName := "scale-src-" + runID
	createSecret(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: srcName, Namespace: srcNS}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: data}})

	// n namespaces with a label unique to this run. They are left behind
	// (no namespace controller in this tier; the server is discarded after
	// the package).
	start := time.Now()
	nss := make([]string, n)
	harness.Parallel(t, n, 16, func(i int) error {
		ns, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			GenerateName: "scale-", Labels: map[string]string{"registrykit.io/scale": runID}}}, metav1.CreateOptions{})
		if err == nil {
			nss[i] = ns.Name
		}
		return err
	})
	t.Logf("setup: %d namespaces in %s", n, time.Since(start).Round(time.Millisecond))

	countedCfg, counter := harness.CountRequests(cfg)
	kube, err := kubernetes.NewForConfig(countedCfg)
	if err != nil {
		t.Fatal(err)
	}
	from := types.NamespacedName{Namespace: srcNS, Name: srcName}
	to := pullsecret.Targets{Selector: labels.SelectorFromSet(labels.Set{"registrykit.io/scale": runID})}

	// (a) the physical limit: a plain loop of n client-go Creates, same
	// client settings, same concurrency, same secret.
	plainLoop := func(name string) time.Duration {
		start := time.Now()
		harness.Parallel(t, n, conc, func(i int) error {
			_, err := admin.CoreV1().Secrets(nss[i]).Create(ctx, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: nss[i]}, Type: corev1.SecretTypeDockerConfigJson,
				Data: map[string][]byte{corev1.DockerConfigJsonKey: data}}, metav1.CreateOptions{})
			return err
		})
		return time.Since(start)
	}
	type copyRun struct {
		d             time.Duration
		writes, reads int
		counts        string
	}
	copyOnce := func(label, name string, wantWrites int) copyRun {
		counter.Reset()
		start := time.Now()
		rep, err := pullsecret.Copy(ctx, kube, from, to, pullsecret.CopyOptions{Name: name, Concurrency: conc})
		d := time.Since(start)
		if err != nil {
			t.Fatalf("Copy %s: %v", label, err)
		}
		r := copyRun{d: d, writes: writes(counter, "secrets"), reads: reads(counter, "secrets", "namespaces"), counts: rep.String()}
		t.Logf("Copy %s: %s in %s; requests %v", label, r.counts, d.Round(time.Millisecond), counter.Snapshot())
		if r.writes != wantWrites || r.reads > 3 || len(rep.Outcomes) != n {
			t.Errorf("Copy %s: %d writes (want %d), %d reads (want <= 3), %d outcomes (want %d)", label, r.writes, wantWrites, r.reads, len(rep.Outcomes), n)
		}
		return r
	}

	var plains []time.Duration
	var firsts []copyRun
	for round := range 2 {
		copyName := fmt.Sprintf("all-icr-io-%d", round)
		if round%2 == 0 {
			plains = append(plains, plainLoop(fmt.Sprintf("plain-loop-%d", round)))
			firsts = append(firsts, copyOnce(fmt.Sprintf("first run #%d", round+1), copyName, n))
		} else {
			firsts = append(firsts, copyOnce(fmt.Sprintf("first run #%d", round+1), copyName, n))
			plains = append(plains, plainLoop(fmt.Sprintf("plain-loop-%d", round)))
		}
	}
	rerun := copyOnce("rerun", "all-icr-io-0", 0)
	plain := slices.Min(plains)
	first := slices.MinFunc(firsts, func(a, b copyRun) int { return cmp.Compare(a.d, b.d) })

	// (b) the guide's loop on nKubectl namespaces, sequential like the
	// shell loop, scaled to n.
	start = time.Now()
	for i := range nKubectl {
		if err := kubectlPipeline(ctx, cfg, srcNS, srcName, nss[i]); err != nil {
			t.Fatalf("kubectl emulation in %s: %v", nss[i], err)
		}
	}
	emu := time.Since(start)
	emuScaled := emu * time.Duration(n) / time.Duration(nKubectl)
	realLine := "  (b) real kubectl: not run (set REGISTRYKIT_KUBECTL=/path/to/kubectl)\n"
	if kubectl := os.Getenv("REGISTRYKIT_KUBECTL"); kubectl != "" {
		d := realKubectlLoop(t, kubectl, srcName, nss[n-nKubectl:])
		scaled := d * time.Duration(n) / time.Duration(nKubectl)
		realLine = fmt.Sprintf("  (b) real kubectl|sed|kubectl, %3d ns    %8s  %.1f ms/namespace; x%d = %s -> Copy %.0fx faster\n",
			nKubectl, d.Round(time.Millisecond), float64(d.Microseconds())/1000/float64(nKubectl),
			n/nKubectl, scaled.Round(time.Millisecond), scaled.Seconds()/first.d.Seconds())
	}

	report := fmt.Sprintf("pullsecret scale: %d namespaces, concurrency %d, client QPS %d / Burst %d\n", n, conc, scaleQPS, scaleBurst) +
		fmt.Sprintf("  (a) plain loop of %d client-go Creates   %8s  best of %v, %.0f creates/s\n",
			n, plain.Round(time.Millisecond), roundAll(plains), float64(n)/plain.Seconds()) +
		fmt.Sprintf("  Copy, first run                         %8s  best of %v, %s, %d writes, %d reads -> %.2fx of (a)\n",
			first.d.Round(time.Millisecond), roundAll(durations(firsts, func(r copyRun) time.Duration { return r.d })),
			first.counts, first.writes, first.reads, first.d.Seconds()/plain.Seconds()) +
		fmt.Sprintf("  Copy, rerun                             %8s  %s, %d writes, %d reads\n",
			rerun.d.Round(time.Millisecond), rerun.counts, rerun.writes, rerun.reads) +
		realLine +
		fmt.Sprintf("  (b) in-process emulation, %3d ns        %8s  %.1f ms/namespace; x%d = %s -> Copy %.0fx faster (lower bound: no process start-up)\n",
			nKubectl, emu.Round(time.Millisecond), float64(emu.Microseconds())/1000/float64(nKubectl),
			n/nKubectl, emuScaled.Round(time.Millisecond), emuScaled.Seconds()/first.d.Seconds())
	t.Log("\n" + report)
	fmt.Print(report)
}

func durations[T any](xs []T, f func(T) time.Duration) []time.Duration {
	out := make([]time.Duration, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

// realKubectlLoop runs the guide's loop with a real kubectl binary, one
// shell pipeline per namespace, sequentially:
//
//	kubectl get secret <name> -n default -o yaml | sed 's/default/<ns>/g' | kubectl create -f -
//
// with a kubeconfig for the test server and a discovery cache that is warmed
// first (as it would be after a user's first kubectl call).
func realKubectlLoop(t *testing.T, kubectl, name string, nss []string) time.Duration {
	t.Helper()
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	cc := clientcmdapi.NewConfig()
	cc.Clusters["test"] = &clientcmdapi.Cluster{Server: env.Config.Host, CertificateAuthorityData: env.Config.CAData}
	cc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: env.Config.CertData, ClientKeyData: env.Config.KeyData, Token: env.Config.BearerToken}
	cc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "admin"}
	cc.CurrentContext = "test"
	if err := clientcmd.WriteToFile(*cc, kubeconfig); err != nil {
		t.Fatal(err)
	}
	sh := func(script string) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), "sh", "-c", script)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "HOME="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", script, err, out)
		}
	}
	sh(fmt.Sprintf("%q api-resources >/dev/null", kubectl)) // warm the discovery cache
	start := time.Now()
	for _, ns := range nss {
		sh(fmt.Sprintf("%[1]q get secret %[2]s -n default -o yaml | sed 's/default/%[3]s/g' | %[1]q create -f - >/dev/null", kubectl, name, ns))
	}
	return time.Since(start)
}

// kubectlPipeline emulates, in-process, one iteration of the guide's
//
//	kubectl get secret <name> -n <src> -o yaml | sed "s/<src>/<ns>/g" | kubectl create -n <ns> -f -
//
// Each kubectl is a new process with a new connection: here each step gets
// a new client whose transport is not shared (a custom Dial disables
// client-go's transport cache), so each pays a TCP+TLS handshake. Step 1
// GETs the secret as JSON and renders YAML as `-o yaml` does; sed is a byte
// replacement over the whole document; step 2 parses the YAML, clears
// resourceVersion as kubectl's resource.Helper does, and POSTs it.
//
// Not emulated: process start-up, kubeconfig loading and the discovery
// cache read that every real kubectl does. The emulation is therefore a
// lower bound on the real pipeline's cost, and a ratio against it
// understates how much faster Copy is.
func kubectlPipeline(ctx context.Context, base *rest.Config, srcNS, name, ns string) error {
	newProcessClient := func() (*kubernetes.Clientset, error) {
		c := rest.CopyConfig(base)
		c.QPS, c.Burst = 5, 10 // kubectl's defaults; irrelevant for two requests
		c.Dial = (&net.Dialer{Timeout: 30 * time.Second}).DialContext
		return kubernetes.NewForConfig(c)
	}
	get, err := newProcessClient()
	if err != nil {
		return err
	}
	raw, err := get.CoreV1().RESTClient().Get().Namespace(srcNS).Resource("secrets").Name(name).DoRaw(ctx)
	if err != nil {
		return err
	}
	out, err := yaml.JSONToYAML(raw)
	if err != nil {
		return err
	}
	get.CoreV1().RESTClient().(*rest.RESTClient).Client.CloseIdleConnections()

	out = bytes.ReplaceAll(out, []byte(srcNS), []byte(ns)) // sed s/<src>/<ns>/g

	create, err := newProcessClient()
	if err != nil {
		return err
	}
	js, err := yaml.YAMLToJSON(out)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(js); err != nil {
		return err
	}
	u.SetResourceVersion("")
	body, err := u.MarshalJSON()
	if err != nil {
		return err
	}
	_, err = create.CoreV1().RESTClient().Post().Namespace(ns).Resource("secrets").Body(body).DoRaw(ctx)
	create.CoreV1().RESTClient().(*rest.RESTClient).Client.CloseIdleConnections()
	return err
}
