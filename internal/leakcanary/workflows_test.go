package leakcanary_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	buildv1 "github.com/openshift/api/build/v1"
	imagev1 "github.com/openshift/api/image/v1"
	routev1 "github.com/openshift/api/route/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
	"github.com/registrykit/registrykit/icr"
	"github.com/registrykit/registrykit/imagestream"
	"github.com/registrykit/registrykit/pullsecret"
	"github.com/registrykit/registrykit/registry"
	"github.com/registrykit/registrykit/registry/registrytest"
)

// The sentinels planted in process. Letters, digits and '-' only, so that
// every escaping (%q, JSON) leaves them as they are.
const (
	sentinelCallerKey   = "LEAKCANARY-caller-apikey-4e7a1c9d2b8f"
	sentinelEntitlement = "LEAKCANARY-entitlement-key-5f3a8e1c6d0b"
	sentinelPassword    = "LEAKCANARY-registry-password-2c9b7e4d1a3f"
	sentinelSAToken     = "LEAKCANARY-service-account-token-8a4f1d6e"
	sentinelPlantedKey  = "LEAKCANARY-planted-apikey-6b2d9f0e3c7a"
	// sentinelDigits is a password of digits only, which a JSON decoder
	// may quote in an error when it is written as a number.
	sentinelDigits = "918273645546372819"
)

const ownerIAMID = "IBMid-100000LEAK"

// inProcessNeedles are what no in-process output may contain.
func inProcessNeedles() []needle {
	return []needle{
		{"caller API key", sentinelCallerKey},
		{"entitlement key", sentinelEntitlement},
		{"registry password", sentinelPassword},
		{"service account token", sentinelSAToken},
		{"planted API key", sentinelPlantedKey},
		{"numeric password", sentinelDigits},
		{"iamtest-minted API key (iamtest.KeyPrefix)", iamtest.KeyPrefix},
		{"iamtest refresh token (iamtest.RefreshTokenPrefix)", iamtest.RefreshTokenPrefix},
	}
}

// world is one fake cluster and IAM, with every log going to a corpus.
type world struct {
	t       *testing.T
	c       *corpus
	srv     *iamtest.Server
	iam     *iam.Client
	fake    *registrytest.Cluster
	cluster *registry.Cluster
	logger  *slog.Logger
}

var canaryNamespaces = []string{"team-a", "team-b"}

// newWorld is an OpenShift-like fake cluster (registrytest) with projects
// team-a and team-b (label team=canary) and a build config, whose
// generated dockercfg secret holds sentinelSAToken, and an iamtest server
// whose account owner's key is sentinelCallerKey. The IAM client does not
// retry, so every injected fault surfaces.
func newWorld(t *testing.T, c *corpus, where string) *world {
	t.Helper()
	var objs []runtime.Object
	for _, ns := range canaryNamespaces {
		objs = append(objs,
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"kubernetes.io/metadata.name": ns, "team": "canary"}},
				Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default"}},
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "builder"}})
	}
	objs = append(objs, &buildv1.BuildConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "app"},
		Spec: buildv1.BuildConfigSpec{CommonSpec: buildv1.CommonSpec{
			Strategy: buildv1.BuildStrategy{Type: buildv1.DockerBuildStrategyType, DockerStrategy: &buildv1.DockerBuildStrategy{}},
			Output:   buildv1.BuildOutput{To: &corev1.ObjectReference{Kind: "DockerImage", Name: "us.icr.io/team/app:latest"}},
		}},
	})
	fake, err := registrytest.NewOpenShiftCluster(objs...)
	if err != nil {
		t.Fatal(err)
	}
	plantServiceAccountToken(t, fake)
	admitRoutes(fake)
	importImages(fake)

	srv := iamtest.NewServer()
	t.Cleanup(srv.Close)
	srv.AddAPIKeyValue(ownerIAMID, sentinelCallerKey)
	logger := newCaptureLogger(c, where)
	client, err := iam.New(iam.Options{
		APIKey: iam.NewSecret(sentinelCallerKey), AccountID: srv.AccountID(), URL: srv.URL(),
		Retries: -1, HTTPClient: srv.Client(), Logger: logger,
	})
	c.note(where+" iam.New", client, err)
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, c: c, srv: srv, iam: client, fake: fake, cluster: &fake.Cluster, logger: logger}
}

// plantServiceAccountToken replaces the token of default's generated
// dockercfg secret with sentinelSAToken.
func plantServiceAccountToken(t *testing.T, fake *registrytest.Cluster) {
	t.Helper()
	ctx := context.Background()
	s, err := fake.Kube.CoreV1().Secrets("default").Get(ctx, registrytest.DefaultDockercfgSecret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := dockerconfig.ParseSecret(string(s.Type), s.Data)
	if err != nil {
		t.Fatal(err)
	}
	for _, server := range cfg.Servers() {
		e, _ := cfg.Get(server)
		e.Password = sentinelSAToken
		cfg.Set(server, e)
	}
	if s.Data[corev1.DockerConfigKey], err = cfg.MarshalLegacy(); err != nil {
		t.Fatal(err)
	}
	if _, err := fake.Kube.CoreV1().Secrets("default").Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// admitRoutes makes the route fake behave like a router that admits every
// route.
func admitRoutes(c *registrytest.Cluster) {
	admit := func(a k8stesting.Action) (bool, runtime.Object, error) {
		if o, ok := a.(interface{ GetObject() runtime.Object }); ok {
			if r, ok := o.GetObject().(*routev1.Route); ok {
				host := r.Spec.Host
				if host == "" {
					host = r.Name + "-" + r.Namespace + ".apps.canary.example.com"
				}
				r.Status.Ingress = []routev1.RouteIngress{{Host: host, RouterName: "default",
					Conditions: []routev1.RouteIngressCondition{{Type: routev1.RouteAdmitted, Status: corev1.ConditionTrue}}}}
			}
		}
		return false, nil, nil
	}
	c.RoutesFake.PrependReactor("create", "routes", admit)
	c.RoutesFake.PrependReactor("update", "routes", admit)
}

// importImages makes the image fake import every tag at once.
func importImages(c *registrytest.Cluster) {
	const digest = "sha256:3333333333333333333333333333333333333333333333333333333333333333"
	imported := func(a k8stesting.Action) (bool, runtime.Object, error) {
		if o, ok := a.(interface{ GetObject() runtime.Object }); ok {
			if is, ok := o.GetObject().(*imagev1.ImageStream); ok {
				is.Status.Tags = nil
				for i := range is.Spec.Tags {
					g := int64(1)
					is.Spec.Tags[i].Generation = &g
					is.Status.Tags = append(is.Status.Tags, imagev1.NamedTagEventList{Tag: is.Spec.Tags[i].Name,
						Items: []imagev1.TagEvent{{Image: digest, Generation: 1, DockerImageReference: "us.icr.io/team/app@" + digest}}})
				}
			}
		}
		return false, nil, nil
	}
	c.ImagesFake.PrependReactor("create", "imagestreams", imported)
	c.ImagesFake.PrependReactor("update", "imagestreams", imported)
}

// fakes are the world's clientset fakes by name, for fault injection.
func (w *world) fakes() map[string]*k8stesting.Fake {
	return map[string]*k8stesting.Fake{
		"kube":     &w.fake.KubeFake.Fake,
		"routes":   &w.fake.RoutesFake.Fake,
		"images":   &w.fake.ImagesFake.Fake,
		"builds":   &w.fake.BuildsFake.Fake,
		"operator": &w.fake.OperatorFake.Fake,
	}
}

// kubeCall is one kind of request a workflow sends to a fake clientset.
type kubeCall struct{ fake, verb, resource string }

// calls returns the kinds of requests the fakes recorded.
func (w *world) calls() []kubeCall {
	var out []kubeCall
	for name, f := range w.fakes() {
		for _, a := range f.Actions() {
			c := kubeCall{name, a.GetVerb(), a.GetResource().Resource}
			if c.verb != "watch" && !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	slices.SortFunc(out, func(a, b kubeCall) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	return out
}

func (w *world) clearActions() {
	for _, f := range w.fakes() {
		f.ClearActions()
	}
}

// failFirst makes the first request of kind k after now fail with an
// Internal error.
func (w *world) failFirst(k kubeCall) {
	var seen atomic.Int32
	w.fakes()[k.fake].PrependReactor(k.verb, k.resource, func(k8stesting.Action) (bool, runtime.Object, error) {
		if seen.Add(1) == 1 {
			return true, nil, apierrors.NewInternalError(errors.New("injected failure"))
		}
		return false, nil, nil
	})
}

// iamOps are every operation iamtest serves.
var iamOps = []string{
	iamtest.OpGetToken, iamtest.OpListServiceIDs, iamtest.OpCreateServiceID, iamtest.OpGetServiceID,
	iamtest.OpDeleteServiceID, iamtest.OpListAPIKeys, iamtest.OpCreateAPIKey, iamtest.OpGetAPIKey,
	iamtest.OpGetAPIKeysDetails, iamtest.OpDeleteAPIKey, iamtest.OpListPolicies, iamtest.OpCreatePolicy,
	iamtest.OpGetPolicy, iamtest.OpDeletePolicy, iamtest.OpListRoles,
	iamtest.OpListV2Policies, iamtest.OpGetV2Policy, iamtest.OpDeleteV2Policy,
}

func (w *world) iamCalls() map[string]int {
	m := map[string]int{}
	for _, op := range iamOps {
		m[op] = w.srv.Calls(op)
	}
	return m
}

// secretValues returns every password, auth and token in every secret of
// the world's cluster: the credentials the run handled.
func (w *world) secretValues() []string {
	list, err := w.cluster.Kube.CoreV1().Secrets("").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, s := range list.Items {
		cfg, err := dockerconfig.ParseSecret(string(s.Type), s.Data)
		if err != nil {
			continue
		}
		for _, e := range cfg.Auths {
			out = append(out, e.Password, e.Auth, e.IdentityToken, e.RegistryToken)
		}
	}
	return out
}

// holds reports whether some secret of the cluster holds a credential
// starting with prefix: proof that a scenario really handled it.
func (w *world) holds(prefix string) bool {
	return slices.ContainsFunc(w.secretValues(), func(v string) bool { return strings.HasPrefix(v, prefix) })
}

// workflow is one registry workflow as the canary drives it.
type workflow struct {
	name string
	// prepare brings the world to where the workflow applies (for
	// instance a pull secret to copy); its output is scanned too.
	prepare func(ctx context.Context, w *world)
	// run runs the workflow and notes what it returned.
	run func(ctx context.Context, w *world, dryRun bool) error
	// handles is the prefix of a credential the clean run must leave in
	// some secret (proof that the credential passed through).
	handles string
}

func noteReport(w *world, where string, rep registry.Report, err error, extra ...any) error {
	w.c.note(where, append([]any{rep, rep.String(), rep.Failed(), rep.Err(), rep.Counts(), err}, extra...)...)
	return err
}

// applyFirst runs ApplyClusterPullSecret for cluster c1: the pull secret
// other workflows start from.
func applyFirst(ctx context.Context, w *world) {
	rep, err := registry.ApplyClusterPullSecret(ctx, w.cluster, w.iam, registry.ApplyOptions{ClusterID: "c1", WriteOptions: registrykit.WriteOptions{Logger: w.logger}})
	if noteReport(w, "prepare apply", rep, err) != nil {
		w.t.Fatalf("prepare: apply: %v", err)
	}
}

// plantKeyToRotate applies the cluster pull secret, then makes
// sentinelPlantedKey (a key of the service ID) the key of default/all-icr-io
// and of its copies in team-a and team-b, as an older run would have left it.
func plantKeyToRotate(ctx context.Context, w *world) {
	applyFirst(ctx, w)
	var iamID string
	for _, s := range w.srv.ServiceIDs() {
		if s.Name == registry.ServiceIDName("c1") {
			iamID = s.IAMID
		}
	}
	w.srv.AddAPIKeyValue(iamID, sentinelPlantedKey)
	cfg, err := icr.APIKeyConfig(sentinelPlantedKey, nil)
	w.c.note("prepare APIKeyConfig", cfg, err)
	if err != nil {
		w.t.Fatal(err)
	}
	data, err := cfg.Marshal()
	if err != nil {
		w.t.Fatal(err)
	}
	s, err := w.cluster.Kube.CoreV1().Secrets("default").Get(ctx, registry.DefaultSecretName, metav1.GetOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	s.Data = map[string][]byte{corev1.DockerConfigJsonKey: data}
	if _, err := w.cluster.Kube.CoreV1().Secrets("default").Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		w.t.Fatal(err)
	}
	rep, err := registry.CopyICRSecret(ctx, w.cluster, registry.CopyICROptions{Targets: pullsecret.Targets{Namespaces: canaryNamespaces}, WriteOptions: registrykit.WriteOptions{Logger: w.logger}})
	if noteReport(w, "prepare copy", rep, err) != nil {
		w.t.Fatalf("prepare: copy: %v", err)
	}
}

func workflows() []workflow {
	return []workflow{
		{
			name:    "ApplyClusterPullSecret",
			handles: iamtest.KeyPrefix,
			run: func(ctx context.Context, w *world, dry bool) error {
				opts := registry.ApplyOptions{ClusterID: "c1", WriteOptions: registrykit.WriteOptions{DryRun: dry, Logger: w.logger}}
				rep, err := registry.ApplyClusterPullSecret(ctx, w.cluster, w.iam, opts)
				noteReport(w, "apply", rep, err, opts)
				if err == nil && !dry { // the rerun reuses the key
					rep, err = registry.ApplyClusterPullSecret(ctx, w.cluster, w.iam, opts)
					noteReport(w, "apply rerun", rep, err)
				}
				return err
			},
		},
		{
			name:    "ProjectCredentials",
			handles: iamtest.KeyPrefix,
			run: func(ctx context.Context, w *world, dry bool) error {
				opts := registry.ProjectOptions{ClusterName: "prod", Project: "team-a", Role: iam.Writer,
					Regions: []string{"us-south", "global"}, RegistryNamespace: "team-a-images", WriteOptions: registrykit.WriteOptions{DryRun: dry, Logger: w.logger}}
				rep, err := registry.ProjectCredentials(ctx, w.cluster, w.iam, opts)
				return noteReport(w, "project", rep, err, opts)
			},
		},
		{
			name:    "BuildPushSecret",
			handles: iamtest.KeyPrefix,
			run: func(ctx context.Context, w *world, dry bool) error {
				opts := registry.BuildPushOptions{ClusterName: "prod", Project: "team-a", BuildConfig: "app",
					Regions: []string{"us-south"}, Pull: true, WriteOptions: registrykit.WriteOptions{DryRun: dry, Logger: w.logger}}
				rep, err := registry.BuildPushSecret(ctx, w.cluster, w.iam, opts)
				return noteReport(w, "build push", rep, err, opts)
			},
		},
		{
			name:    "CopyICRSecret",
			prepare: applyFirst,
			handles: iamtest.KeyPrefix,
			run: func(ctx context.Context, w *world, dry bool) error {
				sel, _ := labels.Parse("team=canary")
				opts := registry.CopyICROptions{Targets: pullsecret.Targets{Selector: sel}, Adoption: pullsecret.OverwriteForeign, WriteOptions: registrykit.WriteOptions{DryRun: dry, Logger: w.logger}}
				rep, err := registry.CopyICRSecret(ctx, w.cluster, opts)
				return noteReport(w, "copy", rep, err, opts)
			},
		},
		{
			name:    "EntitledRegistry",
			handles: sentinelEntitlement,
			run: func(ctx context.Context, w *world, dry bool) error {
				key := iam.NewSecret(sentinelEntitlement)
				opts := registry.EntitledOptions{Namespace: "team-a", WriteOptions: registrykit.WriteOptions{DryRun: dry, Logger: w.logger}}
				rep, err := registry.EntitledRegistry(ctx, w.cluster, key, opts)
				return noteReport(w, "entitled", rep, err, opts, key)
			},
		},
		{
			name:    "ExposeInternalRegistry",
			handles: sentinelSAToken,
			run: func(ctx context.Context, w *world, dry bool) error {
				opts := registry.ExposeInternalOptions{Hostname: "registry.apps.canary.example.com",
					Projects: []string{"default"}, WriteOptions: registrykit.WriteOptions{DryRun: dry, Logger: w.logger}}
				host, rep, err := registry.ExposeInternalRegistry(ctx, w.cluster, opts)
				return noteReport(w, "expose", rep, err, opts, host)
			},
		},
		{
			name: "ImportImage",
			run: func(ctx context.Context, w *world, dry bool) error {
				dest := imagestream.Ref{Namespace: "team-a", Stream: "app", Tag: "1"}
				opts := registry.ImportOptions{ReferencePolicy: imagestream.LocalPolicy, WriteOptions: registrykit.WriteOptions{DryRun: dry, Logger: w.logger}}
				digest, rep, err := registry.ImportImage(ctx, w.cluster, "us.icr.io/team/app:1", dest, opts)
				return noteReport(w, "import", rep, err, opts, digest, dest)
			},
		},
		{
			name:    "RotateAPIKey",
			prepare: plantKeyToRotate,
			handles: iamtest.KeyPrefix,
			run: func(ctx context.Context, w *world, dry bool) error {
				opts := registry.RotateOptions{ClusterID: "c1", WriteOptions: registrykit.WriteOptions{DryRun: dry, Logger: w.logger}}
				rep, err := registry.RotateAPIKey(ctx, w.cluster, w.iam, opts)
				return noteReport(w, "rotate", rep, err, opts)
			},
		},
		{
			// Teardown reads every pull secret (the planted key among them)
			// and asks IAM about each key before it deletes anything.
			name:    "RemoveClusterPullSecret",
			prepare: plantKeyToRotate,
			run: func(ctx context.Context, w *world, dry bool) error {
				opts := registry.RemoveOptions{ClusterID: "c1", DeleteUnmarkedKeys: true, WriteOptions: registrykit.WriteOptions{DryRun: dry, Logger: w.logger}}
				rep, err := registry.RemoveClusterPullSecret(ctx, w.cluster, w.iam, opts)
				return noteReport(w, "remove", rep, err, opts)
			},
		},
		{
			name: "RemoveProjectCredentials",
			prepare: func(ctx context.Context, w *world) {
				rep, err := registry.ProjectCredentials(ctx, w.cluster, w.iam, registry.ProjectOptions{ClusterName: "prod", Project: "team-a", WriteOptions: registrykit.WriteOptions{Logger: w.logger}})
				if noteReport(w, "prepare project", rep, err) != nil {
					w.t.Fatalf("prepare: project: %v", err)
				}
			},
			run: func(ctx context.Context, w *world, dry bool) error {
				opts := registry.RemoveProjectOptions{ClusterName: "prod", Project: "team-a", WriteOptions: registrykit.WriteOptions{DryRun: dry, Logger: w.logger}}
				rep, err := registry.RemoveProjectCredentials(ctx, w.cluster, w.iam, opts)
				return noteReport(w, "remove project", rep, err, opts)
			},
		},
	}
}

// TestWorkflowsDoNotLeak runs every registry workflow with sentinel
// credentials: clean, dry run, and once with each kind of request it makes
// failing — every IAM operation it calls answered 500, 500 after applying,
// 403 and 429, and every kind of Kubernetes request it sends answered with
// an Internal error — and scans errors, Reports, options and log records.
func TestWorkflowsDoNotLeak(t *testing.T) {
	for _, wf := range workflows() {
		t.Run(wf.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c := &corpus{}
			var worlds []*world
			fresh := func(where string) *world {
				w := newWorld(t, c, wf.name+" "+where)
				worlds = append(worlds, w)
				if wf.prepare != nil {
					wf.prepare(ctx, w)
				}
				w.clearActions()
				return w
			}

			// Clean run: learn which requests the workflow makes.
			w := fresh("clean")
			before := w.iamCalls()
			if err := wf.run(ctx, w, false); err != nil {
				t.Fatalf("clean run: %v", err)
			}
			if wf.handles != "" && !w.holds(wf.handles) {
				t.Errorf("no secret holds the credential after the clean run: the scenario proves nothing")
			}
			var ops []string
			for op, n := range w.iamCalls() {
				if n > before[op] {
					ops = append(ops, op)
				}
			}
			slices.Sort(ops)
			calls := w.calls()
			if len(calls) == 0 {
				t.Fatal("the clean run sent no Kubernetes request")
			}

			if err := wf.run(ctx, fresh("dry run"), true); err != nil {
				t.Errorf("dry run: %v", err)
			}

			failed := 0
			for _, op := range ops {
				for _, f := range []iamtest.Fault{
					{Op: op, Status: http.StatusInternalServerError},
					{Op: op, Status: http.StatusInternalServerError, AfterApply: true},
					{Op: op, Status: http.StatusForbidden},
					{Op: op, Status: http.StatusTooManyRequests, RetryAfter: "0"},
				} {
					w := fresh(fmt.Sprintf("IAM %s %d after-apply=%t", op, f.Status, f.AfterApply))
					w.srv.Inject(f)
					if wf.run(ctx, w, false) != nil {
						failed++
					}
				}
			}
			for _, k := range calls {
				w := fresh(fmt.Sprintf("%s %s %s fails", k.fake, k.verb, k.resource))
				w.failFirst(k)
				if wf.run(ctx, w, false) != nil {
					failed++
				}
			}
			if failed == 0 {
				t.Error("no injected fault made the workflow fail: the failure paths were not scanned")
			}
			t.Logf("%d IAM operations and %d kinds of Kubernetes requests faulted; %d runs failed; %d log records, %d texts scanned",
				len(ops), len(calls), failed, c.records, len(c.texts))
			if c.records == 0 {
				t.Error("no log record received: the logger is not wired")
			}
			c.check(t, newScanner(append(inProcessNeedles(), tokenNeedles(worlds...)...)...), 10)
		})
	}
}

// tokenNeedles are the access tokens the worlds' iamtest servers issued.
func tokenNeedles(worlds ...*world) []needle {
	var out []needle
	for _, w := range worlds {
		for _, tok := range w.srv.IssuedTokens() {
			out = append(out, needle{fmt.Sprintf("IAM access token #%d", len(out)+1), tok})
		}
	}
	return out
}
