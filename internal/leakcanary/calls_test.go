package leakcanary_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
	"github.com/registrykit/registrykit/icr"
	"github.com/registrykit/registrykit/pullsecret"
	"github.com/registrykit/registrykit/registry"
)

// failing records a call that must fail (it exists to scan an error path):
// a nil error is reported, since the path was then not scanned.
func failing(t *testing.T, c *corpus, where string, err error, vs ...any) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, so its error path was not scanned", where)
	}
	c.note(where, append(vs, err)...)
}

// b64 is standard base64.
func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// badDocuments are .dockerconfigjson documents that hold a sentinel where
// they go wrong: the parser's error must name the problem, not the value.
var badDocuments = map[string]string{
	"auth not base64":        `{"auths":{"us.icr.io":{"auth":"` + sentinelPassword + `"}}}`,
	"auth without colon":     `{"auths":{"us.icr.io":{"auth":"` + b64(sentinelPassword) + `"}}}`,
	"password is a number":   `{"auths":{"us.icr.io":{"username":"u","password":` + sentinelDigits + `}}}`,
	"auth is a number":       `{"auths":{"us.icr.io":{"auth":` + sentinelDigits + `}}}`,
	"entry is a string":      `{"auths":{"us.icr.io":"` + sentinelPassword + `"}}`,
	"control character":      `{"auths":{"us.icr.io":{"username":"u","password":"` + sentinelPassword + "\x01" + `"}}}`,
	"truncated":              `{"auths":{"us.icr.io":{"username":"u","password":"` + sentinelPassword,
	"username is an object":  `{"auths":{"us.icr.io":{"username":{"x":1},"password":"` + sentinelPassword + `"}}}`,
	"auths is a list":        `{"auths":["` + sentinelPassword + `"]}`,
	"trailing garbage":       `{"auths":{"us.icr.io":{"auth":"` + b64("u:"+sentinelPassword) + `"}}} ` + sentinelPassword,
	"identitytoken a number": `{"auths":{"us.icr.io":{"identitytoken":` + sentinelDigits + `}}}`,
}

// TestCredentialCallsDoNotLeak drives the lower-level calls that take
// credentials — dockerconfig, pullsecret and iam — with sentinels, on
// good and bad input, and scans what they return and log.
func TestCredentialCallsDoNotLeak(t *testing.T) {
	c := &corpus{}
	w := newWorld(t, c, "calls")
	ctx := context.Background()

	t.Run("dockerconfig", func(t *testing.T) { dockerconfigCalls(t, c) })
	t.Run("pullsecret", func(t *testing.T) { pullsecretCalls(ctx, t, c, w) })
	t.Run("iam", func(t *testing.T) { iamCalls(ctx, t, c, w) })
	t.Run("registry validation", func(t *testing.T) { validationCalls(ctx, t, c, w) })

	if !w.holds(sentinelPassword) || !w.holds(sentinelSAToken) {
		t.Error("the cluster holds neither the registry password nor the service account token: the calls did not handle them")
	}
	c.check(t, newScanner(append(inProcessNeedles(), tokenNeedles(w)...)...), 100)
}

func dockerconfigCalls(t *testing.T, c *corpus) {
	cfg := &dockerconfig.Config{}
	entry := dockerconfig.Entry{Username: "iamapikey", Password: sentinelPassword, Email: "a@example.com"}
	cfg.Set("us.icr.io", entry)
	cfg.Set("https://de.icr.io/v1/", dockerconfig.Entry{Username: "u", Password: sentinelDigits})
	cfg.Set("token.example.com", dockerconfig.Entry{IdentityToken: sentinelPassword, RegistryToken: sentinelPassword})
	got, _ := cfg.Get("us.icr.io")
	c.note("dockerconfig config", cfg, *cfg, entry, got, cfg.Servers(), cfg.Lookup("us.icr.io/team/app:1"), cfg.Validate(), cfg.Clone())
	data, err := cfg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := dockerconfig.Parse(data)
	c.note("dockerconfig parsed", parsed, err)
	legacy, err := cfg.MarshalLegacy()
	c.note("dockerconfig legacy", err)
	parsedLegacy, err := dockerconfig.ParseLegacy(legacy)
	c.note("dockerconfig parsed legacy", parsedLegacy, err)
	merged, err := dockerconfig.MergeBytes(data, data)
	c.note("dockerconfig merge", err, len(merged))
	c.note("dockerconfig merge configs", dockerconfig.Merge(parsed, cfg))

	for name, doc := range badDocuments {
		p, err := dockerconfig.Parse([]byte(doc))
		failing(t, c, "dockerconfig.Parse "+name, err, p)
		_, err = dockerconfig.MergeBytes(data, []byte(doc))
		failing(t, c, "dockerconfig.MergeBytes overlay "+name, err)
		_, err = dockerconfig.MergeBytes([]byte(doc), data)
		failing(t, c, "dockerconfig.MergeBytes base "+name, err)
		secret := map[string][]byte{corev1.DockerConfigJsonKey: []byte(doc)}
		p, err = dockerconfig.ParseSecret(string(corev1.SecretTypeDockerConfigJson), secret)
		failing(t, c, "dockerconfig.ParseSecret "+name, err, p)
		// The same entry in a legacy .dockercfg document.
		if inner, ok := strings.CutPrefix(doc, `{"auths":`); ok && strings.HasSuffix(inner, "}") {
			p, err = dockerconfig.ParseLegacy([]byte(strings.TrimSuffix(inner, "}")))
			c.note("dockerconfig.ParseLegacy "+name, p, err)
		}
	}
	for name, s := range map[string]map[string][]byte{
		"wrong key":  {corev1.DockerConfigKey: data},
		"no key":     {"password": []byte(sentinelPassword)},
		"opaque key": {".dockerconfigjson": []byte(sentinelPassword)},
	} {
		p, err := dockerconfig.ParseSecret(string(corev1.SecretTypeDockerConfigJson), s)
		failing(t, c, "dockerconfig.ParseSecret "+name, err, p)
	}
	p, err := dockerconfig.ParseSecret(string(corev1.SecretTypeOpaque), map[string][]byte{corev1.DockerConfigJsonKey: data})
	failing(t, c, "dockerconfig.ParseSecret Opaque", err, p)
	big := append(append([]byte(`{"auths":{"x":{"password":"`), []byte(strings.Repeat(sentinelPassword, dockerconfig.MaxSize/len(sentinelPassword)+1))...), `"}}}`...)
	p, err = dockerconfig.Parse(big)
	failing(t, c, "dockerconfig.Parse too large", err, p)

	// Credentials pasted into a server name, as in a URL: the key is stored
	// (Set takes any key), and every String, JSON and error names it
	// redacted.
	for _, server := range []string{
		"https://iamapikey:" + sentinelPassword + "@us.icr.io",
		"iamapikey:" + sentinelPassword + "@us.icr.io/v2/",
	} {
		n, err := dockerconfig.NormalizeServer(server)
		c.note("dockerconfig.NormalizeServer userinfo", n, err)
		withUserinfo := parsed.Clone()
		withUserinfo.Set(server, dockerconfig.Entry{Username: "iamapikey", Password: sentinelPassword})
		_, merr := withUserinfo.Marshal()
		c.note("dockerconfig userinfo key", withUserinfo, *withUserinfo, withUserinfo.Validate(), merr)
		c.logged("dockerconfig userinfo key", "cfg", withUserinfo, "nested", []*dockerconfig.Config{withUserinfo})
	}

	// The same values nested at depth two and more, as a caller's report,
	// a log attribute or an API answer would hold them.
	type holder struct {
		Matches []dockerconfig.Match
		Configs map[string]*dockerconfig.Config
		Entries map[string][]dockerconfig.Entry
		Any     []any
	}
	matches := cfg.Lookup("us.icr.io/team/app:1")
	if len(matches) == 0 {
		t.Fatal("Lookup found nothing: the nested Matches would be empty")
	}
	nested := struct{ Report holder }{holder{
		Matches: matches,
		Configs: map[string]*dockerconfig.Config{"built": cfg, "parsed": parsed, "merged": dockerconfig.Merge(parsed, cfg)},
		Entries: map[string][]dockerconfig.Entry{"auths": {entry, got, parsed.Auths["us.icr.io"]}},
		Any:     []any{entry, &entry, *cfg, cfg, cfg.Auths, parsed.Auths, matches},
	}}
	c.note("dockerconfig nested", nested, &nested, []any{[]any{nested}}, [][]dockerconfig.Match{matches}, map[string]map[string]dockerconfig.Entry{"a": cfg.Auths})
	c.logged("dockerconfig", "entry", entry, "cfg", cfg, "config", *cfg, "auths", cfg.Auths, "matches", matches, "nested", nested)
}

func pullsecretCalls(ctx context.Context, t *testing.T, c *corpus, w *world) {
	kube := w.cluster.Kube
	opts := registrykit.WriteOptions{Logger: w.logger}
	cfg, err := icr.APIKeyConfig(sentinelPassword, []string{"us.icr.io", "de.icr.io"})
	c.note("icr.APIKeyConfig", cfg, err)
	if err != nil {
		t.Fatal(err)
	}
	res, err := pullsecret.Apply(ctx, kube, "default", "canary-pw", cfg, opts)
	c.note("pullsecret.Apply create", res, err, opts)
	res, err = pullsecret.Apply(ctx, kube, "default", "canary-pw", cfg, opts)
	c.note("pullsecret.Apply unchanged", res, err)
	changed := cfg.Clone()
	changed.Set("jp.icr.io", dockerconfig.Entry{Username: "iamapikey", Password: sentinelPassword})
	res, err = pullsecret.Apply(ctx, kube, "default", "canary-pw", changed, registrykit.WriteOptions{DryRun: true, Logger: w.logger})
	c.note("pullsecret.Apply dry run", res, err)

	opaque := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "opaque-pw"}, Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{"password": []byte(sentinelPassword), corev1.DockerConfigJsonKey: []byte(badDocuments["auth not base64"])}}
	if _, err := kube.CoreV1().Secrets("default").Create(ctx, opaque, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err = pullsecret.Apply(ctx, kube, "default", "opaque-pw", cfg, opts)
	failing(t, c, "pullsecret.Apply onto Opaque", err, res)
	res, err = pullsecret.Apply(ctx, kube, "default", "Bad_Name", cfg, opts)
	failing(t, c, "pullsecret.Apply bad name", err, res)
	res, err = pullsecret.Apply(ctx, kube, "no-such-ns", "canary-pw", cfg, opts)
	c.note("pullsecret.Apply missing namespace", res, err)

	gopts := pullsecret.GlobalOptions{WriteOptions: opts}
	res, err = pullsecret.MergeGlobal(ctx, kube, cfg, gopts)
	c.note("pullsecret.MergeGlobal", res, err, gopts)
	res, err = pullsecret.MergeGlobal(ctx, kube, cfg, pullsecret.GlobalOptions{Required: []string{"missing.example.com"}, WriteOptions: opts})
	c.note("pullsecret.MergeGlobal requiring a registry that is not there", res, err)
	res, err = pullsecret.RemoveFromGlobal(ctx, kube, []string{"quay.io"}, gopts)
	failing(t, c, "pullsecret.RemoveFromGlobal required", err, res)
	res, err = pullsecret.RemoveFromGlobal(ctx, kube, []string{"de.icr.io"}, gopts)
	c.note("pullsecret.RemoveFromGlobal", res, err)

	// Apply and Copy from a source that is not a pull secret.
	rep, err := pullsecret.Copy(ctx, kube, types.NamespacedName{Namespace: "default", Name: "canary-pw"},
		pullsecret.Targets{Namespaces: canaryNamespaces}, pullsecret.CopyOptions{WriteOptions: opts})
	c.note("pullsecret.Copy", rep, err)
	rep, err = pullsecret.Copy(ctx, kube, types.NamespacedName{Namespace: "default", Name: "opaque-pw"},
		pullsecret.Targets{Namespaces: canaryNamespaces}, pullsecret.CopyOptions{WriteOptions: opts})
	failing(t, c, "pullsecret.Copy Opaque", err, rep)

	// The internal registry secret from the planted service account token,
	// and from a generated secret that cannot be parsed.
	iopts := pullsecret.InternalOptions{Host: "registry.apps.canary.example.com", WriteOptions: opts}
	res, err = pullsecret.InternalRegistrySecret(ctx, kube, "default", iopts)
	c.note("pullsecret.InternalRegistrySecret", res, err, iopts)
	if err != nil {
		t.Errorf("InternalRegistrySecret: %v", err)
	}
	broken := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "builder-dockercfg-brkn",
			Annotations: map[string]string{corev1.ServiceAccountNameKey: "builder"}},
		Type: corev1.SecretTypeDockercfg,
		Data: map[string][]byte{corev1.DockerConfigKey: []byte(`{"image-registry.openshift-image-registry.svc:5000":{"auth":"` + sentinelSAToken + `"}}`)},
	}
	if _, err := kube.CoreV1().Secrets("team-a").Create(ctx, broken, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err = pullsecret.InternalRegistrySecret(ctx, kube, "team-a", pullsecret.InternalOptions{ServiceAccount: "builder", Host: "registry.apps.canary.example.com", WriteOptions: opts})
	failing(t, c, "pullsecret.InternalRegistrySecret unparsable", err, res)

	// Explain and Audit over good, Opaque and unparsable secrets.
	bad := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "unparsable"}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(badDocuments["password is a number"])}}
	if _, err := kube.CoreV1().Secrets("team-a").Create(ctx, bad, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []struct{ ns, secret string }{{"default", "canary-pw"}, {"default", "opaque-pw"}, {"team-a", "canary-pw"}, {"team-a", "unparsable"}} {
		res, err := pullsecret.AttachToServiceAccount(ctx, kube, types.NamespacedName{Namespace: ref.ns, Name: "default"}, ref.secret, pullsecret.AttachOptions{WriteOptions: opts})
		c.note("pullsecret.AttachToServiceAccount", res, err)
	}
	res, err = pullsecret.Link(ctx, kube, types.NamespacedName{Namespace: "team-a", Name: "builder"}, "canary-pw", pullsecret.For{Pull: true, Mount: true}, opts)
	c.note("pullsecret.Link", res, err)
	for _, ns := range []string{"default", "team-a"} {
		for _, image := range []string{"us.icr.io/team/app:1", "jp.icr.io/team/app:1", "quay.io/x/y:1"} {
			ex, err := pullsecret.Explain(ctx, kube, ns, pullsecret.Subject{ServiceAccount: "default"}, image)
			c.note("pullsecret.Explain "+ns+" "+image, ex, err, ex.Verdict)
		}
		findings, err := pullsecret.Audit(ctx, kube, ns)
		c.note("pullsecret.Audit "+ns, findings, err)
	}
}

func iamCalls(ctx context.Context, t *testing.T, c *corpus, w *world) {
	for name, opts := range map[string]iam.Options{
		"no account":            {APIKey: iam.NewSecret(sentinelCallerKey)},
		"braces":                {APIKey: iam.NewSecret("{" + sentinelCallerKey + "}"), AccountID: "a"},
		"quotes":                {APIKey: iam.NewSecret(`"` + sentinelCallerKey + `"`), AccountID: "a"},
		"key and authenticator": {APIKey: iam.NewSecret(sentinelCallerKey), Authenticator: &iamAuthenticatorStub{}, AccountID: "a"},
	} {
		client, err := iam.New(opts)
		failing(t, c, "iam.New "+name, err, client, opts)
	}

	sid, res, err := w.iam.EnsureServiceID(ctx, "canary-sid", "d")
	c.note("iam.EnsureServiceID", sid, res, err)
	key, err := w.iam.CreateAPIKey(ctx, sid.IAMID, iam.APIKeyOptions{Name: "canary-key", Description: "d"})
	c.note("iam.CreateAPIKey", key, err, key.Value)
	if err != nil || !strings.HasPrefix(key.Value.Reveal(), iamtest.KeyPrefix) {
		t.Fatalf("CreateAPIKey: %v (value has KeyPrefix: %t)", err, strings.HasPrefix(key.Value.Reveal(), iamtest.KeyPrefix))
	}
	keys, err := w.iam.ListAPIKeys(ctx, sid.IAMID)
	c.note("iam.ListAPIKeys", keys, err)
	d, err := w.iam.APIKeyDetails(ctx, key.Value)
	c.note("iam.APIKeyDetails", d, err)
	d, err = w.iam.APIKeyDetails(ctx, iam.NewSecret(sentinelPlantedKey))
	failing(t, c, "iam.APIKeyDetails unknown key", err, d)
	for _, status := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusTooManyRequests, http.StatusInternalServerError} {
		w.srv.Fail(iamtest.OpGetAPIKeysDetails, 1, status)
		d, err := w.iam.APIKeyDetails(ctx, key.Value)
		failing(t, c, fmt.Sprintf("iam.APIKeyDetails %d", status), err, d)
	}
	w.srv.Fail(iamtest.OpCreateAPIKey, 1, http.StatusInternalServerError)
	k, err := w.iam.CreateAPIKey(ctx, sid.IAMID, iam.APIKeyOptions{Name: "canary-key-2"})
	failing(t, c, "iam.CreateAPIKey 500", err, k)
	act, err := w.iam.DeleteAPIKey(ctx, key.ID)
	c.note("iam.DeleteAPIKey", act, err)

	// A client whose own key IAM does not know, and one whose token call fails.
	for name, value := range map[string]string{"unknown caller key": sentinelPlantedKey, "token call fails": sentinelCallerKey} {
		if name == "token call fails" {
			w.srv.Fail(iamtest.OpGetToken, 1, http.StatusInternalServerError)
		}
		client, err := iam.New(iam.Options{APIKey: iam.NewSecret(value), AccountID: w.srv.AccountID(), URL: w.srv.URL(),
			Retries: -1, HTTPClient: w.srv.Client(), Logger: w.logger})
		if err != nil {
			t.Fatal(err)
		}
		s, r, err := client.EnsureServiceID(ctx, "x", "")
		failing(t, c, "iam client with "+name, err, s, r, client)
	}
}

// TestIAMErrorEchoingTheKey: an IAM error body that repeats the
// credential the client sent (the caller's key, or the key whose details
// were asked for). iam scrubs the APIError's Code, Message and TraceID, and
// strips the answer from the SDK's *core.HTTPProblem (whose Response would
// otherwise print the raw body), so nothing in the error tree holds the key.
func TestIAMErrorEchoingTheKey(t *testing.T) {
	c := &corpus{}
	w := newWorld(t, c, "echo")
	ctx := context.Background()
	sid, _, err := w.iam.EnsureServiceID(ctx, "canary-echo", "")
	if err != nil {
		t.Fatal(err)
	}
	key, err := w.iam.CreateAPIKey(ctx, sid.IAMID, iam.APIKeyOptions{Name: "k"})
	if err != nil {
		t.Fatal(err)
	}
	for _, status := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusInternalServerError} {
		w.srv.Inject(iamtest.Fault{Op: iamtest.OpGetAPIKeysDetails, Status: status, Code: key.Value.Reveal()})
		d, err := w.iam.APIKeyDetails(ctx, key.Value)
		failing(t, c, fmt.Sprintf("iam.APIKeyDetails %d echoing the key", status), err, d)
		w.srv.Inject(iamtest.Fault{Op: iamtest.OpListServiceIDs, Status: status, Code: sentinelCallerKey})
		ids, err := w.iam.ListServiceIDs(ctx)
		failing(t, c, fmt.Sprintf("iam.ListServiceIDs %d echoing the caller's key", status), err, ids)
	}
	sc := newScanner(append(inProcessNeedles(), tokenNeedles(w)...)...)
	c.check(t, sc, 8)
}

// iamAuthenticatorStub is an authenticator that is never used.
type iamAuthenticatorStub struct{}

func (iamAuthenticatorStub) AuthenticationType() string { return "stub" }
func (iamAuthenticatorStub) Authenticate(*http.Request) error {
	return nil
}
func (iamAuthenticatorStub) Validate() error { return nil }

func validationCalls(ctx context.Context, t *testing.T, c *corpus, w *world) {
	for name, key := range map[string]string{"empty": "", "blank": "   "} {
		cfg, err := icr.APIKeyConfig(key, nil)
		failing(t, c, "icr.APIKeyConfig "+name, err, cfg)
		cfg, err = icr.EntitledConfig(key)
		failing(t, c, "icr.EntitledConfig "+name, err, cfg)
	}
	cfg, err := icr.EntitledConfig(sentinelEntitlement)
	c.note("icr.EntitledConfig", cfg, err)
	for name, key := range map[string]string{"newline": sentinelEntitlement + "\n", "space inside": "cp " + sentinelEntitlement} {
		cfg, err := icr.EntitledConfig(key)
		c.note("icr.EntitledConfig "+name, cfg, err)
	}
	rep, err := registry.EntitledRegistry(ctx, w.cluster, iam.NewSecret(sentinelEntitlement), registry.EntitledOptions{Namespace: "-bad-", SecretName: "Bad_Name", WriteOptions: registrykit.WriteOptions{Logger: w.logger}})
	failing(t, c, "registry.EntitledRegistry invalid options", err, rep)
	rep, err = registry.EntitledRegistry(ctx, w.cluster, iam.NewSecret(sentinelEntitlement), registry.EntitledOptions{Namespace: "no-such-namespace", WriteOptions: registrykit.WriteOptions{Logger: w.logger}})
	failing(t, c, "registry.EntitledRegistry missing namespace", err, rep)
	rep, err = registry.ApplyClusterPullSecret(ctx, w.cluster, w.iam, registry.ApplyOptions{ClusterID: "Bad_ID", Domains: []string{"nowhere.example.com"}, WriteOptions: registrykit.WriteOptions{Logger: w.logger}})
	failing(t, c, "registry.ApplyClusterPullSecret invalid options", err, rep)
	rep, err = registry.RotateAPIKey(ctx, w.cluster, w.iam, registry.RotateOptions{ClusterID: "never-applied", WriteOptions: registrykit.WriteOptions{Logger: w.logger}})
	failing(t, c, "registry.RotateAPIKey no service ID", err, rep)
}
