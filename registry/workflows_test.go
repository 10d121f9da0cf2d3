package registry_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
	"github.com/registrykit/registrykit/icr"
	"github.com/registrykit/registrykit/pullsecret"
	"github.com/registrykit/registrykit/registry"
)

func TestValidation(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t)
	c := &fx.cluster.Cluster
	tests := []struct {
		name   string
		run    func() error
		fields []string
	}{
		{"apply: no cluster ID", func() error {
			_, err := registry.ApplyClusterPullSecret(ctx, c, fx.client, registry.ApplyOptions{})
			return err
		}, []string{"clusterID"}},
		{"apply: everything wrong at once", func() error {
			_, err := registry.ApplyClusterPullSecret(ctx, nil, nil, registry.ApplyOptions{
				ClusterID: "Bad_ID", Namespace: "NS", SecretName: "a/b", ServiceAccount: "x y", Domains: []string{"http://"},
			})
			return err
		}, []string{"clusterID", "namespace", "secretName", "serviceAccount", "domains[0]", "cluster", "iamClient"}},
		{"project: unknown region and role", func() error {
			_, err := registry.ProjectCredentials(ctx, c, fx.client, registry.ProjectOptions{
				ClusterName: "prod", Project: "team-a", Regions: []string{"mars-1"}, Role: "Owner",
			})
			return err
		}, []string{"regions[0]", "role"}},
		{"apply: unknown region", func() error {
			_, err := registry.ApplyClusterPullSecret(ctx, c, fx.client, registry.ApplyOptions{ClusterID: "c1", Regions: []string{"mars-1"}})
			return err
		}, []string{"regions[0]"}},
		{"project: names required", func() error {
			_, err := registry.ProjectCredentials(ctx, c, fx.client, registry.ProjectOptions{})
			return err
		}, []string{"clusterName", "project"}},
		{"copy: no targets", func() error {
			_, err := registry.CopyICRSecret(ctx, c, registry.CopyICROptions{})
			return err
		}, []string{"namespaces"}},
		{"copy: exclude is not a glob", func() error {
			_, err := registry.CopyICRSecret(ctx, c, registry.CopyICROptions{Targets: pullsecret.Targets{All: true, Exclude: []string{"[kube"}}})
			return err
		}, []string{"exclude[0]"}},
		{"entitled: empty key", func() error {
			_, err := registry.EntitledRegistry(ctx, c, iam.NewSecret("  "), registry.EntitledOptions{Namespace: "-x"})
			return err
		}, []string{"namespace", "entitlementKey"}},
		{"rotate: neither cluster nor service ID", func() error {
			_, err := registry.RotateAPIKey(ctx, c, fx.client, registry.RotateOptions{Targets: pullsecret.Targets{Namespaces: []string{"UPPER"}}})
			return err
		}, []string{"clusterID", "namespaces[0]"}},
		{"rotate: exclude is not a glob", func() error {
			_, err := registry.RotateAPIKey(ctx, c, fx.client, registry.RotateOptions{ClusterID: "c1", Targets: pullsecret.Targets{Exclude: []string{"[kube"}}})
			return err
		}, []string{"exclude[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx.srv.ResetRequests()
			actions := len(fx.cluster.KubeFake.Actions())
			err := tt.run()
			if !errors.Is(err, registrykit.ErrInvalid) {
				t.Fatalf("err = %v, want registrykit.ErrInvalid", err)
			}
			var ie *registrykit.InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want a *registrykit.InvalidError", err)
			}
			var got []string
			for _, fe := range ie.Errs {
				got = append(got, fe.Field)
			}
			slices.Sort(got)
			want := slices.Clone(tt.fields)
			slices.Sort(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s\nerr: %v", diff, err)
			}
			if n := len(fx.srv.Requests()); n != 0 {
				t.Errorf("%d IAM requests before validation passed", n)
			}
			if n := len(fx.cluster.KubeFake.Actions()) - actions; n != 0 {
				t.Errorf("%d Kubernetes requests before validation passed", n)
			}
		})
	}
}

func TestApplyClusterPullSecret(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t)
	rep, err := registry.ApplyClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, registry.ApplyOptions{ClusterID: "c1", WriteOptions: registrykit.WriteOptions{Logger: fx.logger}})
	if err != nil {
		t.Fatal(err)
	}
	sids := fx.srv.ServiceIDs()
	if len(sids) != 1 || sids[0].Name != "cluster-c1" || !strings.Contains(sids[0].Description, "cluster c1") {
		t.Fatalf("service IDs = %+v", sids)
	}
	// One Reader policy on container-registry without a region or
	// geography attribute: the CLI's shape, which covers every region.
	if diff := cmp.Diff([]string{"cluster-c1 [Reader] serviceName=container-registry"}, policiesOf(fx.srv)); diff != "" {
		t.Errorf("policies (-want +got):\n%s", diff)
	}
	keys := keysOf(fx.srv, "cluster-c1")
	if len(keys) != 1 || keys[0].Name != "cluster-c1" || !strings.Contains(keys[0].Description, "cluster c1") {
		t.Fatalf("keys = %+v", keys)
	}
	cfg := secretConfig(t, fx.cluster, "default", "all-icr-io")
	domains, _ := icr.Domains(icr.DomainOptions{})
	if got := len(cfg.Auths); got != len(domains) {
		t.Errorf("secret has %d registries, want %d", got, len(domains))
	}
	for server, e := range cfg.Auths {
		if e.Username != "iamapikey" {
			t.Errorf("%s: username %q", server, e.Username)
		}
	}
	if got := pullSecretsOf(t, fx.cluster, "default", "default"); !slices.Contains(got, "all-icr-io") {
		t.Errorf("default SA imagePullSecrets = %v", got)
	}
	if rep.Counts()[registrykit.Failed] != 0 || len(rep.Steps) != 1+1+3 {
		t.Errorf("report:\n%s", rep)
	}

	// Rerun: nothing written, the key reused.
	creates := fx.srv.Calls(iamtest.OpCreateAPIKey)
	rep, err = registry.ApplyClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, registry.ApplyOptions{ClusterID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	if fx.srv.Calls(iamtest.OpCreateAPIKey) != creates || rep.Counts()[registrykit.Reused] != 1 {
		t.Errorf("rerun minted a key:\n%s", rep)
	}

	// A key of another service ID in the secret is not reused.
	other := fx.srv.AddServiceID("someone-else", "")
	fx.srv.AddAPIKeyValue(other.IAMID, "foreign-key-value")
	if _, err := registry.EntitledRegistry(ctx, &fx.cluster.Cluster, iam.NewSecret("x"), registry.EntitledOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg2, _ := icr.APIKeyConfig("foreign-key-value", nil)
	if _, err := applySecret(ctx, fx, cfg2); err != nil {
		t.Fatal(err)
	}
	rep, err = registry.ApplyClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, registry.ApplyOptions{ClusterID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	// A new key was minted; the previous one, which no secret holds any
	// more, was deleted once the new one was in place.
	if rep.Counts()[registrykit.Reused] != 0 || len(keysOf(fx.srv, "cluster-c1")) != 1 || rep.Counts()[registrykit.Deleted] != 1 {
		t.Errorf("a foreign key was reused, or the replaced key kept:\n%s", rep)
	}
}

// On a fresh account a default run creates exactly one service ID, one
// policy and one key (the CLI's shape), and a rerun creates nothing: the
// acceptance of issue 12 item 1, for both provisioning workflows.
func TestProvisionFreshAccountCounts(t *testing.T) {
	ctx := context.Background()
	runs := map[string]func(fx *fixture) (registry.Report, error){
		"apply": func(fx *fixture) (registry.Report, error) {
			return registry.ApplyClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, registry.ApplyOptions{ClusterID: "c1"})
		},
		"project": func(fx *fixture) (registry.Report, error) {
			return registry.ProjectCredentials(ctx, &fx.cluster.Cluster, fx.client, registry.ProjectOptions{ClusterName: "prod", Project: "team-a"})
		},
	}
	for name, run := range runs {
		t.Run(name, func(t *testing.T) {
			fx := newFixture(t, namespaceObj("team-a", nil), serviceAccountObj("team-a", "default"))
			if rep, err := run(fx); err != nil {
				t.Fatalf("%v\n%s", err, rep)
			}
			want := iamObjects{ServiceIDs: 1, Policies: 1, Keys: 1}
			if diff := cmp.Diff(want, countIAM(fx.srv)); diff != "" {
				t.Errorf("IAM objects after the first run (-want +got):\n%s", diff)
			}
			rep, err := run(fx)
			if err != nil {
				t.Fatalf("rerun: %v\n%s", err, rep)
			}
			if diff := cmp.Diff(want, countIAM(fx.srv)); diff != "" {
				t.Errorf("IAM objects after the rerun (-want +got):\n%s", diff)
			}
			if n := rep.Counts()[registrykit.Created]; n != 0 {
				t.Errorf("rerun created %d objects:\n%s", n, rep)
			}
		})
	}
}

// Regions scopes the Reader policy: one policy per region asked for, the
// global registry as geography=global (IAM rejects region=global), and the
// secret holds only those regions' domains.
func TestApplyClusterPullSecretRegions(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t)
	rep, err := registry.ApplyClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, registry.ApplyOptions{
		ClusterID: "c1", Regions: []string{"global", "us-south", "uk-south", "us-south"},
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	want := []string{
		"cluster-c1 [Reader] geography=global,serviceName=container-registry",
		"cluster-c1 [Reader] region=eu-gb,serviceName=container-registry",
		"cluster-c1 [Reader] region=us-south,serviceName=container-registry",
	}
	if diff := cmp.Diff(want, policiesOf(fx.srv)); diff != "" {
		t.Errorf("policies (-want +got):\n%s", diff)
	}
	cfg := secretConfig(t, fx.cluster, "default", "all-icr-io")
	if diff := cmp.Diff([]string{"icr.io", "private.icr.io", "private.uk.icr.io", "private.us.icr.io", "uk.icr.io", "us.icr.io"}, cfg.Servers()); diff != "" {
		t.Errorf("secret registries (-want +got):\n%s", diff)
	}
}

// The cluster's service ID converges to exactly the desired policy in one
// run, like the CLI resets it: a policy someone narrowed to one region (made
// in the console, v2) and one on another service are deleted after the
// desired one is created, each a step; another identity's policies are never
// touched. KeepExtraPolicies keeps them; a dry run only says what it would do.
func TestApplyClusterPullSecretConvergesPolicies(t *testing.T) {
	ctx := context.Background()
	const (
		narrowed = "cluster-c1 [Reader] region=us-south,serviceName=container-registry"
		other    = "cluster-c1 [Viewer] serviceName=cloud-object-storage"
		desired  = "cluster-c1 [Reader] serviceName=container-registry"
		foreign  = "someone-else [Reader] region=us-south,serviceName=container-registry"
	)
	seed := func(t *testing.T) *fixture {
		t.Helper()
		fx := newFixture(t)
		sid := fx.srv.AddServiceID("cluster-c1", "made by the CLI")
		someone := fx.srv.AddServiceID("someone-else", "")
		for _, p := range []iamtest.V2Policy{
			{SubjectIAMID: sid.IAMID, RoleIDs: []string{iamtest.RoleCRN("Reader")}, Attributes: map[string]string{"serviceName": "container-registry", "region": "us-south"}},
			{SubjectIAMID: sid.IAMID, RoleIDs: []string{iamtest.RoleCRN("Viewer")}, Attributes: map[string]string{"serviceName": "cloud-object-storage"}},
			{SubjectIAMID: someone.IAMID, RoleIDs: []string{iamtest.RoleCRN("Reader")}, Attributes: map[string]string{"serviceName": "container-registry", "region": "us-south"}},
		} {
			fx.srv.AddV2Policy(p)
		}
		return fx
	}
	tests := []struct {
		name    string
		opts    registry.ApplyOptions
		want    []string
		created int
		deleted int
	}{
		{"converge", registry.ApplyOptions{ClusterID: "c1"}, []string{desired}, 1, 2},
		{"keep extra", registry.ApplyOptions{ClusterID: "c1", KeepExtraPolicies: true}, []string{desired, narrowed, other}, 1, 0},
		{"dry run", registry.ApplyOptions{ClusterID: "c1", WriteOptions: registrykit.WriteOptions{DryRun: true}}, []string{narrowed, other}, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := seed(t)
			rep, err := registry.ApplyClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, tt.opts)
			if err != nil {
				t.Fatalf("%v\n%s", err, rep)
			}
			want := append(slices.Clone(tt.want), foreign)
			slices.Sort(want)
			if diff := cmp.Diff(want, policiesOf(fx.srv)); diff != "" {
				t.Errorf("policies (-want +got):\n%s\nreport:\n%s", diff, rep)
			}
			var created, deleted int
			for _, st := range rep.Steps {
				if st.Name != "policy" {
					continue
				}
				switch st.Action {
				case registrykit.Created:
					created++
				case registrykit.Deleted:
					deleted++
				}
			}
			if created != tt.created || deleted != tt.deleted {
				t.Errorf("policy steps: %d created, %d deleted; want %d, %d\n%s", created, deleted, tt.created, tt.deleted, rep)
			}
			if tt.opts.DryRun {
				return
			}
			// One run converged: a rerun changes no policy.
			rep, err = registry.ApplyClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, tt.opts)
			if err != nil {
				t.Fatalf("rerun: %v\n%s", err, rep)
			}
			for _, st := range rep.Steps {
				if st.Name == "policy" && st.Action != registrykit.Unchanged {
					t.Errorf("rerun changed a policy: %s", st)
				}
			}
		})
	}
}

func TestApplyClusterPullSecretDryRun(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t)
	rep, err := registry.ApplyClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, registry.ApplyOptions{ClusterID: "c1", WriteOptions: registrykit.WriteOptions{DryRun: true}})
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{iamtest.OpCreateServiceID, iamtest.OpCreatePolicy, iamtest.OpCreateAPIKey, iamtest.OpDeleteAPIKey} {
		if n := fx.srv.Calls(op); n != 0 {
			t.Errorf("dry run made %d %s calls", n, op)
		}
	}
	for _, s := range rep.Steps {
		if !s.DryRun {
			t.Errorf("step not marked dry run: %s", s)
		}
	}
	if !strings.Contains(rep.String(), "API key cluster-c1: created (dry run: would create") {
		t.Errorf("report:\n%s", rep)
	}
	for _, a := range fx.cluster.KubeFake.Actions() {
		var dry []string
		switch a := a.(type) {
		case k8stesting.CreateActionImpl:
			dry = a.CreateOptions.DryRun
		case k8stesting.UpdateActionImpl:
			dry = a.UpdateOptions.DryRun
		default:
			continue
		}
		if !slices.Equal(dry, []string{"All"}) {
			t.Errorf("%s %s without dryRun=All", a.GetVerb(), a.GetResource().Resource)
		}
	}
}

func TestProjectCredentials(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name         string
		opts         registry.ProjectOptions
		wantPolicies []string
		wantSA       string
		wantSecret   string
		wantDomains  int
	}{
		{
			name: "defaults",
			opts: registry.ProjectOptions{ClusterName: "prod", Project: "team-a"},
			// One policy without a region: it covers every region.
			wantPolicies: []string{"prod-team-a-id [Reader] serviceName=container-registry"},
			wantSA:       "default", wantSecret: "team-a-icr-io", wantDomains: 28,
		},
		{
			name: "one region, a registry namespace, writer, own SA",
			opts: registry.ProjectOptions{ClusterName: "prod", Project: "team-a", Regions: []string{"uk-south"},
				RegistryNamespace: "team-a-images", Role: "writer", ServiceAccount: "builder", SecretName: "push"},
			wantPolicies: []string{"prod-team-a-id [Writer] region=eu-gb,resource=team-a-images,resourceType=namespace,serviceName=container-registry"},
			wantSA:       "builder", wantSecret: "push", wantDomains: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t, namespaceObj("team-a", nil), serviceAccountObj("team-a", "default"), serviceAccountObj("team-a", "builder"))
			rep, err := registry.ProjectCredentials(ctx, &fx.cluster.Cluster, fx.client, tt.opts)
			if err != nil {
				t.Fatalf("%v\n%s", err, rep)
			}
			sids := fx.srv.ServiceIDs()
			if len(sids) != 1 || sids[0].Name != "prod-team-a-id" ||
				!strings.Contains(sids[0].Description, "prod") || !strings.Contains(sids[0].Description, "team-a") {
				t.Fatalf("service IDs = %+v", sids)
			}
			keys := keysOf(fx.srv, "prod-team-a-id")
			if len(keys) != 1 || keys[0].Name != "prod-team-a-key" {
				t.Fatalf("keys = %+v", keys)
			}
			if diff := cmp.Diff(tt.wantPolicies, policiesOf(fx.srv)); diff != "" {
				t.Errorf("policies (-want +got):\n%s", diff)
			}
			cfg := secretConfig(t, fx.cluster, "team-a", tt.wantSecret)
			if cfg == nil || len(cfg.Auths) != tt.wantDomains {
				t.Fatalf("secret %s: %v", tt.wantSecret, cfg)
			}
			if got := pullSecretsOf(t, fx.cluster, "team-a", tt.wantSA); !slices.Contains(got, tt.wantSecret) {
				t.Errorf("%s imagePullSecrets = %v", tt.wantSA, got)
			}
			rep, err = registry.ProjectCredentials(ctx, &fx.cluster.Cluster, fx.client, tt.opts)
			if err != nil || rep.Counts()[registrykit.Reused] != 1 || rep.Counts()[registrykit.Created] != 0 {
				t.Errorf("rerun: %v\n%s", err, rep)
			}
		})
	}
}

func TestCopyICRSecret(t *testing.T) {
	ctx := context.Background()
	objs := []runtime.Object{
		namespaceObj("team-a", map[string]string{"icr": "yes"}), serviceAccountObj("team-a", "default"),
		namespaceObj("team-b", map[string]string{"icr": "yes"}), serviceAccountObj("team-b", "default"),
		namespaceObj("team-c", nil), serviceAccountObj("team-c", "default"),
	}
	tests := []struct {
		name string
		opts registry.CopyICROptions
		want []string
	}{
		{"by name", registry.CopyICROptions{Targets: pullsecret.Targets{Namespaces: []string{"team-c"}}}, []string{"team-c"}},
		{"by selector", registry.CopyICROptions{Targets: pullsecret.Targets{Selector: labels.SelectorFromSet(labels.Set{"icr": "yes"})}}, []string{"team-a", "team-b"}},
		// openshift-config and openshift-image-registry are left out.
		{"all", registry.CopyICROptions{Targets: pullsecret.Targets{All: true}}, []string{"team-a", "team-b", "team-c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t, objs...)
			if _, err := registry.ApplyClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, registry.ApplyOptions{ClusterID: "c1"}); err != nil {
				t.Fatal(err)
			}
			src := secretConfig(t, fx.cluster, "default", "all-icr-io")
			rep, err := registry.CopyICRSecret(ctx, &fx.cluster.Cluster, tt.opts)
			if err != nil {
				t.Fatalf("%v\n%s", err, rep)
			}
			for _, ns := range []string{"team-a", "team-b", "team-c"} {
				has := secretConfig(t, fx.cluster, ns, "all-icr-io") != nil
				attached := slices.Contains(pullSecretsOf(t, fx.cluster, ns, "default"), "all-icr-io")
				want := slices.Contains(tt.want, ns)
				if has != want || attached != want {
					t.Errorf("%s: copied=%t attached=%t, want %t", ns, has, attached, want)
				}
				if has && !secretConfig(t, fx.cluster, ns, "all-icr-io").Equal(src) {
					t.Errorf("%s: copy differs from the source", ns)
				}
			}
			if got := rep.Counts()[registrykit.Created]; got != len(tt.want) {
				t.Errorf("created %d, want %d:\n%s", got, len(tt.want), rep)
			}
		})
	}
}

// TestCopyICRSecretGuideMadeCopies: namespaces that followed the guide by
// hand already hold all-icr-io without registrykit's annotation. With
// Adoption AdoptForeign the one for the same registries is taken over and
// attached; a same-named secret for other registries is left alone, not
// attached, and reported as a warning, not as success.
func TestCopyICRSecretGuideMadeCopies(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name         string
		adoption     pullsecret.Adoption
		wantAttached []string
		wantWarnings []string
	}{
		{"left alone by default", pullsecret.LeaveForeign, nil, []string{"team-guide/all-icr-io", "team-other/all-icr-io"}},
		{"adopted", pullsecret.AdoptForeign, []string{"team-guide"}, []string{"team-other/all-icr-io"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t,
				namespaceObj("team-guide", nil), serviceAccountObj("team-guide", "default"),
				namespaceObj("team-other", nil), serviceAccountObj("team-other", "default"))
			if _, err := registry.ApplyClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, registry.ApplyOptions{ClusterID: "c1"}); err != nil {
				t.Fatal(err)
			}
			kube := fx.cluster.Kube.CoreV1()
			src, err := kube.Secrets("default").Get(ctx, "all-icr-io", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// oc get secret all-icr-io -n default -o yaml | sed s/default/team-guide/g | oc create -f -
			guide := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team-guide", Name: "all-icr-io"}, Type: src.Type, Data: src.Data}
			other, err := icr.APIKeyConfig("someone-elses-key", []string{"de.icr.io"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := kube.Secrets("team-guide").Create(ctx, guide, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := pullsecret.Apply(ctx, fx.cluster.Kube, "team-other", "all-icr-io", other, registrykit.WriteOptions{}); err != nil {
				t.Fatal(err)
			}

			var progress []string
			rep, err := registry.CopyICRSecret(ctx, &fx.cluster.Cluster, registry.CopyICROptions{
				Targets:  pullsecret.Targets{Namespaces: []string{"team-guide", "team-other"}},
				Adoption: tc.adoption,
				OnStep:   func(s registry.Step) { progress = append(progress, s.String()) },
			})
			if err != nil {
				t.Fatalf("%v\n%s", err, rep)
			}
			var steps []string
			for _, s := range rep.Steps {
				steps = append(steps, s.String())
			}
			if diff := cmp.Diff(steps, progress, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("OnStep saw other steps than the Report (-report +OnStep):\n%s", diff)
			}
			var attached []string
			for _, ns := range []string{"team-guide", "team-other"} {
				if slices.Contains(pullSecretsOf(t, fx.cluster, ns, "default"), "all-icr-io") {
					attached = append(attached, ns)
				}
			}
			if diff := cmp.Diff(tc.wantAttached, attached); diff != "" {
				t.Errorf("attached (-want +got):\n%s\n%s", diff, rep)
			}
			var warned []string
			for _, s := range rep.Warnings() {
				if s.Skip != registrykit.SkipForeign {
					t.Errorf("warning %v is not a foreign skip", s)
				}
				warned = append(warned, s.Object)
			}
			if diff := cmp.Diff(tc.wantWarnings, warned); diff != "" {
				t.Errorf("warnings (-want +got):\n%s\n%s", diff, rep)
			}
			if !strings.Contains(rep.String(), "warning: secret team-other/all-icr-io: skipped [foreign]") {
				t.Errorf("report does not show the warning:\n%s", rep)
			}
			if got := secretConfig(t, fx.cluster, "team-other", "all-icr-io"); !got.Equal(other) {
				t.Error("the secret for other registries was changed")
			}
			adopted, err := kube.Secrets("team-guide").Get(ctx, "all-icr-io", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if ours := adopted.Annotations[pullsecret.AnnotationCopiedFrom] == "default/all-icr-io"; ours != (tc.adoption == pullsecret.AdoptForeign) {
				t.Errorf("guide copy annotations %v after %s", adopted.Annotations, tc.name)
			}
		})
	}
}

func TestEntitledRegistry(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t)
	rep, err := registry.EntitledRegistry(ctx, &fx.cluster.Cluster, iam.NewSecret("entitlement-sentinel"), registry.EntitledOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := secretConfig(t, fx.cluster, "default", "entitled-cp-icr-io")
	e, ok := cfg.Get("cp.icr.io")
	if !ok || e.Username != "cp" || e.Password != "entitlement-sentinel" || len(cfg.Auths) != 1 {
		t.Errorf("secret: %v", cfg)
	}
	if !slices.Contains(pullSecretsOf(t, fx.cluster, "default", "default"), "entitled-cp-icr-io") {
		t.Error("not attached")
	}
	assertNoLeak(t, "entitlement-sentinel", map[string]string{"report": rep.String()})
}

func TestRotateAPIKey(t *testing.T) {
	ctx := context.Background()
	fx := rotateFixture(t)
	secrets, _ := rotateRefs()
	old := keysOf(fx.srv, "cluster-c1")
	// A copy with a foreign key is left alone.
	foreign := fx.srv.AddServiceID("other", "")
	fx.srv.AddAPIKeyValue(foreign.IAMID, "foreign-key")
	cfg, _ := icr.APIKeyConfig("foreign-key", []string{"us.icr.io"})
	if _, err := applySecretIn(ctx, fx, "team-c", cfg); err != nil {
		t.Fatal(err)
	}

	rep, err := registry.RotateAPIKey(ctx, &fx.cluster.Cluster, fx.client, registry.RotateOptions{ClusterID: "c1"})
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	keys := keysOf(fx.srv, "cluster-c1")
	if len(keys) != 1 || keys[0].ID == old[0].ID || keys[0].Name != old[0].Name || keys[0].Description != old[0].Description {
		t.Fatalf("keys after rotation = %+v (old %+v)", keys, old)
	}
	refs := referencedKeyIDs(t, fx, secrets[:len(secrets)-1])
	if len(refs) != 1 || !refs[keys[0].ID] {
		t.Errorf("copies reference %v, want only %s", refs, keys[0].ID)
	}
	if got := passwords(secretConfig(t, fx.cluster, "team-c", "all-icr-io")); !slices.Equal(got, []string{"foreign-key"}) {
		t.Error("the copy with a foreign key was changed")
	}
	c := rep.Counts()
	if c[registrykit.Updated] != 3 || c[registrykit.Deleted] != 1 || c[registrykit.Skipped] != 1 {
		t.Errorf("report:\n%s", rep)
	}

	// Only some namespaces: the old key stays alive for the others.
	before := keysOf(fx.srv, "cluster-c1")[0]
	rep, err = registry.RotateAPIKey(ctx, &fx.cluster.Cluster, fx.client, registry.RotateOptions{ClusterID: "c1", Targets: pullsecret.Targets{Namespaces: []string{"team-a"}}})
	if err != nil {
		t.Fatalf("%v\n%s", err, rep)
	}
	if ks := keysOf(fx.srv, "cluster-c1"); len(ks) != 2 || !slices.ContainsFunc(ks, func(k iamtest.APIKey) bool { return k.ID == before.ID }) {
		t.Errorf("keys = %+v, want the old one kept", ks)
	}
	if !strings.Contains(rep.String(), "kept: still held by default/all-icr-io, team-b/all-icr-io") || len(rep.Warnings()) != 1 {
		t.Errorf("report:\n%s", rep)
	}

	// A named namespace without the secret is reported, not an error.
	rep, err = registry.RotateAPIKey(ctx, &fx.cluster.Cluster, fx.client, registry.RotateOptions{ClusterID: "c1", Targets: pullsecret.Targets{Namespaces: []string{"team-a", "ghost"}}})
	if err != nil || !strings.Contains(rep.String(), "secret ghost/all-icr-io: skipped [not-found] (no such secret)") {
		t.Errorf("%v\n%s", err, rep)
	}

	// Unknown service ID.
	_, err = registry.RotateAPIKey(ctx, &fx.cluster.Cluster, fx.client, registry.RotateOptions{ClusterID: "nope"})
	if !errors.Is(err, registry.ErrServiceIDNotFound) {
		t.Errorf("err = %v, want ErrServiceIDNotFound", err)
	}
}

func applySecret(ctx context.Context, fx *fixture, cfg interface{ Marshal() ([]byte, error) }) (bool, error) {
	return applySecretIn(ctx, fx, "default", cfg)
}

func applySecretIn(ctx context.Context, fx *fixture, ns string, cfg interface{ Marshal() ([]byte, error) }) (bool, error) {
	data, err := cfg.Marshal()
	if err != nil {
		return false, err
	}
	s, err := fx.cluster.Kube.CoreV1().Secrets(ns).Get(ctx, "all-icr-io", metav1GetOptions)
	if err != nil {
		return false, err
	}
	s.Data[".dockerconfigjson"] = data
	_, err = fx.cluster.Kube.CoreV1().Secrets(ns).Update(ctx, s, metav1UpdateOptions)
	return true, err
}

// RotateOptions embed pullsecret.Targets, but rotation only rewrites copies
// that already exist, so a nil Exclude excludes nothing: a copy in a system
// namespace (put there by name) gets the new key whether nothing, All or a
// Selector chooses it. A copy that an explicit Exclude leaves out is
// reported Skipped (excluded) and keeps the old key alive: the old key is
// never deleted while a skipped copy holds it.
func TestRotateAPIKeyTargets(t *testing.T) {
	const system = "openshift-logging"
	tests := []struct {
		name     string
		targets  pullsecret.Targets
		updated  []string // namespaces whose copy gets the new key
		excluded []string // namespaces reported Skipped (excluded)
		oldKept  bool     // the old key survives (SkipInUse)
	}{
		{"nothing chosen: every copy", pullsecret.Targets{},
			[]string{"default", system, "team-a", "team-b", "team-c"}, nil, false},
		{"all: nil Exclude excludes nothing", pullsecret.Targets{All: true},
			[]string{"default", system, "team-a", "team-b", "team-c"}, nil, false},
		{"selector: nil Exclude excludes nothing", pullsecret.Targets{Selector: labels.SelectorFromSet(labels.Set{"icr": "yes"})},
			[]string{system}, nil, true},
		{"all less an explicit Exclude", pullsecret.Targets{All: true, Exclude: []string{"openshift-*"}},
			[]string{"default", "team-a", "team-b", "team-c"}, []string{system}, true},
		{"an explicit Exclude alone", pullsecret.Targets{Exclude: []string{"openshift-*"}},
			[]string{"default", "team-a", "team-b", "team-c"}, []string{system}, true},
		{"a named namespace is never excluded", pullsecret.Targets{Namespaces: []string{system}, Exclude: []string{"openshift-*"}},
			[]string{system}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			fx := rotateFixture(t)
			if _, err := fx.cluster.Kube.CoreV1().Namespaces().Create(ctx, namespaceObj(system, map[string]string{"icr": "yes"}), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			old := keysOf(fx.srv, "cluster-c1")[0]
			putPullSecret(t, fx, system, "all-icr-io", corev1.SecretTypeDockerConfigJson, passwords(secretConfig(t, fx.cluster, "default", "all-icr-io"))[0])

			rep, err := registry.RotateAPIKey(ctx, &fx.cluster.Cluster, fx.client, registry.RotateOptions{ClusterID: "c1", Targets: tt.targets})
			if err != nil {
				t.Fatalf("%v\n%s", err, rep)
			}
			var updated, excluded []string
			for _, s := range rep.Steps {
				ns, _, _ := strings.Cut(s.Object, "/")
				switch {
				case s.Name != "secret":
				case s.Action == registrykit.Updated:
					updated = append(updated, ns)
				case s.Skip == registrykit.SkipExcluded:
					excluded = append(excluded, ns)
				}
			}
			if diff := cmp.Diff(tt.updated, updated); diff != "" {
				t.Errorf("updated copies (-want +got):\n%s\n%s", diff, rep)
			}
			if diff := cmp.Diff(tt.excluded, excluded); diff != "" {
				t.Errorf("excluded copies (-want +got):\n%s\n%s", diff, rep)
			}
			kept := slices.ContainsFunc(keysOf(fx.srv, "cluster-c1"), func(k iamtest.APIKey) bool { return k.ID == old.ID })
			if kept != tt.oldKept {
				t.Errorf("old key kept = %v, want %v\n%s", kept, tt.oldKept, rep)
			}
			holdsOld := referencedKeyIDs(t, fx, []string{system + "/all-icr-io"})[old.ID]
			if holdsOld && !kept {
				t.Errorf("old key deleted while %s/all-icr-io still holds it\n%s", system, rep)
			}
			if slices.Contains(tt.excluded, system) {
				w := rep.Warnings()
				if !holdsOld || len(w) != 1 || w[0].Skip != registrykit.SkipInUse || !strings.Contains(w[0].Reason, system+"/all-icr-io") {
					t.Errorf("excluded copy: holds old key %v, warnings %v; want it kept alive by a SkipInUse naming %s/all-icr-io\n%s", holdsOld, w, system, rep)
				}
			}
		})
	}
}

// A copy the caller may not update stops the rotation before the old key is
// deleted, and the returned error carries the API's Forbidden, not only the
// Report.
func TestRotateAPIKeyForbiddenCopyKeepsOldKey(t *testing.T) {
	ctx := context.Background()
	fx := rotateFixture(t)
	old := keysOf(fx.srv, "cluster-c1")
	fx.cluster.KubeFake.PrependReactor("update", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetNamespace() != "team-b" {
			return false, nil, nil
		}
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "all-icr-io", errors.New("no update in team-b"))
	})
	rep, err := registry.RotateAPIKey(ctx, &fx.cluster.Cluster, fx.client, registry.RotateOptions{ClusterID: "c1"})
	if !errors.Is(err, registry.ErrRotationIncomplete) {
		t.Fatalf("err = %v, want ErrRotationIncomplete\n%s", err, rep)
	}
	if !apierrors.IsForbidden(err) {
		t.Errorf("apierrors.IsForbidden(%v) = false; the copy's error must be wrapped", err)
	}
	keys := keysOf(fx.srv, "cluster-c1")
	if !slices.ContainsFunc(keys, func(k iamtest.APIKey) bool { return k.ID == old[0].ID }) {
		t.Errorf("old key deleted although team-b still uses it: %+v", keys)
	}
}

// The IAM requests of ApplyClusterPullSecret, by operation: one listing of
// the service ID's policies, no listing of the keys of a service ID the run
// has just created (it has none), and a rerun that only reads: the service
// ID, its policies, whose key the secret holds, and its keys (to find keys
// left by earlier runs). These are counts, not timings: the regressions
// they guard are a loop that lists per access, and reads a rerun does not
// need.
func TestApplyClusterPullSecretIAMRequestCounts(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	want := []map[string]int{
		{iamtest.OpGetToken: 1, iamtest.OpListServiceIDs: 1, iamtest.OpCreateServiceID: 1, iamtest.OpListRoles: 1,
			iamtest.OpListV2Policies: 1, iamtest.OpCreatePolicy: 1, iamtest.OpCreateAPIKey: 1},
		{iamtest.OpListServiceIDs: 1, iamtest.OpListV2Policies: 1, iamtest.OpGetAPIKeysDetails: 1, iamtest.OpListAPIKeys: 1},
	}
	for run, w := range want {
		before := len(fx.srv.Requests())
		if _, err := registry.ApplyClusterPullSecret(ctx, &fx.cluster.Cluster, fx.client, registry.ApplyOptions{ClusterID: "c1"}); err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, r := range fx.srv.Requests()[before:] {
			got[r.Op]++
		}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("run %d: IAM requests by operation (-want +got):\n%s", run+1, diff)
		}
	}
}
