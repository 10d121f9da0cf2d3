package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/util/retry"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/icr"
	"github.com/registrykit/registrykit/pullsecret"
)

// RemoveOptions configure RemoveClusterPullSecret. ClusterID is required;
// the other names default as in ApplyOptions.
type RemoveOptions struct {
	// ClusterID names the service ID "cluster-<ClusterID>".
	ClusterID string
	// Namespace and SecretName of the secret ApplyClusterPullSecret wrote;
	// empty means "default" and "all-icr-io".
	Namespace  string
	SecretName string
	// ServiceAccount whose imagePullSecrets lose the secret, in Namespace and
	// in every namespace whose copy is removed; empty means "default".
	ServiceAccount string
	// DeleteUnmarkedKeys also deletes the service ID's keys that registrykit
	// did not make (no iam.Marker), once no pull secret holds them. Without
	// it such a key, and so the service ID and its policies, stay.
	DeleteUnmarkedKeys bool
	// WriteOptions: DryRun sends no IAM write and every Kubernetes write
	// with dryRun=All; the Report says what would be removed.
	registrykit.WriteOptions
}

// Validate reports every problem of o as field errors under path (nil for
// none). It does no I/O.
func (o RemoveOptions) Validate(path *field.Path) field.ErrorList {
	_, errs := o.plan(path)
	return errs
}

func (o RemoveOptions) plan(path *field.Path) (removePlan, field.ErrorList) {
	ns, secret, sa, errs := clusterNames(path, o.ClusterID, o.Namespace, o.SecretName, o.ServiceAccount)
	return removePlan{serviceID: ServiceIDName(o.ClusterID), namespace: ns, secretName: secret, serviceAccount: sa,
		copies: true, unmarked: o.DeleteUnmarkedKeys, write: o.WriteOptions}, errs
}

// RemoveProjectOptions configure RemoveProjectCredentials. ClusterName and
// Project are required; the other names default as in ProjectOptions.
type RemoveProjectOptions struct {
	// ClusterName and Project name the service ID "<cluster>-<project>-id".
	ClusterName string
	Project     string
	// SecretName in Project; empty means "<project>-icr-io".
	SecretName string
	// ServiceAccount whose imagePullSecrets lose the secret; empty means
	// "default".
	ServiceAccount string
	// DeleteUnmarkedKeys: as in RemoveOptions.
	DeleteUnmarkedKeys bool
	// WriteOptions: as in RemoveOptions.
	registrykit.WriteOptions
}

// Validate reports every problem of o as field errors under path (nil for
// none). It does no I/O.
func (o RemoveProjectOptions) Validate(path *field.Path) field.ErrorList {
	_, errs := o.plan(path)
	return errs
}

func (o RemoveProjectOptions) plan(path *field.Path) (removePlan, field.ErrorList) {
	errs := validLabel(path.Child("clusterName"), o.ClusterName)
	errs = append(errs, validLabel(path.Child("project"), o.Project)...)
	secret := orDefault(o.SecretName, o.Project+"-icr-io")
	if o.Project != "" {
		errs = append(errs, validSubdomain(path.Child("secretName"), secret)...)
	}
	sa := orDefault(o.ServiceAccount, DefaultServiceAccount)
	errs = append(errs, validSubdomain(path.Child("serviceAccount"), sa)...)
	return removePlan{serviceID: ProjectServiceIDName(o.ClusterName, o.Project), namespace: o.Project, secretName: secret,
		serviceAccount: sa, unmarked: o.DeleteUnmarkedKeys, write: o.WriteOptions}, errs
}

// removePlan is what a teardown removes.
type removePlan struct {
	serviceID string
	// namespace/secretName is the secret the provisioning wrote.
	namespace, secretName string
	serviceAccount        string
	// copies: also the copies of namespace/secretName in other namespaces
	// (pullsecret.AnnotationCopiedFrom), made or adopted by a copy.
	copies   bool
	unmarked bool
	write    registrykit.WriteOptions
}

// RemoveClusterPullSecret undoes ApplyClusterPullSecret and CopyICRSecret
// for a cluster, in an order that never leaves a pull secret holding a
// deleted key:
//
//  1. find the service ID "cluster-<ClusterID>" (exact name) and the secrets
//     named SecretName in the cluster (one cluster-wide List); ours are the
//     secret in Namespace, if every API key it holds belongs to the service
//     ID, and its copies (annotation registrykit.io/copied-from, which
//     CopyICRSecret writes on the copies it makes and adopts). Any other
//     same-named secret is left alone and reported (SkipNotOurs);
//  2. in each namespace of a secret of ours, remove it from the
//     imagePullSecrets of ServiceAccount (re-read and retried on
//     conflict), then delete the secret (with its read resourceVersion as a
//     precondition, so a secret changed since is not deleted);
//  3. delete the service ID's keys that registrykit made (any key with
//     DeleteUnmarkedKeys) and that no image pull secret left in the cluster
//     holds (of any name or type);
//  4. only if the service ID then holds no key: delete its policies, then
//     the service ID. A key still held by a pull secret that is not ours, a
//     locked key, or a key registrykit did not make keeps the service ID and
//     its policies, with a warning step (SkipInUse) naming why.
//
// Every step is in the Report. A rerun after any failure continues where
// it stopped: what is gone is reported as such, and nothing is deleted out
// of order. When the service ID is not found there is nothing to remove
// (the service ID goes last, so no secret of ours is left either). A dry
// run writes nothing and reports what a real run would remove.
func RemoveClusterPullSecret(ctx context.Context, cluster *Cluster, iamClient *iam.Client, opts RemoveOptions) (Report, error) {
	plan, errs := opts.plan(nil)
	return runIAMWorkflow(cluster, iamClient, errs, plan.write, "registry.RemoveClusterPullSecret", "remove cluster pull secret", "for cluster "+opts.ClusterID,
		func(rec *recorder) error { return remove(ctx, cluster, iamClient, plan, rec) })
}

// RemoveProjectCredentials undoes ProjectCredentials for one project, in
// the order and with the guarantees of RemoveClusterPullSecret: the
// project's secret (if every key it holds belongs to the service ID) leaves
// the service account and is deleted, then the keys no pull secret holds,
// then — if no key is left — the policies and the service ID
// "<cluster>-<project>-id".
func RemoveProjectCredentials(ctx context.Context, cluster *Cluster, iamClient *iam.Client, opts RemoveProjectOptions) (Report, error) {
	plan, errs := opts.plan(nil)
	return runIAMWorkflow(cluster, iamClient, errs, plan.write, "registry.RemoveProjectCredentials", "remove project credentials", "for "+opts.ClusterName+"/"+opts.Project,
		func(rec *recorder) error { return remove(ctx, cluster, iamClient, plan, rec) })
}

func remove(ctx context.Context, cluster *Cluster, client *iam.Client, p removePlan, rec *recorder) error {
	kube := cluster.Kube
	dry := p.write.DryRun

	// 1. The service ID and the secrets of ours.
	sid, found, err := findServiceID(ctx, client, p.serviceID)
	if err != nil {
		return rec.fail(ctx, "service ID", p.serviceID, fmt.Errorf("find service ID %s: %w", p.serviceID, err))
	}
	if !found {
		rec.add(ctx, Step{Name: "service ID", Object: p.serviceID, Action: registrykit.Skipped, Skip: registrykit.SkipNotFound,
			Reason: "not found: nothing to remove"})
		return nil
	}
	named, err := secretsNamed(ctx, kube, p.secretName)
	if err != nil {
		return rec.fail(ctx, "secret", p.secretName, err)
	}
	res := newKeyResolver(client)
	source := p.namespace + "/" + p.secretName
	var ours []corev1.Secret
	for _, s := range named {
		ref := s.Namespace + "/" + s.Name
		switch {
		case s.Namespace == p.namespace:
			mine, err := holdsOnlyKeysOf(ctx, res, sid, &s)
			if err != nil {
				return rec.fail(ctx, "secret", ref, err)
			}
			if !mine {
				rec.add(ctx, Step{Name: "secret", Object: ref, Action: registrykit.Skipped, Skip: registrykit.SkipNotOurs,
					Reason: "holds credentials other than keys of service ID " + p.serviceID + "; left in place"})
				continue
			}
		case p.copies && s.Annotations[pullsecret.AnnotationCopiedFrom] == source:
		case p.copies:
			rec.add(ctx, Step{Name: "secret", Object: ref, Action: registrykit.Skipped, Skip: registrykit.SkipNotOurs,
				Reason: "not a copy of " + source + "; left in place"})
			continue
		default:
			continue
		}
		ours = append(ours, s)
	}

	// 2. References, then the secrets. Both before any key goes, so no
	// secret of ours ever holds a deleted key.
	var errs []error
	var removed []types.NamespacedName
	for i := range ours {
		s := &ours[i]
		if err := detach(ctx, cluster, s.Namespace, p.serviceAccount, s.Name, rec); err != nil {
			errs = append(errs, err)
			continue
		}
		ref := s.Namespace + "/" + s.Name
		del := p.write.DeleteOptions()
		del.Preconditions = &metav1.Preconditions{UID: &s.UID, ResourceVersion: &s.ResourceVersion}
		err := kube.CoreV1().Secrets(s.Namespace).Delete(ctx, s.Name, del)
		switch {
		case apierrors.IsNotFound(err):
			rec.add(ctx, Step{Name: "secret", Object: ref, Action: registrykit.Skipped, Skip: registrykit.SkipNotFound, Reason: "already gone"})
		case err != nil:
			errs = append(errs, rec.fail(ctx, "secret", ref, fmt.Errorf("delete secret %s: %w", ref, err)))
			continue
		default:
			rec.add(ctx, Step{Name: "secret", Object: ref, Action: registrykit.Deleted})
		}
		removed = append(removed, types.NamespacedName{Namespace: s.Namespace, Name: s.Name})
	}
	if err := errors.Join(errs...); err != nil {
		return err // keys, policies and service ID stay until every secret of ours is gone
	}

	// 3. Keys no pull secret holds.
	keys, err := listKeys(ctx, client, sid, rec)
	if err != nil {
		return err
	}
	spec := pruneSpec{sid: sid, keys: keys, unmarked: p.unmarked, dryRun: dry, required: true}
	if dry {
		spec.targets = removed // disregarded: a real run has deleted them
	}
	deleted, err := pruneKeys(ctx, kube, res, spec, rec)
	if err != nil {
		return err
	}
	left := slices.DeleteFunc(slices.Clone(keys), func(k iam.APIKey) bool { return slices.Contains(deleted, k.ID) })

	// 4. Policies and the service ID, once it holds no key.
	if len(left) > 0 {
		rec.add(ctx, Step{Name: "service ID", Object: p.serviceID, Action: registrykit.Skipped, Skip: registrykit.SkipInUse,
			Reason: keptReason(left, p.unmarked)})
		return nil
	}
	pols, err := client.ListPolicies(ctx, sid.IAMID)
	if err != nil {
		return rec.fail(ctx, "policy", p.serviceID, fmt.Errorf("list policies of service ID %s: %w", p.serviceID, err))
	}
	for _, pol := range pols {
		obj := policyObject(pol)
		if dry {
			rec.add(ctx, Step{Name: "policy", Object: obj, Action: registrykit.Deleted, Reason: "dry run: would delete " + pol.ID})
			continue
		}
		a, err := client.DeletePolicy(ctx, pol.ID)
		if err != nil {
			errs = append(errs, rec.fail(ctx, "policy", obj, fmt.Errorf("delete policy %s (%s) of service ID %s: %w", obj, pol.ID, p.serviceID, err)))
			continue
		}
		rec.add(ctx, Step{Name: "policy", Object: obj, Action: a, Reason: pol.ID})
	}
	if err := errors.Join(errs...); err != nil {
		return err // the service ID stays until its policies are gone
	}
	if dry {
		rec.add(ctx, Step{Name: "service ID", Object: p.serviceID, Action: registrykit.Deleted, Reason: "dry run: would delete " + sid.ID})
		return nil
	}
	a, err := client.DeleteServiceID(ctx, sid.ID)
	if err != nil {
		return rec.fail(ctx, "service ID", p.serviceID, fmt.Errorf("delete service ID %s (%s): %w", p.serviceID, sid.ID, err))
	}
	rec.add(ctx, Step{Name: "service ID", Object: p.serviceID, Action: a, Reason: sid.ID})
	return nil
}

// holdsOnlyKeysOf reports whether every entry of s is an iamapikey entry
// whose key IAM attributes to sid (and there is at least one): a secret
// that a provisioning workflow wrote, not one a person merged other
// credentials into.
func holdsOnlyKeysOf(ctx context.Context, res *keyResolver, sid iam.ServiceID, s *corev1.Secret) (bool, error) {
	pws := apiKeysIn(s)
	if len(pws) == 0 || !onlyAPIKeyEntries(s) {
		return false, nil
	}
	for _, pw := range pws {
		d, ok, err := res.details(ctx, pw)
		if err != nil {
			return false, fmt.Errorf("check the key in secret %s/%s: %w", s.Namespace, s.Name, err)
		}
		if !ok || d.IAMID != sid.IAMID {
			return false, nil
		}
	}
	return true, nil
}

// detach removes secret from the imagePullSecrets of ns/sa, re-reading on
// conflict. A missing service account or reference is not an error.
func detach(ctx context.Context, cluster *Cluster, ns, sa, secret string, rec *recorder) error {
	ref := ns + "/" + sa
	var changed bool
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := cluster.Kube.CoreV1().ServiceAccounts(ns).Get(ctx, sa, metav1.GetOptions{})
		if err != nil {
			return err
		}
		upd, ok := pullsecret.WithoutImagePullSecret(cur, secret)
		if changed = ok; !ok {
			return nil
		}
		_, err = cluster.Kube.CoreV1().ServiceAccounts(ns).Update(ctx, upd, rec.opts.UpdateOptions())
		return err
	})
	switch {
	case apierrors.IsNotFound(err):
		rec.add(ctx, Step{Name: "service account", Object: ref, Action: registrykit.Skipped, Skip: registrykit.SkipNotFound, Reason: "no such service account"})
	case err != nil:
		return rec.fail(ctx, "service account", ref, fmt.Errorf("remove %s from the imagePullSecrets of %s: %w", secret, ref, err))
	case changed:
		rec.add(ctx, Step{Name: "service account", Object: ref, Action: registrykit.Updated, Reason: "removed " + secret + " from imagePullSecrets"})
	default:
		rec.add(ctx, Step{Name: "service account", Object: ref, Action: registrykit.Unchanged, Reason: "does not reference " + secret})
	}
	return nil
}

// keptReason says why a service ID's keys stay.
func keptReason(left []iam.APIKey, unmarked bool) string {
	var locked, foreign, held int
	for _, k := range left {
		switch {
		case k.Locked:
			locked++
		case !k.Marked() && !unmarked:
			foreign++
		default:
			held++
		}
	}
	return fmt.Sprintf("kept with its policies: %d keys left (%d held by pull secrets that are not ours, %d locked, %d not made by registrykit; DeleteUnmarkedKeys deletes unused ones)",
		len(left), held, locked, foreign)
}

// onlyAPIKeyEntries reports whether every registry entry of s has username
// iamapikey.
func onlyAPIKeyEntries(s *corev1.Secret) bool {
	cfg, err := dockerconfig.ParseSecret(string(s.Type), s.Data)
	if err != nil {
		return false
	}
	for _, e := range cfg.Auths {
		if e.Username != icr.APIKeyUsername {
			return false
		}
	}
	return true
}
