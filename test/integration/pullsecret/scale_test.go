package pullsecret_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
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
// Skipped unless REGISTRYKIT_SCALE=1 (it creates 500 namespaces and takes
// about a minute on a shared 2-core machine):
//
//	cd test/integration && REGISTRYKIT_SCALE=1 go test -run TestScaleCopy -v ./pullsecret/
//
// REGISTRYKIT_SCALE_NAMESPACES overrides 500; REGISTRYKIT_SCALE_KUBECTL
// overrides the 50 namespaces the kubectl-pipeline emulation runs on.
func TestScaleCopy(t *testing.T) {
	if os.Getenv("REGISTRYKIT_SCALE") == "" {
		t.Skip("set REGISTRYKIT_SCALE=1 to run the 500-namespace scale test")
	}
	n := envInt(t, "REGISTRYKIT_SCALE_NAMESPACES", 500)
	nKubectl := min(envInt(t, "REGISTRYKIT_SCALE_KUBECTL", 50), n)
	conc := pullsecret.DefaultConcurrency
	ctx := t.Context()

	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = scaleQPS, scaleBurst
	admin, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}

	// The guide's all-icr-io: one entry per ICR domain.
	srcNS := env.Namespace(t)
	icrDomains := []string{"icr.io", "us.icr.io", "uk.icr.io", "de.icr.io", "au.icr.io", "jp.icr.io", "jp2.icr.io", "br.icr.io", "ca.icr.io", "fr2.icr.io", "es.icr.io"}
	c := &dockerconfig.Config{}
	for _, d := range icrDomains {
		c.Set(d, dockerconfig.Entry{Username: "iamapikey", Password: "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH", Email: "iamapikey"})
	}
	data := docBytes(t, c)
	for _, name := range []string{"all-icr-io", "guide-src"} {
		createSecret(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: srcNS}, Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{corev1.DockerConfigJsonKey: data}})
	}

	// 500 namespaces with a label unique to this run. They are left
	// behind (this tier has no namespace controller; the server is
	// discarded after the package).
	runLabel := "scale-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	start := time.Now()
	nss := make([]string, n)
	parallel(n, 16, func(i int) error {
		ns, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			GenerateName: "scale-", Labels: map[string]string{"registrykit.io/scale": runLabel}}}, metav1.CreateOptions{})
		if err == nil {
			nss[i] = ns.Name
		}
		return err
	}, t)
	t.Logf("setup: %d namespaces in %s", n, time.Since(start).Round(time.Millisecond))

	// (a) The physical limit: a plain loop of n client-go Creates, same
	// client settings, same concurrency, same secret.
	start = time.Now()
	parallel(n, conc, func(i int) error {
		_, err := admin.CoreV1().Secrets(nss[i]).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "plain-loop", Namespace: nss[i]}, Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{corev1.DockerConfigJsonKey: data}}, metav1.CreateOptions{})
		return err
	}, t)
	plain := time.Since(start)

	// Copy, first run and rerun, counting requests.
	countedCfg, counter := harness.CountRequests(cfg)
	kube, err := kubernetes.NewForConfig(countedCfg)
	if err != nil {
		t.Fatal(err)
	}
	from := types.NamespacedName{Namespace: srcNS, Name: "all-icr-io"}
	to := pullsecret.Targets{Selector: labels.SelectorFromSet(labels.Set{"registrykit.io/scale": runLabel})}
	type run struct {
		d             time.Duration
		writes, reads int
		counts        string
	}
	var runs []run
	for i := range 2 {
		counter.Reset()
		start = time.Now()
		rep, err := pullsecret.Copy(ctx, kube, from, to, pullsecret.CopyOptions{Concurrency: conc})
		d := time.Since(start)
		if err != nil {
			t.Fatalf("Copy run %d: %v", i+1, err)
		}
		r := run{d: d, writes: writes(counter, "secrets"), reads: reads(counter, "secrets", "namespaces"), counts: rep.String()}
		runs = append(runs, r)
		t.Logf("Copy run %d: %s in %s; requests %v", i+1, r.counts, d.Round(time.Millisecond), counter.Snapshot())
		wantWrites := n
		if i == 1 {
			wantWrites = 0
		}
		if r.writes != wantWrites || r.reads > 3 {
			t.Errorf("Copy run %d: %d writes (want %d), %d reads (want <= 3)", i+1, r.writes, wantWrites, r.reads)
		}
		if len(rep.Outcomes) != n {
			t.Errorf("Copy run %d: %d outcomes, want %d", i+1, len(rep.Outcomes), n)
		}
	}

	// (b) The guide's loop, emulated in-process on nKubectl namespaces (see
	// kubectlPipeline), sequential like the shell loop, then scaled to n.
	start = time.Now()
	for i := range nKubectl {
		if err := kubectlPipeline(ctx, cfg, srcNS, "guide-src", nss[i]); err != nil {
			t.Fatalf("kubectl emulation in %s: %v", nss[i], err)
		}
	}
	pipe := time.Since(start)
	pipeScaled := pipe * time.Duration(n) / time.Duration(nKubectl)
	real170 := 170 * time.Millisecond * time.Duration(n)

	report := fmt.Sprintf(`pullsecret scale: %d namespaces, concurrency %d, client QPS %d / Burst %d
  (a) plain loop of %d client-go Creates:        %8s  (%.0f creates/s)
  Copy, first run:                               %8s  %s, %d writes, %d reads  -> %.2fx of (a)
  Copy, rerun:                                   %8s  %s, %d writes, %d reads
  (b) kubectl get|sed|create, emulated, %3d ns:   %8s  (%.1f ms/namespace)
      scaled to %d namespaces:                  %8s  -> Copy is %.0fx faster
      at the issue's measured ~170 ms/namespace: %8s  -> Copy is %.0fx faster
`,
		n, conc, scaleQPS, scaleBurst,
		n, plain.Round(time.Millisecond), float64(n)/plain.Seconds(),
		runs[0].d.Round(time.Millisecond), runs[0].counts, runs[0].writes, runs[0].reads, runs[0].d.Seconds()/plain.Seconds(),
		runs[1].d.Round(time.Millisecond), runs[1].counts, runs[1].writes, runs[1].reads,
		nKubectl, pipe.Round(time.Millisecond), float64(pipe.Milliseconds())/float64(nKubectl),
		n, pipeScaled.Round(time.Millisecond), pipeScaled.Seconds()/runs[0].d.Seconds(),
		real170.Round(time.Millisecond), real170.Seconds()/runs[0].d.Seconds())
	t.Log("\n" + report)
	fmt.Print(report)
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

// parallel runs fn(0..n-1) with at most conc in flight and fails t on the
// first error.
func parallel(n, conc int, fn func(i int) error, t *testing.T) {
	t.Helper()
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}

func envInt(t *testing.T, key string, def int) int {
	t.Helper()
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", key, v)
	}
	return n
}
