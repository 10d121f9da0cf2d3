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
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/util/retry"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/icr"
	"github.com/registrykit/registrykit/internal/redact"
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
	// Namespaces, Selector and All choose where copies are updated (their
	// union). None set means every namespace.
	Namespaces []string
	Selector   labels.Selector
	All        bool
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
	for i, ns := range o.Namespaces {
		errs = append(errs, validLabel(path.Child("namespaces").Index(i), ns)...)
	}
	return append(errs, notNegative(path.Child("concurrency"), o.Concurrency, o.Concurrency)...)
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
//  6. delete each old key that no copy in the cluster references any more,
//     and any other key of the service ID with the same name that no copy
//     references (left by an earlier run whose delete failed).
//
// If any copy fails to update or verify, it stops before step 6 and returns
// an error matching ErrRotationIncomplete that names the copies; the old key
// still works, so nothing is broken, and a rerun converges (it treats the
// new key as one more old key). A new key that no copy received is deleted
// before returning. Copies outside the selection that still hold the old
// key keep it alive (the step says where).
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
	selected, err := namespaceSet(ctx, kube, opts.Namespaces, opts.Selector, opts.All)
	if err != nil {
		return rec.fail(ctx, "secret", secretName, err)
	}
	copies, err := secretsNamed(ctx, kube, secretName)
	if err != nil {
		return rec.fail(ctx, "secret", secretName, err)
	}
	olds := map[string]oldKey{} // by password
	var foreign []string        // passwords IAM does not attribute to sid
	for _, s := range copies {
		for _, pw := range apiKeysIn(&s) {
			if _, ok := olds[pw]; ok || slices.Contains(foreign, pw) {
				continue
			}
			d, err := client.APIKeyDetails(ctx, iam.NewSecret(pw))
			if errors.Is(err, iam.ErrNotFound) || errors.Is(err, iam.ErrUnauthorized) {
				foreign = append(foreign, pw)
				continue
			}
			if err != nil {
				return rec.fail(ctx, "API key", sidName, fmt.Errorf("check the key in secret %s/%s: %w", s.Namespace, s.Name, err))
			}
			if d.IAMID != sid.IAMID {
				foreign = append(foreign, pw)
				continue
			}
			olds[pw] = oldKey{value: iam.NewSecret(pw), d: d}
		}
	}
	var targets []corev1.Secret
	for _, s := range copies {
		if selected != nil && !selected[s.Namespace] {
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

	// 3. New key, named like the newest old key unless told.
	keyName := orDefault(opts.KeyName, oldList[0].d.Name)
	var newKey iam.APIKey
	if opts.DryRun {
		rec.add(ctx, Step{Name: "API key", Object: keyName, Action: registrykit.Created, Reason: "dry run: would create a key for service ID " + sidName})
		newKey.Value = iam.NewSecret(dryRunKey)
	} else {
		desc, err := keyDescription(ctx, client, sid.IAMID, oldList[0].d.ID)
		if err != nil {
			return rec.fail(ctx, "API key", keyName, err)
		}
		if newKey, err = mintKey(ctx, client, sid.IAMID, keyName, desc, rec); err != nil {
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
	if opts.DryRun {
		for _, o := range oldList {
			rec.add(ctx, Step{Name: "API key", Object: o.d.Name, Action: registrykit.Deleted, Reason: "dry run: would delete " + o.d.ID + " after verifying every copy"})
		}
		return nil
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

	// 6. Delete the old keys nothing uses any more.
	return deleteOldKeys(ctx, client, sid, keyName, newKey.ID, olds, after, rec)
}

func keyDescription(ctx context.Context, client *iam.Client, iamID, oldID string) (string, error) {
	keys, err := client.ListAPIKeys(ctx, iamID)
	if err != nil {
		return "", fmt.Errorf("list API keys: %w", err)
	}
	for _, k := range keys {
		if k.ID == oldID {
			return k.Description, nil
		}
	}
	return "", nil
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

func deleteOldKeys(ctx context.Context, client *iam.Client, sid iam.ServiceID, keyName, newID string, olds map[string]oldKey, copies []corev1.Secret, rec *recorder) error {
	users := map[string][]string{} // password → namespaces still using it
	for _, s := range copies {
		for _, pw := range apiKeysIn(&s) {
			users[pw] = append(users[pw], s.Namespace)
		}
	}
	inUse := map[string]bool{} // key IDs
	var errs []error
	names := map[string]bool{keyName: true}
	for pw, o := range olds {
		names[o.d.Name] = true
		if ns := users[pw]; len(ns) > 0 {
			inUse[o.d.ID] = true
			rec.add(ctx, Step{Name: "API key", Object: o.d.Name, Action: registrykit.Skipped, Skip: registrykit.SkipExcluded,
				Reason: fmt.Sprintf("%s still used by copies outside the selection in %s", o.d.ID, strings.Join(ns, ", "))})
		}
	}
	keys, err := client.ListAPIKeys(ctx, sid.IAMID)
	if err != nil {
		return rec.fail(ctx, "API key", keyName, fmt.Errorf("list API keys of service ID %s: %w", sid.Name, err))
	}
	for _, k := range keys {
		if k.ID == newID || inUse[k.ID] || !names[k.Name] {
			continue
		}
		if _, err := client.DeleteAPIKey(ctx, k.ID); err != nil {
			errs = append(errs, rec.fail(ctx, "API key", k.Name, fmt.Errorf("delete old API key %s (%s): %w", k.Name, k.ID, err)))
			continue
		}
		rec.add(ctx, Step{Name: "API key", Object: k.Name, Action: registrykit.Deleted, Reason: k.ID + " no longer used by any copy"})
	}
	return errors.Join(errs...)
}
