package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	imageregistryv1 "github.com/openshift/api/imageregistry/v1"
	operatorclient "github.com/openshift/client-go/imageregistry/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/registrykit/registrykit/route"
)

// Flavour is the generation of OpenShift's integrated registry.
type Flavour string

const (
	// Flavour4x: the operator-managed registry,
	// openshift-image-registry/image-registry.
	Flavour4x Flavour = "4.x"
	// Flavour311: the registry deployment config default/docker-registry.
	Flavour311 Flavour = "3.11"
)

// InternalRegistry describes the integrated registry's Service.
type InternalRegistry struct {
	Namespace, Service string
	// Port is the registry port (5000).
	Port      int32
	Flavour   Flavour
	ClusterIP string
}

// Host returns the in-cluster registry host
// "<service>.<namespace>.svc:<port>" that image streams and pods use.
func (r InternalRegistry) Host() string {
	return r.Service + "." + r.Namespace + ".svc:" + strconv.Itoa(int(r.Port))
}

// DetectInternal finds the integrated registry: the 4.x service
// openshift-image-registry/image-registry, else the 3.11 service
// default/docker-registry, and its port named 5000-tcp (or a single port
// 5000). No registry service matches route.ErrNoRegistryService; a service
// without that port is a *route.PortError (route.ErrNoRegistryPort).
func DetectInternal(ctx context.Context, kube kubernetes.Interface) (InternalRegistry, error) {
	svc, port, err := route.FindRegistryService(ctx, kube, "", "")
	if err != nil {
		return InternalRegistry{}, fmt.Errorf("detect internal registry: %w", err)
	}
	flavour := Flavour311
	if svc.Namespace == route.KnownRegistryServices()[0].Namespace {
		flavour = Flavour4x
	}
	return InternalRegistry{
		Namespace: svc.Namespace,
		Service:   svc.Name,
		Port:      port.Port,
		Flavour:   flavour,
		ClusterIP: svc.Spec.ClusterIP,
	}, nil
}

// StorageKind names the registry's storage back end, as the keys of the
// operator config's spec.storage do.
type StorageKind string

// The storage back ends.
const (
	StoragePVC      StorageKind = "pvc"
	StorageEmptyDir StorageKind = "emptyDir"
	StorageS3       StorageKind = "s3"
	StorageGCS      StorageKind = "gcs"
	StorageSwift    StorageKind = "swift"
	StorageAzure    StorageKind = "azure"
	StorageIBMCOS   StorageKind = "ibmcos"
	StorageOSS      StorageKind = "oss"
)

// Well-known claim names.
const (
	// Claim4x is the claim the 4.x operator creates in
	// openshift-image-registry when spec.storage.pvc.claim is empty.
	Claim4x = "image-registry-storage"
	// Claim311 is the claim of a 3.11 registry in default, as the guide names it.
	Claim311 = "registry-backing"
)

// StorageInfo is what `oc describe pvc` and the operator config say about
// where the registry keeps images.
type StorageInfo struct {
	Flavour Flavour
	// Kind is the back end; empty when the operator config names none.
	Kind StorageKind
	// ManagementState is the operator's spec.storage.managementState
	// (Managed: the operator created the bucket or claim and removes it).
	ManagementState string
	// Bucket is the object-storage bucket (s3, gcs, ibmcos, oss) or
	// container (swift, azure).
	Bucket string
	// Region is the bucket's region or location when the config states it.
	Region string
	// Claim describes the PersistentVolumeClaim for Kind "pvc".
	Claim *ClaimInfo
	// Warnings are problems worth telling a human: emptyDir storage that is
	// not persistent, an unbound claim, a ReadWriteOnce claim shared by
	// several replicas.
	Warnings []string
}

// ClaimInfo is the part of `oc describe pvc` that matters for a registry.
type ClaimInfo struct {
	Namespace, Name string
	StorageClass    string
	// Requested is spec.resources.requests.storage, e.g. "100Gi".
	Requested string
	// Capacity is status.capacity.storage, what the bound volume provides;
	// empty until the claim is bound.
	Capacity    string
	AccessModes []corev1.PersistentVolumeAccessMode
	Volume      string
	Phase       corev1.PersistentVolumeClaimPhase
}

// ErrNoStorageInfo: neither an operator config nor a well-known registry
// claim was found.
var ErrNoStorageInfo = errors.New("no registry storage information found")

// EmptyDirWarning is the warning Storage reports for emptyDir storage.
const EmptyDirWarning = "emptyDir storage is not persistent: every image pushed to the internal registry is lost when the registry pod restarts or moves"

// Storage reports where the integrated registry stores images. On 4.x it
// reads the imageregistry operator config "cluster" (the applied
// status.storage, else spec.storage) and, for PVC storage, the claim
// (spec.storage.pvc.claim, default image-registry-storage) in
// openshift-image-registry. Without an operator config (3.11, or operator
// nil) it looks for the claims openshift-image-registry/image-registry-storage
// and default/registry-backing. Nothing found is ErrNoStorageInfo. Only
// reads; nothing is written.
func Storage(ctx context.Context, kube kubernetes.Interface, operator operatorclient.Interface) (StorageInfo, error) {
	if operator != nil {
		cfg, err := operator.ImageregistryV1().Configs().Get(ctx, route.OperatorConfigName, metav1.GetOptions{})
		switch {
		case err == nil:
			return operatorStorage(ctx, kube, cfg)
		case !apierrors.IsNotFound(err):
			return StorageInfo{}, fmt.Errorf("registry storage: get imageregistry config %s: %w", route.OperatorConfigName, err)
		}
	}
	for _, c := range []struct {
		flavour   Flavour
		namespace string
		claim     string
	}{
		{Flavour4x, route.DefaultRouteNamespace, Claim4x},
		{Flavour311, "default", Claim311},
	} {
		claim, warnings, err := describeClaim(ctx, kube, c.namespace, c.claim)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return StorageInfo{}, fmt.Errorf("registry storage: %w", err)
		}
		return StorageInfo{Flavour: c.flavour, Kind: StoragePVC, Claim: claim, Warnings: warnings}, nil
	}
	return StorageInfo{}, fmt.Errorf("registry storage: %w: no imageregistry operator config and no claim %s/%s or default/%s",
		ErrNoStorageInfo, route.DefaultRouteNamespace, Claim4x, Claim311)
}

func operatorStorage(ctx context.Context, kube kubernetes.Interface, cfg *imageregistryv1.Config) (StorageInfo, error) {
	s := cfg.Status.Storage
	if storageKind(s) == "" {
		s = cfg.Spec.Storage
	}
	info := StorageInfo{Flavour: Flavour4x, Kind: storageKind(s), ManagementState: s.ManagementState}
	switch info.Kind {
	case StorageS3:
		info.Bucket, info.Region = s.S3.Bucket, s.S3.Region
	case StorageGCS:
		info.Bucket, info.Region = s.GCS.Bucket, s.GCS.Region
	case StorageSwift:
		info.Bucket, info.Region = s.Swift.Container, s.Swift.RegionName
	case StorageAzure:
		info.Bucket = s.Azure.Container
	case StorageIBMCOS:
		info.Bucket, info.Region = s.IBMCOS.Bucket, s.IBMCOS.Location
	case StorageOSS:
		info.Bucket, info.Region = s.OSS.Bucket, s.OSS.Region
	case StorageEmptyDir:
		info.Warnings = append(info.Warnings, EmptyDirWarning)
	case StoragePVC:
		name := s.PVC.Claim
		if name == "" {
			name = Claim4x
		}
		claim, warnings, err := describeClaim(ctx, kube, route.DefaultRouteNamespace, name)
		switch {
		case apierrors.IsNotFound(err):
			info.Claim = &ClaimInfo{Namespace: route.DefaultRouteNamespace, Name: name}
			info.Warnings = append(info.Warnings, fmt.Sprintf("claim %s/%s does not exist yet: the registry cannot start until it is created and bound", route.DefaultRouteNamespace, name))
		case err != nil:
			return StorageInfo{}, fmt.Errorf("registry storage: %w", err)
		default:
			info.Claim = claim
			info.Warnings = append(info.Warnings, warnings...)
			if cfg.Spec.Replicas > 1 && !slices.Contains(claim.AccessModes, corev1.ReadWriteMany) {
				info.Warnings = append(info.Warnings, fmt.Sprintf("claim %s/%s is not ReadWriteMany but the registry has %d replicas: only one replica can mount it", claim.Namespace, claim.Name, cfg.Spec.Replicas))
			}
		}
	default:
		info.Warnings = append(info.Warnings, "the imageregistry operator config names no storage")
	}
	if cfg.Spec.ManagementState == "Removed" {
		info.Warnings = append(info.Warnings, "the image registry's managementState is Removed: there is no internal registry")
	}
	return info, nil
}

func storageKind(s imageregistryv1.ImageRegistryConfigStorage) StorageKind {
	switch {
	case s.EmptyDir != nil:
		return StorageEmptyDir
	case s.PVC != nil:
		return StoragePVC
	case s.S3 != nil:
		return StorageS3
	case s.GCS != nil:
		return StorageGCS
	case s.Swift != nil:
		return StorageSwift
	case s.Azure != nil:
		return StorageAzure
	case s.IBMCOS != nil:
		return StorageIBMCOS
	case s.OSS != nil:
		return StorageOSS
	}
	return ""
}

// describeClaim reads one claim; a missing claim is the API's NotFound error.
func describeClaim(ctx context.Context, kube kubernetes.Interface, ns, name string) (*ClaimInfo, []string, error) {
	pvc, err := kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("get claim %s/%s: %w", ns, name, err)
	}
	c := &ClaimInfo{
		Namespace:   ns,
		Name:        name,
		AccessModes: pvc.Spec.AccessModes,
		Volume:      pvc.Spec.VolumeName,
		Phase:       pvc.Status.Phase,
	}
	if pvc.Spec.StorageClassName != nil {
		c.StorageClass = *pvc.Spec.StorageClassName
	}
	if q, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
		c.Requested = q.String()
	}
	if q, ok := pvc.Status.Capacity[corev1.ResourceStorage]; ok {
		c.Capacity = q.String()
	}
	var warnings []string
	if c.Phase != corev1.ClaimBound {
		phase := string(c.Phase)
		if phase == "" {
			phase = "not bound"
		}
		warnings = append(warnings, fmt.Sprintf("claim %s/%s is %s: the registry cannot store images until it is bound", ns, name, phase))
	}
	return c, warnings, nil
}
