package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/icr"
	"github.com/registrykit/registrykit/pullsecret"
)

// cleanupTimeout bounds the rollback (deleting a key just minted) after a
// failure, which runs even when ctx has ended: a cancelled run must not
// leave an orphan key behind.
const cleanupTimeout = 30 * time.Second

// dryRunKey stands in for a key that a dry run would mint; it only reaches
// the API server in a dryRun=All request, which stores nothing.
const dryRunKey = "dry-run-placeholder-api-key"

// provisionPlan is what ApplyClusterPullSecret, ProjectCredentials and
// BuildPushSecret have in common: service ID → policies → key → secret →
// service account.
type provisionPlan struct {
	serviceID, serviceIDDescription string
	accesses                        []iam.Access
	keyName, keyDescription         string
	namespace, secretName           string
	domains                         []string
	// serviceAccount to attach the secret to (imagePullSecrets); "" skips.
	serviceAccount string
	waitForSA      time.Duration
	// keepExtraPolicies keeps policies of the service ID beyond accesses;
	// by default they are deleted.
	keepExtraPolicies bool
	// pruneUnmarked lets key pruning delete unused keys without iam.Marker.
	pruneUnmarked bool
	write         registrykit.WriteOptions
}

// provisioned is what provision made.
type provisioned struct {
	serviceID iam.ServiceID
	key       iam.Secret
	keyID     string
	// minted is true when the key was created by this run.
	minted bool
}

func accessObject(a iam.Access) string {
	region := a.Region
	if region == "" {
		region = "all regions"
	}
	s := a.Role + " " + region
	if a.Namespace != "" {
		s += " namespace " + a.Namespace
	}
	return s
}

// registryAccesses returns the accesses a workflow grants: one without a
// region (every region, the CLI's shape) when regions is empty, else one
// per distinct region, normalised. Unknown regions and invalid accesses are
// left out (validation reports them).
func registryAccesses(role string, regions []string, namespace string) []iam.Access {
	var out []iam.Access
	add := func(a iam.Access) {
		if n, err := a.Normalize(); err == nil {
			out = append(out, n)
		}
	}
	if len(regions) == 0 {
		add(iam.Access{Role: role, Namespace: namespace})
		return out
	}
	seen := map[string]bool{}
	for _, name := range regions {
		r, ok := icr.LookupRegion(name)
		if !ok || seen[r.Name] {
			continue
		}
		seen[r.Name] = true
		add(iam.Access{Role: role, Region: r.Name, Namespace: namespace})
	}
	return out
}

// iamAction is the step action of an iam Ensure call's outcome.
func iamAction(a registrykit.Action) registrykit.Action {
	if a == "" {
		return registrykit.Failed
	}
	return a
}

// provision runs the plan and records each step. The returned error names
// the failed step's object; a key minted by this run is deleted again before
// returning unless the secret already holds it.
func provision(ctx context.Context, cluster *Cluster, client *iam.Client, p provisionPlan, rec *recorder) (provisioned, error) {
	var out provisioned
	res := newKeyResolver(client)

	// 1. Service ID.
	sid, state, err := ensureServiceID(ctx, client, p, rec)
	if err != nil {
		return out, err
	}
	out.serviceID = sid

	// 2. Policies: exactly the desired ones.
	if err := convergePolicies(ctx, client, p, sid, state, rec); err != nil {
		return out, err
	}

	// 3. API key: reuse the secret's key if IAM still vouches for it.
	secretRef := p.namespace + "/" + p.secretName
	key, keyID, keyName, err := reusableKey(ctx, cluster, client, p, sid, state == sidExisted)
	if err != nil {
		return out, rec.fail(ctx, "API key", p.keyName, err)
	}
	var keys []iam.APIKey // the service ID's keys before this run minted one
	listed := state != sidExisted
	switch {
	case !key.IsZero():
		rec.add(ctx, Step{Name: "API key", Object: keyName, Action: registrykit.Reused,
			Reason: fmt.Sprintf("key %s in secret %s is valid and belongs to service ID %s", keyID, secretRef, p.serviceID)})
		out.key, out.keyID = key, keyID
	case p.write.DryRun:
		rec.add(ctx, Step{Name: "API key", Object: p.keyName, Action: registrykit.Created, Reason: "dry run: would create a key for service ID " + p.serviceID})
		out.key = iam.NewSecret(dryRunKey)
	default:
		if state == sidExisted {
			if keys, err = listKeys(ctx, client, sid, rec); err != nil {
				return out, err
			}
			listed = true
			if keys, err = roomForKey(ctx, cluster, res, sid, keys, p.pruneUnmarked, rec); err != nil {
				return out, err
			}
		}
		k, err := mintKey(ctx, client, sid.IAMID, keys, iam.APIKeyOptions{Name: p.keyName, Description: p.keyDescription}, rec)
		if err != nil {
			return out, err
		}
		out.key, out.keyID, out.minted = k.Value, k.ID, true
	}

	// 4. Secret.
	cfg, err := icr.APIKeyConfig(out.key.Reveal(), p.domains)
	if err == nil {
		var res registrykit.Result
		res, err = pullsecret.Apply(ctx, cluster.Kube, p.namespace, p.secretName, cfg, rec.lower())
		if err == nil {
			rec.add(ctx, stepOf("secret", secretRef, res))
		}
	}
	if err != nil {
		err = rec.fail(ctx, "secret", secretRef, err)
		if out.minted {
			err = errors.Join(err, rollbackKey(ctx, client, out.keyID, p.keyName, "secret "+secretRef+" was not written", rec))
		}
		return out, err
	}

	// 5. Service account.
	if p.serviceAccount != "" {
		saRef := p.namespace + "/" + p.serviceAccount
		res, err := pullsecret.AttachToServiceAccount(ctx, cluster.Kube, types.NamespacedName{Namespace: p.namespace, Name: p.serviceAccount}, p.secretName,
			pullsecret.AttachOptions{WaitForServiceAccount: p.waitForSA, WriteOptions: rec.lower()})
		if err != nil {
			// The key stays: the secret holds it, and a rerun reuses it.
			return out, rec.fail(ctx, "service account", saRef, err)
		}
		rec.add(ctx, stepOf("service account", saRef, res))
	}

	// 6. Keys of earlier runs that no pull secret holds any more. A service
	// ID this run created (or, in a dry run, would create) has no others.
	if state == sidExisted && !listed {
		if keys, err = listKeys(ctx, client, sid, rec); err != nil {
			return out, err
		}
	}
	if state == sidExisted {
		_, err := pruneKeys(ctx, cluster.Kube, res, pruneSpec{
			sid: sid, keys: keys, current: out.keyID, value: out.key,
			targets:  []types.NamespacedName{{Namespace: p.namespace, Name: p.secretName}},
			unmarked: p.pruneUnmarked, dryRun: p.write.DryRun,
		}, rec)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// sidState says whether the service ID was there before the run.
type sidState int

const (
	sidExisted sidState = iota
	sidCreated          // created by this run
	sidMissing          // a dry run found none (and would create it)
)

func listKeys(ctx context.Context, client *iam.Client, sid iam.ServiceID, rec *recorder) ([]iam.APIKey, error) {
	keys, err := client.ListAPIKeys(ctx, sid.IAMID)
	if err != nil {
		return nil, rec.fail(ctx, "API key", sid.Name, fmt.Errorf("list API keys of service ID %s: %w", sid.Name, err))
	}
	return keys, nil
}

// roomForKey makes sure sid may hold one more key: at IAM's limit it first
// prunes the keys no pull secret holds (none is in place yet), and if that
// does not free one, it fails with an error matching iam.ErrKeyLimit before
// anything is minted. It returns the keys left.
func roomForKey(ctx context.Context, cluster *Cluster, res *keyResolver, sid iam.ServiceID, keys []iam.APIKey, unmarked bool, rec *recorder) ([]iam.APIKey, error) {
	if len(keys) < iam.DefaultAPIKeyLimit {
		return keys, nil
	}
	deleted, err := pruneKeys(ctx, cluster.Kube, res, pruneSpec{sid: sid, keys: keys, unmarked: unmarked}, rec)
	if err != nil {
		return keys, err
	}
	keys = slices.DeleteFunc(slices.Clone(keys), func(k iam.APIKey) bool { return slices.Contains(deleted, k.ID) })
	if len(keys) >= iam.DefaultAPIKeyLimit {
		return keys, rec.fail(ctx, "API key", sid.Name, keyLimitError(sid, keys, unmarked))
	}
	return keys, nil
}

func ensureServiceID(ctx context.Context, client *iam.Client, p provisionPlan, rec *recorder) (iam.ServiceID, sidState, error) {
	if p.write.DryRun {
		sid, found, err := findServiceID(ctx, client, p.serviceID)
		if err != nil {
			return sid, sidMissing, rec.fail(ctx, "service ID", p.serviceID, err)
		}
		if !found {
			rec.add(ctx, Step{Name: "service ID", Object: p.serviceID, Action: registrykit.Created, Reason: "dry run: would create"})
			return sid, sidMissing, nil
		}
		rec.add(ctx, Step{Name: "service ID", Object: p.serviceID, Action: registrykit.Unchanged, Reason: "exists (" + sid.ID + ")"})
		return sid, sidExisted, nil
	}
	sid, res, err := client.EnsureServiceID(ctx, p.serviceID, iam.Mark(p.serviceIDDescription))
	if err != nil {
		return sid, sidExisted, rec.fail(ctx, "service ID", p.serviceID, fmt.Errorf("ensure service ID %s: %w", p.serviceID, err))
	}
	rec.add(ctx, Step{Name: "service ID", Object: p.serviceID, Action: iamAction(res), Reason: sid.ID})
	if res == registrykit.Created {
		return sid, sidCreated, nil
	}
	return sid, sidExisted, nil
}

// findServiceID finds the service ID named exactly name with one
// name-filtered request (the oldest of several, as iam.EnsureServiceID
// picks), not a listing of every service ID of the account.
func findServiceID(ctx context.Context, client *iam.Client, name string) (iam.ServiceID, bool, error) {
	return client.FindServiceID(ctx, name)
}

// convergePolicies makes the service ID hold exactly the plan's accesses:
// each access an existing policy grants is kept (Unchanged), the missing
// ones are created, and then — unless the plan keeps extra policies — every
// other access policy of the service ID (of any service) is deleted, each a
// step. Creating first means access is never narrowed in between. Only the
// service ID's own policies are read or touched. A service ID the run has
// just created holds none, so it is not listed.
func convergePolicies(ctx context.Context, client *iam.Client, p provisionPlan, sid iam.ServiceID, state sidState, rec *recorder) error {
	var have []iam.Policy
	if state == sidExisted {
		var err error
		if have, err = client.ListPolicies(ctx, sid.IAMID); err != nil {
			return rec.fail(ctx, "policy", p.serviceID, fmt.Errorf("list policies of service ID %s: %w", p.serviceID, err))
		}
	}
	claimed := map[string]bool{}
	var missing []iam.Access
	for _, a := range p.accesses {
		i := slices.IndexFunc(have, func(pol iam.Policy) bool { return !claimed[pol.ID] && pol.Grants(a) })
		if i < 0 {
			missing = append(missing, a)
			continue
		}
		claimed[have[i].ID] = true
		rec.add(ctx, Step{Name: "policy", Object: accessObject(a), Action: registrykit.Unchanged, Reason: have[i].ID})
	}
	switch {
	case len(missing) == 0:
	case p.write.DryRun:
		for _, a := range missing {
			rec.add(ctx, Step{Name: "policy", Object: accessObject(a), Action: registrykit.Created, Reason: "dry run: would grant"})
		}
	default:
		pols, results, err := client.EnsureRegistryPolicies(ctx, sid.IAMID, missing)
		for i := range results {
			claimed[pols[i].ID] = true
			rec.add(ctx, Step{Name: "policy", Object: accessObject(missing[i]), Action: iamAction(results[i]), Reason: pols[i].ID})
		}
		if err != nil {
			a := missing[min(len(results), len(missing)-1)]
			return rec.fail(ctx, "policy", accessObject(a), fmt.Errorf("ensure policy %s for service ID %s: %w", accessObject(a), p.serviceID, err))
		}
	}
	var errs []error
	for _, pol := range have {
		if claimed[pol.ID] {
			continue
		}
		obj := policyObject(pol)
		switch {
		case p.keepExtraPolicies:
			rec.add(ctx, Step{Name: "policy", Object: obj, Action: registrykit.Unchanged, Reason: pol.ID + " kept: not asked for, but extra policies are kept"})
		case p.write.DryRun:
			rec.add(ctx, Step{Name: "policy", Object: obj, Action: registrykit.Deleted, Reason: "dry run: would delete " + pol.ID + ": not asked for"})
		default:
			a, err := client.DeletePolicy(ctx, pol.ID)
			if err != nil {
				errs = append(errs, rec.fail(ctx, "policy", obj, fmt.Errorf("delete policy %s (%s) of service ID %s: %w", obj, pol.ID, p.serviceID, err)))
				continue
			}
			rec.add(ctx, Step{Name: "policy", Object: obj, Action: a, Reason: pol.ID + " not asked for"})
		}
	}
	return errors.Join(errs...)
}

// policyObject names a policy in a Step: its access for a Container
// Registry policy, else its roles and resource attributes.
func policyObject(pol iam.Policy) string {
	if pol.Registry {
		a := pol.Access
		a.Role = strings.Join(pol.Roles, ",")
		return accessObject(a)
	}
	var attrs []string
	for k, v := range pol.Resource {
		if k != "accountId" {
			attrs = append(attrs, k+"="+v)
		}
	}
	slices.Sort(attrs)
	return strings.Join(pol.Roles, ",") + " " + strings.Join(attrs, ",")
}

// reusableKey returns the key held by the existing secret if IAM says it is
// valid, not locked, and owned by sid. A secret or key that is missing, or a
// key IAM does not know, yields a zero Secret and no error; any other failure
// is an error (minting a new key then could orphan the old one's secret).
func reusableKey(ctx context.Context, cluster *Cluster, client *iam.Client, p provisionPlan, sid iam.ServiceID, exists bool) (iam.Secret, string, string, error) {
	if !exists {
		return iam.Secret{}, "", "", nil
	}
	s, err := cluster.Kube.CoreV1().Secrets(p.namespace).Get(ctx, p.secretName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return iam.Secret{}, "", "", nil
	}
	if err != nil {
		return iam.Secret{}, "", "", fmt.Errorf("read secret %s/%s: %w", p.namespace, p.secretName, err)
	}
	for _, pw := range apiKeysIn(s) {
		key := iam.NewSecret(pw)
		d, err := client.APIKeyDetails(ctx, key)
		if errors.Is(err, iam.ErrNotFound) || errors.Is(err, iam.ErrUnauthorized) {
			continue
		}
		if err != nil {
			return iam.Secret{}, "", "", fmt.Errorf("check the key in secret %s/%s: %w", p.namespace, p.secretName, err)
		}
		if d.IAMID == sid.IAMID && d.Valid() && !d.Locked {
			return key, d.ID, d.Name, nil
		}
	}
	return iam.Secret{}, "", "", nil
}

// apiKeysIn returns the distinct passwords of the secret's iamapikey
// entries, in sorted server order.
func apiKeysIn(s *corev1.Secret) []string {
	cfg, err := dockerconfig.ParseSecret(string(s.Type), s.Data)
	if err != nil {
		return nil
	}
	servers := make([]string, 0, len(cfg.Auths))
	for server := range cfg.Auths {
		servers = append(servers, server)
	}
	slices.Sort(servers)
	var out []string
	for _, server := range servers {
		e := cfg.Auths[server]
		if e.Username == icr.APIKeyUsername && e.Password != "" && !slices.Contains(out, e.Password) {
			out = append(out, e.Password)
		}
	}
	return out
}

// mintKey creates an API key whose description carries iam.Marker. before
// are the identity's keys as listed before the create. If the create fails
// ambiguously (IAM may have made the key but its value is lost), keys of
// that name that were not there before are deleted, so no unreadable key is
// left behind.
func mintKey(ctx context.Context, client *iam.Client, iamID string, before []iam.APIKey, opts iam.APIKeyOptions, rec *recorder) (iam.APIKey, error) {
	name := opts.Name
	opts.Description = iam.Mark(opts.Description)
	k, err := client.CreateAPIKey(ctx, iamID, opts)
	if err == nil {
		rec.add(ctx, Step{Name: "API key", Object: name, Action: registrykit.Created, Reason: k.ID})
		return k, nil
	}
	err = rec.fail(ctx, "API key", name, fmt.Errorf("create API key %s: %w", name, err))
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	after, lerr := client.ListAPIKeys(cctx, iamID)
	if lerr != nil {
		return iam.APIKey{}, errors.Join(err, fmt.Errorf("list API keys after the failed create of %s (a key may be left behind): %w", name, lerr))
	}
	for _, a := range after {
		if a.Name != name || slices.ContainsFunc(before, func(b iam.APIKey) bool { return b.ID == a.ID }) {
			continue
		}
		if _, derr := client.DeleteAPIKey(cctx, a.ID); derr != nil {
			err = errors.Join(err, rec.fail(ctx, "API key", name, fmt.Errorf("delete API key %s (%s) left by the failed create: %w", name, a.ID, derr)))
			continue
		}
		rec.add(ctx, Step{Name: "API key", Object: name, Action: registrykit.Deleted, Reason: a.ID + " was created although IAM answered an error; removed"})
	}
	return iam.APIKey{}, err
}

// rollbackKey deletes a key this run minted and could not store.
func rollbackKey(ctx context.Context, client *iam.Client, id, name, why string, rec *recorder) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if _, err := client.DeleteAPIKey(cctx, id); err != nil {
		return rec.fail(ctx, "API key", name, fmt.Errorf("roll back API key %s (%s): %w", name, id, err))
	}
	rec.add(ctx, Step{Name: "API key", Object: name, Action: registrykit.Deleted, Reason: "rolled back: " + why})
	return nil
}
