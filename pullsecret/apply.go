package pullsecret

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/internal/kubewrite"
)

// Apply makes namespace/name a kubernetes.io/dockerconfigjson secret holding
// exactly cfg. It creates the secret if it is missing, updates it if its
// content differs, and writes nothing when the content is already
// semantically equal (same registries and credentials, whatever the key
// order or formatting): that is Unchanged.
//
// Apply replaces the whole credential document; to add registries to an
// existing secret, read it and use dockerconfig.Merge first. Labels,
// annotations and other keys of an existing secret are kept. An existing
// secret of another type is not touched: its type is immutable, and
// deleting it is the caller's decision (the error matches ErrNotPullSecret
// or names the type).
func Apply(ctx context.Context, kube kubernetes.Interface, namespace, name string, cfg *dockerconfig.Config, opts registrykit.WriteOptions) (registrykit.Result, error) {
	errs := registrykit.ValidateNamespace(field.NewPath("namespace"), namespace)
	errs = append(errs, registrykit.ValidateName(field.NewPath("name"), name)...)
	errs = append(errs, validConfig(field.NewPath("config"), cfg)...)
	if err := invalid("pullsecret.Apply", errs); err != nil {
		return registrykit.Result{}, fmt.Errorf("apply secret %s/%s: %w", namespace, name, err)
	}
	data, err := cfg.Marshal()
	if err != nil {
		return registrykit.Result{}, fmt.Errorf("apply secret %s/%s: %w", namespace, name, err)
	}
	res, err := applyData(ctx, kube, namespace, name, cfg, data, opts)
	if err != nil {
		return res, fmt.Errorf("apply secret %s/%s: %w", namespace, name, err)
	}
	return res, nil
}

func applyData(ctx context.Context, kube kubernetes.Interface, namespace, name string, cfg *dockerconfig.Config, data []byte, opts registrykit.WriteOptions) (registrykit.Result, error) {
	secrets := kube.CoreV1().Secrets(namespace)
	attrs := []any{slog.String("secret", namespace+"/"+name)}
	var res registrykit.Result
	retriable := func(err error) bool { return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) }
	err := retry.OnError(kubewrite.ConflictBackoff, retriable, func() error {
		cur, err := secrets.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			s := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
				Type:       corev1.SecretTypeDockerConfigJson,
				Data:       map[string][]byte{corev1.DockerConfigJsonKey: data},
			}
			if _, err := secrets.Create(ctx, s, opts.CreateOptions()); err != nil {
				return err
			}
			res = record(ctx, opts, registrykit.Created, "created for "+strings.Join(cfg.Servers(), ", "), attrs...)
			return nil
		}
		if err != nil {
			return err
		}
		if cur.Type != corev1.SecretTypeDockerConfigJson {
			return fmt.Errorf("%w: it has type %q, want %q (the type is immutable: delete the secret to replace it)",
				ErrWrongType, cur.Type, corev1.SecretTypeDockerConfigJson)
		}
		if old, perr := dockerconfig.Parse(cur.Data[corev1.DockerConfigJsonKey]); perr == nil && dockerconfig.Equal(old, cfg) {
			res = record(ctx, opts, registrykit.Unchanged, "content already equal", attrs...)
			return nil
		}
		cur = cur.DeepCopy()
		if cur.Data == nil {
			cur.Data = map[string][]byte{}
		}
		cur.Data[corev1.DockerConfigJsonKey] = data
		if _, err := secrets.Update(ctx, cur, opts.UpdateOptions()); err != nil {
			return err
		}
		res = record(ctx, opts, registrykit.Updated, "content replaced, now for "+strings.Join(cfg.Servers(), ", "), attrs...)
		return nil
	})
	return res, err
}
