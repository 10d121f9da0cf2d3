package registry_test

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
	"github.com/registrykit/registrykit/registry"
	"github.com/registrykit/registrykit/registry/registrytest"
)

const ownerIAMID = "IBMid-100000ABCD"

// fixture is a fake cluster and a fake IAM with a client that does not
// retry, so every injected fault surfaces.
type fixture struct {
	srv     *iamtest.Server
	client  *iam.Client
	cluster *registrytest.Cluster
	logs    *bytes.Buffer
	logger  *slog.Logger
}

func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	t.Helper()
	srv := iamtest.NewServer()
	t.Cleanup(srv.Close)
	logs := &bytes.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	client, err := iam.New(iam.Options{
		APIKey:     iam.NewSecret(srv.AddAPIKey(ownerIAMID)),
		AccountID:  srv.AccountID(),
		URL:        srv.URL(),
		Retries:    -1,
		HTTPClient: srv.Client(),
		Logger:     logger,
	})
	if err != nil {
		t.Fatalf("iam.New: %v", err)
	}
	c, err := registrytest.NewOpenShiftCluster(objs...)
	if err != nil {
		t.Fatalf("NewOpenShiftCluster: %v", err)
	}
	return &fixture{srv: srv, client: client, cluster: c, logs: logs, logger: logger}
}

func namespaceObj(name string, lbls map[string]string) *corev1.Namespace {
	if lbls == nil {
		lbls = map[string]string{}
	}
	lbls["kubernetes.io/metadata.name"] = name
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
}

func serviceAccountObj(ns, name string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

// secretKeys returns, per server, "username:password" of the secret's
// entries, or nil if the secret is missing.
func secretConfig(t *testing.T, c *registrytest.Cluster, ns, name string) *dockerconfig.Config {
	t.Helper()
	s, err := c.Kube.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	cfg, err := dockerconfig.ParseSecret(string(s.Type), s.Data)
	if err != nil {
		t.Fatalf("parse %s/%s: %v", ns, name, err)
	}
	return cfg
}

// passwords returns the distinct passwords of a config.
func passwords(cfg *dockerconfig.Config) []string {
	var out []string
	if cfg == nil {
		return nil
	}
	for _, e := range cfg.Auths {
		if !slices.Contains(out, e.Password) {
			out = append(out, e.Password)
		}
	}
	sort.Strings(out)
	return out
}

func pullSecretsOf(t *testing.T, c *registrytest.Cluster, ns, sa string) []string {
	t.Helper()
	a, err := c.Kube.CoreV1().ServiceAccounts(ns).Get(context.Background(), sa, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	var out []string
	for _, r := range a.ImagePullSecrets {
		out = append(out, r.Name)
	}
	return out
}

// keysOf returns the server's API keys owned by the named service ID.
func keysOf(srv *iamtest.Server, serviceID string) []iamtest.APIKey {
	var iamID string
	for _, s := range srv.ServiceIDs() {
		if s.Name == serviceID {
			iamID = s.IAMID
		}
	}
	var out []iamtest.APIKey
	for _, k := range srv.APIKeys() {
		if iamID != "" && k.IAMID == iamID {
			out = append(out, k)
		}
	}
	return out
}

// assertNoLeak fails if secret appears in any of the texts.
func assertNoLeak(t *testing.T, secret string, texts map[string]string) {
	t.Helper()
	for where, s := range texts {
		if strings.Contains(s, secret) {
			t.Errorf("%s contains the key", where)
		}
	}
}

var _ = registry.Report{}

var (
	metav1GetOptions    = metav1.GetOptions{}
	metav1UpdateOptions = metav1.UpdateOptions{}
)

// policiesOf describes every policy the server holds as "<subject service
// ID name> [<role names>] <attribute>=<value>,..." (accountId left out),
// sorted: what a test compares.
func policiesOf(srv *iamtest.Server) []string {
	names := map[string]string{}
	for _, s := range srv.ServiceIDs() {
		names[s.IAMID] = s.Name
	}
	var out []string
	for _, p := range srv.Policies() {
		var roles, attrs []string
		for _, crn := range p.RoleIDs {
			roles = append(roles, crn[strings.LastIndex(crn, ":")+1:])
		}
		for k, v := range p.Attributes {
			if k != "accountId" {
				attrs = append(attrs, k+"="+v)
			}
		}
		sort.Strings(attrs)
		subject := names[p.SubjectIAMID]
		if subject == "" {
			subject = p.SubjectIAMID
		}
		out = append(out, subject+" ["+strings.Join(roles, ",")+"] "+strings.Join(attrs, ","))
	}
	sort.Strings(out)
	return out
}

// iamObjects counts what the server holds for service IDs: the service IDs,
// the policies and the API keys of service IDs (the test owner's own key
// left out). Teardown and idempotence tests compare it.
type iamObjects struct{ ServiceIDs, Policies, Keys int }

func countIAM(srv *iamtest.Server) iamObjects {
	sids := map[string]bool{}
	for _, s := range srv.ServiceIDs() {
		sids[s.IAMID] = true
	}
	n := iamObjects{ServiceIDs: len(sids), Policies: len(srv.Policies())}
	for _, k := range srv.APIKeys() {
		if sids[k.IAMID] {
			n.Keys++
		}
	}
	return n
}
