package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/util/retry"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/icr"
	"github.com/registrykit/registrykit/internal/redact"
	"github.com/registrykit/registrykit/internal/valid"
	"github.com/registrykit/registrykit/pullsecret"
)

// ErrServiceIDNotFound is returned by RotateAPIKey when the service ID whose
// key it should rotate does not exist.
var ErrServiceIDNotFound = errors.New("service ID not found")

// ErrNoKeyToRotate is returned by RotateAPIKey when no copy of the secret
// holds a key of the service ID.
var ErrNoKeyToRotate = errors.New("no copy of the secret holds a key of the service ID")

// ErrRotationIncomplete is returned by RotateAPIKey when a copy could not
// be updated or verified: the old key was not deleted.
var ErrRotationIncomplete = errors.New("rotation incomplete: old key kept")

// DefaultConcurrency is how many secrets RotateAPIKey updates at a time
// when RotateOptions.Concurrency is zero.
const DefaultConcurrency = 8

// RotateOptions configure RotateAPIKey. Set ClusterID or ServiceIDName.
type RotateOptions struct {
	// ClusterID selects the service ID "cluster-<ClusterID>" that
	// ApplyClusterPullSecret made.
	ClusterID string
	// ServiceIDName selects a service ID by exact name instead (for example
	// ProjectServiceIDName(cluster, project)).
	ServiceIDName string
	// KeyName names the new key; empty means the name of the key it replaces.
	KeyName string
	// SecretName is the name of the secret and of every copy of it; empty
	// means "all-icr-io".
	SecretName string
	// Targets choose the namespaces whose copies are updated: the union of
	// Namespaces, the namespaces matching Selector and, with All, every
	// namespace; none of the three set means every namespace, as All does.
	//
	// Exclude differs from pullsecret.Copy's: rotation creates no copy, it
	// only rewrites copies that already exist and hold a key of the service
	// ID, and a copy it skips keeps the old key alive. So here a nil
	// Exclude excludes nothing (pullsecret.DefaultExclude does not apply: a
	// copy in openshift-* gets the new key like any other). A non-nil
	// Exclude leaves out the copies in matching namespaces that Selector or
	// All (or nothing set) would add, never those named in Namespaces; each
	// is reported Skipped with registrykit.SkipExcluded, and as long as it
	// holds the old key, that key is not deleted (a SkipInUse warning step
	// names the copy).
	pullsecret.Targets
	// Concurrency bounds the secret updates in flight; zero means 8.
	Concurrency int
	// WriteOptions: with DryRun no key is minted or deleted; secret updates carry
	// dryRun=All. FieldManager names the writer of every Kubernetes write.
	// Logger receives one record per step; nil means silent; no record
	// contains a credential.
	registrykit.WriteOptions
}

// Validate reports every problem of o as field errors under path (nil for
// none). It does no I/O.
func (o RotateOptions) Validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case o.ClusterID == "" && o.ServiceIDName == "":
		errs = append(errs, field.Required(path.Child("clusterID"), "set clusterID or serviceIDName"))
	case o.ClusterID != "" && o.ServiceIDName != "":
		errs = append(errs, field.Forbidden(path.Child("serviceIDName"), "set clusterID or serviceIDName, not both"))
	case o.ClusterID != "":
		errs = append(errs, validLabel(path.Child("clusterID"), o.ClusterID)...)
	default:
		if strings.TrimSpace(o.ServiceIDName) == "" || len(o.ServiceIDName) > 100 {
			errs = append(errs, field.Invalid(path.Child("serviceIDName"), redact.Userinfo(o.ServiceIDName), "must be 1 to 100 characters"))
		}
	}
	if len(o.KeyName) > 100 {
		errs = append(errs, field.TooLong(path.Child("keyName"), "", 100))
	}
	errs = append(errs, validSubdomain(path.Child("secretName"), orDefault(o.SecretName, DefaultSecretName))...)
	errs = append(errs, o.targets().Validate(path)...)
	return append(errs, valid.NotNegative(path.Child("concurrency"), o.Concurrency, o.Concurrency)...)
}

// targets returns the Targets rotation resolves: All when none of
// Namespaces, Selector and All is set, and an empty Exclude for a nil one
// (see RotateOptions.Targets).
func (o RotateOptions) targets() pullsecret.Targets {
	t := o.Targets
	if len(t.Namespaces) == 0 && t.Selector == nil {
		t.All = true
	}
	if t.Exclude == nil {
		t.Exclude = []string{}
	}
	return t
}

// oldKey is a key of the service ID found in a copy.
type oldKey struct {
	value iam.Secret
	d     iam.APIKeyDetails
}

// RotateAPIKey replaces the API key of a service ID in every copy of a pull
// secret, then deletes the old key:
//
//  1. find the service ID (by exact name; it is not created);
//  2. list every secret named SecretName with one cluster-wide List, and ask
//     IAM (APIKeyDetails) which of their iamapikey passwords are keys of the
//     service ID — the old keys; copies holding none are left alone (Skipped);
//  3. mint a new key;
//  4. in every selected copy that holds an old key, replace it by the new key
//     (re-read and retried on conflict; other entries untouched);
//  5. verify: list the copies again and check each updated one holds the new
//     key and no old key;
//  6. list every image pull secret in the cluster (one List per type,
//     kubernetes.io/dockerconfigjson and kubernetes.io/dockercfg, each with a
//     field selector on type) and delete each old key that none of
//     them holds any more — a pull secret under another name that holds an
//     old key keeps it, with a warning step (SkipInUse) — as well as the
//     service ID's other keys that registrykit made (iam.Marker) and no
//     pull secret holds (left by an earlier run, a lost secret, a failed
//     delete).
//
// If any copy fails to update or verify, it stops before step 6 and returns
// an error matching ErrRotationIncomplete that names the copies; the old key
// still works, so nothing is broken, and a rerun converges (it treats the
// new key as one more old key). A new key that no copy received is deleted
// before returning. Pull secrets outside the selection, or under another
// name, that still hold the old key keep it alive (the step says where). At
// IAM's key limit (iam.DefaultAPIKeyLimit) it first deletes the unused keys
// registrykit made, and fails with an error matching iam.ErrKeyLimit before
// minting if none can go. A dry run mints and deletes nothing; it reads what
// a real run would delete.
func RotateAPIKey(ctx context.Context, cluster *Cluster, iamClient *iam.Client, opts RotateOptions) (Report, error) {
	var rep Report
	errs := append(opts.Validate(nil), clusterErrs(cluster, kubeClient)...)
	if iamClient == nil {
		errs = append(errs, field.Required(field.NewPath("iamClient"), ""))
	}
	if err := registrykit.Invalid("registry.RotateAPIKey", errs); err != nil {
		return rep, fmt.Errorf("rotate API key: %w", err)
	}
	sidName := opts.ServiceIDName
	if opts.ClusterID != "" {
		sidName = ServiceIDName(opts.ClusterID)
	}
	rec := newRecorder(&rep, opts.WriteOptions)
	if err := rotate(ctx, cluster, iamClient, sidName, opts, rec); err != nil {
		return rep, fmt.Errorf("rotate API key of service ID %s: %w", sidName, err)
	}
	return rep, nil
}

func rotate(ctx context.Context, cluster *Cluster, client *iam.Client, sidName string, opts RotateOptions, rec *recorder) error {
	secretName := orDefault(opts.SecretName, DefaultSecretName)
	kube := cluster.Kube

	// 1. Service ID.
	sid, found, err := findServiceID(ctx, client, sidName)
	if err != nil {
		return rec.fail(ctx, "service ID", sidName, err)
	}
	if !found {
		return rec.fail(ctx, "service ID", sidName, fmt.Errorf("service ID %s: %w", sidName, ErrServiceIDNotFound))
	}
	rec.add(ctx, Step{Name: "service ID", Object: sidName, Action: registrykit.Unchanged, Reason: "found " + sid.ID})

	// 2. Copies and old keys.
	tg := opts.targets()
	selected, err := namespaceSet(ctx, kube, tg)
	if err != nil {
		return rec.fail(ctx, "secret", secretName, err)
	}
	copies, err := secretsNamed(ctx, kube, secretName)
	if err != nil {
		return rec.fail(ctx, "secret", secretName, err)
	}
	res := newKeyResolver(client)
	olds := map[string]oldKey{} // by password
	for _, s := range copies {
		for _, pw := range apiKeysIn(&s) {
			d, ok, err := res.details(ctx, pw)
			if err != nil {
				return rec.fail(ctx, "API key", sidName, fmt.Errorf("check the key in secret %s/%s: %w", s.Namespace, s.Name, err))
			}
			if ok && d.IAMID == sid.IAMID {
				olds[pw] = oldKey{value: iam.NewSecret(pw), d: d}
			}
		}
	}
	var targets []corev1.Secret
	for _, s := range copies {
		if selected != nil && !selected[s.Namespace] {
			continue
		}
		if !slices.Contains(tg.Namespaces, s.Namespace) && pullsecret.ExcludedNamespace(s.Namespace, tg.Exclude) {
			rec.add(ctx, Step{Name: "secret", Object: s.Namespace + "/" + s.Name, Action: registrykit.Skipped, Skip: registrykit.SkipExcluded,
				Reason: "excluded by Targets.Exclude (" + strings.Join(tg.Exclude, ", ") + "); an old key it holds is kept"})
			continue
		}
		if slices.ContainsFunc(apiKeysIn(&s), func(pw string) bool { _, ok := olds[pw]; return ok }) {
			targets = append(targets, s)
		} else {
			rec.add(ctx, Step{Name: "secret", Object: s.Namespace + "/" + s.Name, Action: registrykit.Skipped, Skip: registrykit.SkipNotOurs, Reason: "holds no key of service ID " + sidName})
		}
	}
	for _, ns := range opts.Namespaces {
		if !slices.ContainsFunc(copies, func(s corev1.Secret) bool { return s.Namespace == ns }) {
			rec.add(ctx, Step{Name: "secret", Object: ns + "/" + secretName, Action: registrykit.Skipped, Skip: registrykit.SkipNotFound, Reason: "no such secret"})
		}
	}
	if len(targets) == 0 {
		return rec.fail(ctx, "secret", secretName, fmt.Errorf("secret %s in the selected namespaces: %w", secretName, ErrNoKeyToRotate))
	}
	oldList := make([]oldKey, 0, len(olds))
	for _, o := range olds {
		oldList = append(oldList, o)
	}
	slices.SortFunc(oldList, func(a, b oldKey) int { return b.d.CreatedAt.Compare(a.d.CreatedAt) })

	// 3. New key, named and described like the newest old key unless told.
	keyName := orDefault(opts.KeyName, oldList[0].d.Name)
	keys, err := listKeys(ctx, client, sid, rec)
	if err != nil {
		return err
	}
	replaced := map[string]bool{}
	for _, o := range oldList {
		replaced[o.d.ID] = true
		if !slices.ContainsFunc(keys, func(k iam.APIKey) bool { return k.ID == o.d.ID }) {
			keys = append(keys, iam.APIKey{ID: o.d.ID, Name: o.d.Name, Description: o.d.Description, IAMID: o.d.IAMID, Locked: o.d.Locked, CreatedAt: o.d.CreatedAt})
		}
	}
	var newKey iam.APIKey
	if opts.DryRun {
		rec.add(ctx, Step{Name: "API key", Object: keyName, Action: registrykit.Created, Reason: "dry run: would create a key for service ID " + sidName})
		newKey.Value = iam.NewSecret(dryRunKey)
	} else {
		if keys, err = roomForKey(ctx, cluster, res, sid, keys, false, rec); err != nil {
			return err
		}
		var desc string
		if i := slices.IndexFunc(keys, func(k iam.APIKey) bool { return k.ID == oldList[0].d.ID }); i >= 0 {
			desc = keys[i].Description
		}
		if newKey, err = mintKey(ctx, client, sid.IAMID, keys, iam.APIKeyOptions{Name: keyName, Description: desc}, rec); err != nil {
			return err
		}
	}

	// 4. Update the copies.
	updated, failed, copyErrs := updateCopies(ctx, cluster, targets, olds, newKey.Value, opts, rec)
	if len(failed) > 0 {
		// The copies' own errors are joined in, so apierrors.IsForbidden and
		// the like work on the returned error, not only on the Report.
		err := errors.Join(append([]error{fmt.Errorf("%w: %d of %d copies not updated (%s)", ErrRotationIncomplete, len(failed), len(targets), strings.Join(failed, ", "))}, copyErrs...)...)
		if len(updated) == 0 && !opts.DryRun {
			err = errors.Join(err, rollbackKey(ctx, client, newKey.ID, keyName, "no copy received the new key", rec))
		}
		return err
	}
	spec := pruneSpec{sid: sid, keys: keys, current: newKey.ID, value: newKey.Value, replaced: replaced, dryRun: opts.DryRun}
	for _, ref := range updated {
		ns, name, _ := strings.Cut(ref, "/")
		spec.targets = append(spec.targets, types.NamespacedName{Namespace: ns, Name: name})
	}
	if opts.DryRun {
		_, err := pruneKeys(ctx, kube, res, spec, rec)
		return err
	}

	// 5. Verify.
	after, err := secretsNamed(ctx, kube, secretName)
	if err != nil {
		return errors.Join(rec.fail(ctx, "verify", secretName, err), fmt.Errorf("%w: copies not verified", ErrRotationIncomplete))
	}
	var bad []string
	for _, ref := range updated {
		ns, _, _ := strings.Cut(ref, "/")
		i := slices.IndexFunc(after, func(s corev1.Secret) bool { return s.Namespace == ns })
		var problem string
		if i < 0 {
			problem = "copy is gone"
		} else {
			keys := apiKeysIn(&after[i])
			switch {
			case !slices.Contains(keys, newKey.Value.Reveal()):
				problem = "new key not present"
			case slices.ContainsFunc(keys, func(pw string) bool { _, ok := olds[pw]; return ok }):
				problem = "an old key is still present"
			}
		}
		if problem != "" {
			bad = append(bad, ref)
			rec.add(ctx, Step{Name: "verify", Object: ref, Err: fmt.Errorf("verify secret %s: %s", ref, problem)})
			continue
		}
		rec.add(ctx, Step{Name: "verify", Object: ref, Action: registrykit.Unchanged, Reason: "holds the new key"})
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %d copies failed verification (%s)", ErrRotationIncomplete, len(bad), strings.Join(bad, ", "))
	}

	// 6. Delete the old keys, and earlier runs' keys, that no pull secret
	// in the cluster holds any more (whatever its name).
	_, err = pruneKeys(ctx, kube, res, spec, rec)
	return err
}

// updateCopies replaces the old keys by the new one in every target,
// Concurrency at a time. It returns the refs of the updated and the failed
// copies, sorted, and the failed copies' errors.
func updateCopies(ctx context.Context, cluster *Cluster, targets []corev1.Secret, olds map[string]oldKey, newKey iam.Secret, opts RotateOptions, rec *recorder) (updated, failed []string, errs []error) {
	n := opts.Concurrency
	if n == 0 {
		n = DefaultConcurrency
	}
	steps := make([]Step, len(targets))
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, s := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			steps[i] = updateCopy(ctx, cluster, s.Namespace, s.Name, olds, newKey, opts.WriteOptions)
		}()
	}
	wg.Wait()
	for _, st := range steps {
		st = rec.add(ctx, st)
		if st.Err != nil {
			failed = append(failed, st.Object)
			errs = append(errs, st.Err)
		} else {
			updated = append(updated, st.Object)
		}
	}
	return updated, failed, errs
}

func updateCopy(ctx context.Context, cluster *Cluster, ns, name string, olds map[string]oldKey, newKey iam.Secret, write registrykit.WriteOptions) Step {
	ref := ns + "/" + name
	secrets := cluster.Kube.CoreV1().Secrets(ns)
	var replaced int
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := secrets.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cfg, err := dockerconfig.ParseSecret(string(cur.Type), cur.Data)
		if err != nil {
			return err
		}
		replaced = 0
		for server, e := range cfg.Auths {
			if _, ok := olds[e.Password]; ok && e.Username == icr.APIKeyUsername {
				cfg.Set(server, dockerconfig.Entry{Username: e.Username, Password: newKey.Reveal(), Email: e.Email})
				replaced++
			}
		}
		if replaced == 0 {
			return nil
		}
		var data []byte
		key := corev1.DockerConfigJsonKey
		if cur.Type == corev1.SecretTypeDockercfg {
			key = corev1.DockerConfigKey
			data, err = cfg.MarshalLegacy()
		} else {
			data, err = cfg.Marshal()
		}
		if err != nil {
			return err
		}
		cur = cur.DeepCopy()
		cur.Data[key] = data
		_, err = secrets.Update(ctx, cur, write.UpdateOptions())
		return err
	})
	if err != nil {
		return Step{Name: "secret", Object: ref, Err: fmt.Errorf("update secret %s: %w", ref, err)}
	}
	if replaced == 0 {
		return Step{Name: "secret", Object: ref, Action: registrykit.Unchanged, Reason: "no old key left"}
	}
	return Step{Name: "secret", Object: ref, Action: registrykit.Updated, Reason: fmt.Sprintf("new key in %d registries", replaced)}
}
