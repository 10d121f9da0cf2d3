package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/iam"
)

// keyResolver asks IAM once per distinct key value whose key it is.
type keyResolver struct {
	client *iam.Client
	// byValue holds what IAM said; nil means IAM does not know the key
	// (deleted, or not an API key at all).
	byValue map[string]*iam.APIKeyDetails
}

func newKeyResolver(client *iam.Client) *keyResolver {
	return &keyResolver{client: client, byValue: map[string]*iam.APIKeyDetails{}}
}

// know records what is already known of a value, sparing the request.
func (r *keyResolver) know(value string, d iam.APIKeyDetails) { r.byValue[value] = &d }

// details returns IAM's details of the key with that value; ok is false
// when IAM does not know it (ErrNotFound, or ErrUnauthorized: the details
// endpoint answers so for a value that is no key).
func (r *keyResolver) details(ctx context.Context, value string) (iam.APIKeyDetails, bool, error) {
	if d, seen := r.byValue[value]; seen {
		if d == nil {
			return iam.APIKeyDetails{}, false, nil
		}
		return *d, true, nil
	}
	d, err := r.client.APIKeyDetails(ctx, iam.NewSecret(value))
	if errors.Is(err, iam.ErrNotFound) || errors.Is(err, iam.ErrUnauthorized) {
		r.byValue[value] = nil
		return iam.APIKeyDetails{}, false, nil
	}
	if err != nil {
		return iam.APIKeyDetails{}, false, err
	}
	r.byValue[value] = &d
	return d, true, nil
}

// keyUsers maps the key IDs of sid that the pull secrets hold to the
// secrets ("namespace/name") that hold them.
func keyUsers(ctx context.Context, res *keyResolver, sid iam.ServiceID, secrets []corev1.Secret) (map[string][]string, error) {
	users := map[string][]string{}
	for i := range secrets {
		s := &secrets[i]
		ref := s.Namespace + "/" + s.Name
		for _, pw := range apiKeysIn(s) {
			d, ok, err := res.details(ctx, pw)
			if err != nil {
				return nil, fmt.Errorf("check the key in secret %s: %w", ref, err)
			}
			if ok && d.IAMID == sid.IAMID && !slices.Contains(users[d.ID], ref) {
				users[d.ID] = append(users[d.ID], ref)
			}
		}
	}
	return users, nil
}

// pruneSpec says which keys of a service ID pruneKeys may delete.
type pruneSpec struct {
	sid iam.ServiceID
	// keys are the service ID's keys, as listed.
	keys []iam.APIKey
	// current is the ID of the key now in place ("" when none is, such as
	// before a mint at the key limit); it is never deleted. value is its
	// value, and targets are the secrets this run wrote it into: a listed
	// target must hold it (verify), and in a dry run, which wrote nothing,
	// the targets' listed content is disregarded.
	current string
	value   iam.Secret
	targets []types.NamespacedName
	// replaced are keys the run replaced (RotateAPIKey's old keys): they
	// are deleted whatever their description says, and kept with a warning
	// (SkipInUse) while a pull secret still holds one.
	replaced map[string]bool
	// unmarked: also delete keys without iam.Marker in their description.
	unmarked bool
	dryRun   bool
	// required: the caller may not go on without knowing which keys are in
	// use (teardown), so a Forbidden List is an error, not a warning.
	required bool
}

// candidates returns the keys spec allows to delete, oldest first: not the
// current key, not locked (IAM refuses to delete a locked key, and a lock
// is a person's decision), and made by registrykit (iam.Marker), replaced
// by this run, or any key when unmarked.
func (spec pruneSpec) candidates() []iam.APIKey {
	var out []iam.APIKey
	for _, k := range spec.keys {
		if k.ID == spec.current || k.Locked {
			continue
		}
		if k.Marked() || spec.unmarked || spec.replaced[k.ID] {
			out = append(out, k)
		}
	}
	slices.SortStableFunc(out, func(a, b iam.APIKey) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

// pruneKeys deletes the keys of spec.sid that spec allows and that no
// image pull secret in the cluster holds (kubernetes.io/dockerconfigjson or
// kubernetes.io/dockercfg: one cluster-wide List per type, and one IAM
// details request per distinct iamapikey password in them that is not known
// yet). It returns the IDs it deleted (in a dry run: would delete). Without
// candidates it sends nothing. If the caller may not list secrets
// cluster-wide, nothing is deleted and a warning step
// (SkipForbidden) says so.
func pruneKeys(ctx context.Context, kube kubernetes.Interface, res *keyResolver, spec pruneSpec, rec *recorder) ([]string, error) {
	cands := spec.candidates()
	if len(cands) == 0 {
		return nil, nil
	}
	secrets, err := pullSecrets(ctx, kube)
	if apierrors.IsForbidden(err) && !spec.required {
		rec.add(ctx, Step{Name: "API key", Object: spec.sid.Name, Action: registrykit.Skipped, Skip: registrykit.SkipForbidden,
			Reason: fmt.Sprintf("%d unused-looking keys kept: may not list pull secrets cluster-wide to see which are in use", len(cands))})
		return nil, nil
	}
	if err != nil {
		return nil, rec.fail(ctx, "API key", spec.sid.Name, fmt.Errorf("find the keys in use: %w", err))
	}
	for _, t := range spec.targets {
		i := slices.IndexFunc(secrets, func(s corev1.Secret) bool { return s.Namespace == t.Namespace && s.Name == t.Name })
		switch {
		case i < 0:
		case spec.dryRun:
			secrets = slices.Delete(secrets, i, i+1) // a real run replaces its content
		case !slices.Contains(apiKeysIn(&secrets[i]), spec.value.Reveal()):
			return nil, rec.fail(ctx, "verify", t.String(),
				fmt.Errorf("verify secret %s: it does not hold the key just written; no key deleted", t))
		}
	}
	if spec.current != "" {
		res.know(spec.value.Reveal(), iam.APIKeyDetails{ID: spec.current, IAMID: spec.sid.IAMID})
	}
	users, err := keyUsers(ctx, res, spec.sid, secrets)
	if err != nil {
		return nil, rec.fail(ctx, "API key", spec.sid.Name, fmt.Errorf("find the keys in use: %w", err))
	}
	var deleted []string
	var errs []error
	for _, k := range cands {
		if refs := users[k.ID]; len(refs) > 0 {
			st := Step{Name: "API key", Object: k.Name, Action: registrykit.Unchanged,
				Reason: fmt.Sprintf("%s kept: still held by %s", k.ID, strings.Join(refs, ", "))}
			if spec.replaced[k.ID] {
				st.Action, st.Skip = registrykit.Skipped, registrykit.SkipInUse
			}
			rec.add(ctx, st)
			continue
		}
		why := "no pull secret holds it"
		if !k.Marked() && !spec.replaced[k.ID] {
			why += " (not made by registrykit; deleted as asked)"
		}
		if spec.dryRun {
			rec.add(ctx, Step{Name: "API key", Object: k.Name, Action: registrykit.Deleted, Reason: "dry run: would delete " + k.ID + ": " + why})
			deleted = append(deleted, k.ID)
			continue
		}
		a, err := res.client.DeleteAPIKey(ctx, k.ID)
		if err != nil {
			errs = append(errs, rec.fail(ctx, "API key", k.Name, fmt.Errorf("delete API key %s (%s): %w", k.Name, k.ID, err)))
			continue
		}
		st := Step{Name: "API key", Object: k.Name, Action: a, Reason: k.ID + ": " + why}
		if a == registrykit.Skipped {
			st.Skip, st.Reason = registrykit.SkipNotFound, k.ID+" already gone"
		}
		rec.add(ctx, st)
		deleted = append(deleted, k.ID)
	}
	return deleted, errors.Join(errs...)
}

// keyLimitError says that sid holds as many keys as IAM allows and none can
// be deleted safely; it matches iam.ErrKeyLimit.
func keyLimitError(sid iam.ServiceID, keys []iam.APIKey, unmarkedAllowed bool) error {
	var unmarked, locked int
	for _, k := range keys {
		switch {
		case k.Locked:
			locked++
		case !k.Marked():
			unmarked++
		}
	}
	hint := ""
	if unmarked > 0 && !unmarkedAllowed {
		hint = "; PruneUnmarkedKeys lets registrykit delete the unused ones it did not make"
	}
	return fmt.Errorf("service ID %s holds %d API keys (%d not made by registrykit, %d locked, the rest held by pull secrets), so no key was minted%s: %w",
		sid.Name, len(keys), unmarked, locked, hint, iam.ErrKeyLimit)
}
