package registry_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	imageregistryv1 "github.com/openshift/api/imageregistry/v1"
	imageregistryfake "github.com/openshift/client-go/imageregistry/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/registrykit/registrykit/registry"
	"github.com/registrykit/registrykit/route"
)

func internalService(ns, name string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{ClusterIP: "172.30.1.2", Ports: ports},
	}
}

var internalPort = corev1.ServicePort{Name: "5000-tcp", Port: 5000, TargetPort: intstr.FromInt32(5000)}

func TestDetectInternal(t *testing.T) {
	tests := []struct {
		name    string
		objects []runtime.Object
		want    registry.InternalRegistry
		wantIs  error
	}{
		{
			name:    "4.x wins over a leftover 3.11 service",
			objects: []runtime.Object{internalService("default", "docker-registry", internalPort), internalService("openshift-image-registry", "image-registry", internalPort)},
			want:    registry.InternalRegistry{Namespace: "openshift-image-registry", Service: "image-registry", Port: 5000, Flavour: registry.Flavour4x, ClusterIP: "172.30.1.2"},
		},
		{
			name:    "3.11",
			objects: []runtime.Object{internalService("default", "docker-registry", internalPort)},
			want:    registry.InternalRegistry{Namespace: "default", Service: "docker-registry", Port: 5000, Flavour: registry.Flavour311, ClusterIP: "172.30.1.2"},
		},
		{
			name:    "single unnamed port 5000",
			objects: []runtime.Object{internalService("openshift-image-registry", "image-registry", corev1.ServicePort{Port: 5000})},
			want:    registry.InternalRegistry{Namespace: "openshift-image-registry", Service: "image-registry", Port: 5000, Flavour: registry.Flavour4x, ClusterIP: "172.30.1.2"},
		},
		{name: "no registry", wantIs: route.ErrNoRegistryService},
		{
			name:    "service without the registry port",
			objects: []runtime.Object{internalService("openshift-image-registry", "image-registry", corev1.ServicePort{Name: "https", Port: 443})},
			wantIs:  route.ErrNoRegistryPort,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := registry.DetectInternal(t.Context(), kubefake.NewClientset(tt.objects...))
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("err = %v, want %v", err, tt.wantIs)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestInternalRegistryHost(t *testing.T) {
	r := registry.InternalRegistry{Namespace: "openshift-image-registry", Service: "image-registry", Port: 5000}
	if got, want := r.Host(), "image-registry.openshift-image-registry.svc:5000"; got != want {
		t.Errorf("Host() = %q, want %q", got, want)
	}
}

func claim(ns, name string, phase corev1.PersistentVolumeClaimPhase, modes ...corev1.PersistentVolumeAccessMode) *corev1.PersistentVolumeClaim {
	class := "ibmc-file-gold"
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: &class,
			AccessModes:      modes,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("100Gi")}},
		},
		Status: corev1.PersistentVolumeClaimStatus{Phase: phase},
	}
	if phase == corev1.ClaimBound {
		pvc.Spec.VolumeName = "pvc-1234"
		pvc.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("120Gi")}
		pvc.Status.AccessModes = modes
	}
	return pvc
}

func operatorConfig(replicas int32, spec, status imageregistryv1.ImageRegistryConfigStorage) *imageregistryv1.Config {
	return &imageregistryv1.Config{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster"},
		Spec:       imageregistryv1.ImageRegistrySpec{Replicas: replicas, Storage: spec},
		Status:     imageregistryv1.ImageRegistryStatus{Storage: status},
	}
}

func TestStorage(t *testing.T) {
	none := imageregistryv1.ImageRegistryConfigStorage{}
	boundRWX := &registry.ClaimInfo{
		Namespace: "openshift-image-registry", Name: "image-registry-storage", StorageClass: "ibmc-file-gold",
		Requested: "100Gi", Capacity: "120Gi", AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
		Volume: "pvc-1234", Phase: corev1.ClaimBound,
	}
	tests := []struct {
		name     string
		kube     []runtime.Object
		operator *imageregistryv1.Config // nil: no config
		noClient bool                    // pass a nil operator client
		want     registry.StorageInfo
	}{
		{
			name:     "4.x pvc from the applied status, default claim",
			kube:     []runtime.Object{claim("openshift-image-registry", "image-registry-storage", corev1.ClaimBound, corev1.ReadWriteMany)},
			operator: operatorConfig(2, none, imageregistryv1.ImageRegistryConfigStorage{PVC: &imageregistryv1.ImageRegistryConfigStoragePVC{}, ManagementState: "Managed"}),
			want:     registry.StorageInfo{Flavour: registry.Flavour4x, Kind: registry.StoragePVC, ManagementState: "Managed", Claim: boundRWX},
		},
		{
			name:     "4.x pvc named in spec, RWO with 2 replicas",
			kube:     []runtime.Object{claim("openshift-image-registry", "mine", corev1.ClaimBound, corev1.ReadWriteOnce)},
			operator: operatorConfig(2, imageregistryv1.ImageRegistryConfigStorage{PVC: &imageregistryv1.ImageRegistryConfigStoragePVC{Claim: "mine"}}, none),
			want: registry.StorageInfo{Flavour: registry.Flavour4x, Kind: registry.StoragePVC, Claim: &registry.ClaimInfo{
				Namespace: "openshift-image-registry", Name: "mine", StorageClass: "ibmc-file-gold", Requested: "100Gi", Capacity: "120Gi",
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, Volume: "pvc-1234", Phase: corev1.ClaimBound,
			}, Warnings: []string{"claim openshift-image-registry/mine is not ReadWriteMany but the registry has 2 replicas: only one replica can mount it"}},
		},
		{
			name:     "4.x pending claim",
			kube:     []runtime.Object{claim("openshift-image-registry", "image-registry-storage", corev1.ClaimPending, corev1.ReadWriteMany)},
			operator: operatorConfig(1, imageregistryv1.ImageRegistryConfigStorage{PVC: &imageregistryv1.ImageRegistryConfigStoragePVC{}}, none),
			want: registry.StorageInfo{Flavour: registry.Flavour4x, Kind: registry.StoragePVC, Claim: &registry.ClaimInfo{
				Namespace: "openshift-image-registry", Name: "image-registry-storage", StorageClass: "ibmc-file-gold", Requested: "100Gi",
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}, Phase: corev1.ClaimPending,
			}, Warnings: []string{"claim openshift-image-registry/image-registry-storage is Pending: the registry cannot store images until it is bound"}},
		},
		{
			name:     "4.x pvc not created yet",
			operator: operatorConfig(1, imageregistryv1.ImageRegistryConfigStorage{PVC: &imageregistryv1.ImageRegistryConfigStoragePVC{}}, none),
			want: registry.StorageInfo{Flavour: registry.Flavour4x, Kind: registry.StoragePVC,
				Claim:    &registry.ClaimInfo{Namespace: "openshift-image-registry", Name: "image-registry-storage"},
				Warnings: []string{"claim openshift-image-registry/image-registry-storage does not exist yet: the registry cannot start until it is created and bound"}},
		},
		{
			name:     "emptyDir warns",
			operator: operatorConfig(1, imageregistryv1.ImageRegistryConfigStorage{EmptyDir: &imageregistryv1.ImageRegistryConfigStorageEmptyDir{}}, none),
			want:     registry.StorageInfo{Flavour: registry.Flavour4x, Kind: registry.StorageEmptyDir, Warnings: []string{registry.EmptyDirWarning}},
		},
		{
			name: "ibmcos bucket",
			operator: operatorConfig(2, none, imageregistryv1.ImageRegistryConfigStorage{ManagementState: "Managed",
				IBMCOS: &imageregistryv1.ImageRegistryConfigStorageIBMCOS{Bucket: "roks-abc-registry", Location: "us-south"}}),
			want: registry.StorageInfo{Flavour: registry.Flavour4x, Kind: registry.StorageIBMCOS, ManagementState: "Managed", Bucket: "roks-abc-registry", Region: "us-south"},
		},
		{
			name:     "s3 bucket",
			operator: operatorConfig(2, imageregistryv1.ImageRegistryConfigStorage{S3: &imageregistryv1.ImageRegistryConfigStorageS3{Bucket: "b", Region: "us-east-1"}}, none),
			want:     registry.StorageInfo{Flavour: registry.Flavour4x, Kind: registry.StorageS3, Bucket: "b", Region: "us-east-1"},
		},
		{
			name:     "gcs bucket",
			operator: operatorConfig(2, imageregistryv1.ImageRegistryConfigStorage{GCS: &imageregistryv1.ImageRegistryConfigStorageGCS{Bucket: "g", Region: "eu"}}, none),
			want:     registry.StorageInfo{Flavour: registry.Flavour4x, Kind: registry.StorageGCS, Bucket: "g", Region: "eu"},
		},
		{
			name:     "swift container",
			operator: operatorConfig(2, imageregistryv1.ImageRegistryConfigStorage{Swift: &imageregistryv1.ImageRegistryConfigStorageSwift{Container: "c", RegionName: "r1"}}, none),
			want:     registry.StorageInfo{Flavour: registry.Flavour4x, Kind: registry.StorageSwift, Bucket: "c", Region: "r1"},
		},
		{
			name:     "azure container",
			operator: operatorConfig(2, imageregistryv1.ImageRegistryConfigStorage{Azure: &imageregistryv1.ImageRegistryConfigStorageAzure{Container: "az"}}, none),
			want:     registry.StorageInfo{Flavour: registry.Flavour4x, Kind: registry.StorageAzure, Bucket: "az"},
		},
		{
			name:     "oss bucket",
			operator: operatorConfig(2, imageregistryv1.ImageRegistryConfigStorage{OSS: &imageregistryv1.ImageRegistryConfigStorageAlibabaOSS{Bucket: "o", Region: "cn"}}, none),
			want:     registry.StorageInfo{Flavour: registry.Flavour4x, Kind: registry.StorageOSS, Bucket: "o", Region: "cn"},
		},
		{
			name: "removed registry without storage",
			operator: func() *imageregistryv1.Config {
				c := operatorConfig(1, none, none)
				c.Spec.ManagementState = "Removed"
				return c
			}(),
			want: registry.StorageInfo{Flavour: registry.Flavour4x, Warnings: []string{
				"the imageregistry operator config names no storage",
				"the image registry's managementState is Removed: there is no internal registry",
			}},
		},
		{
			name: "3.11 registry-backing claim",
			kube: []runtime.Object{claim("default", "registry-backing", corev1.ClaimBound, corev1.ReadWriteMany)},
			want: registry.StorageInfo{Flavour: registry.Flavour311, Kind: registry.StoragePVC, Claim: &registry.ClaimInfo{
				Namespace: "default", Name: "registry-backing", StorageClass: "ibmc-file-gold", Requested: "100Gi", Capacity: "120Gi",
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}, Volume: "pvc-1234", Phase: corev1.ClaimBound,
			}},
		},
		{
			name:     "no operator client: 4.x claim found directly",
			kube:     []runtime.Object{claim("openshift-image-registry", "image-registry-storage", corev1.ClaimBound, corev1.ReadWriteMany)},
			noClient: true,
			want:     registry.StorageInfo{Flavour: registry.Flavour4x, Kind: registry.StoragePVC, Claim: boundRWX},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := kubefake.NewClientset(tt.kube...)
			var objs []runtime.Object
			if tt.operator != nil {
				objs = append(objs, tt.operator)
			}
			operator := imageregistryfake.NewClientset(objs...)
			var got registry.StorageInfo
			var err error
			if tt.noClient {
				got, err = registry.Storage(t.Context(), kube, nil)
			} else {
				got, err = registry.Storage(t.Context(), kube, operator)
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			for _, a := range append(kube.Actions(), operator.Actions()...) {
				if a.GetVerb() != "get" {
					t.Errorf("Storage made a %s call", a.GetVerb())
				}
			}
		})
	}
}

func TestStorageErrors(t *testing.T) {
	_, err := registry.Storage(t.Context(), kubefake.NewClientset(), imageregistryfake.NewClientset())
	if !errors.Is(err, registry.ErrNoStorageInfo) {
		t.Errorf("err = %v, want ErrNoStorageInfo", err)
	}

	operator := imageregistryfake.NewClientset()
	operator.PrependReactor("get", "configs", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(imageregistryv1.Resource("configs"), "cluster", errors.New("no"))
	})
	_, err = registry.Storage(t.Context(), kubefake.NewClientset(), operator)
	if !apierrors.IsForbidden(err) {
		t.Errorf("err = %v, want the Forbidden error", err)
	}
}

func ExampleStorage() {
	ctx := context.Background()
	operator := imageregistryfake.NewClientset(&imageregistryv1.Config{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster"},
		Spec: imageregistryv1.ImageRegistrySpec{Replicas: 1, Storage: imageregistryv1.ImageRegistryConfigStorage{
			EmptyDir: &imageregistryv1.ImageRegistryConfigStorageEmptyDir{},
		}},
	})
	info, err := registry.Storage(ctx, kubefake.NewClientset(), operator)
	fmt.Println(info.Flavour, info.Kind, err)
	for _, w := range info.Warnings {
		fmt.Println("warning:", w)
	}
	// Output:
	// 4.x emptyDir <nil>
	// warning: emptyDir storage is not persistent: every image pushed to the internal registry is lost when the registry pod restarts or moves
}

func ExampleDetectInternal() {
	kube := kubefake.NewClientset(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "openshift-image-registry", Name: "image-registry"},
		Spec:       corev1.ServiceSpec{ClusterIP: "172.30.1.2", Ports: []corev1.ServicePort{{Name: "5000-tcp", Port: 5000}}},
	})
	r, err := registry.DetectInternal(context.Background(), kube)
	fmt.Println(r.Flavour, r.Host(), r.ClusterIP, err)
	// Output:
	// 4.x image-registry.openshift-image-registry.svc:5000 172.30.1.2 <nil>
}
