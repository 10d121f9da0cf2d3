// Command why-cant-i-pull explains, the way the kubelet would see it, why a
// pod cannot pull an image (or what a new pod of a service account would
// get): the image pull secrets it considers, what is wrong with each, the
// credentials tried in order (registry key and username only) and a
// one-line verdict with the fix. It reads and never writes.
//
//	go run ./examples/why-cant-i-pull                       # embedded scenario
//	KUBECONFIG=~/.kube/config go run ./examples/why-cant-i-pull \
//	  --namespace team-a --pod web-1                        # every image of the pod
//	KUBECONFIG=~/.kube/config go run ./examples/why-cant-i-pull \
//	  --namespace team-a --service-account default --image us.icr.io/team/web:1
//
// Without a kubeconfig it runs on an in-memory OpenShift cluster seeded with
// a failing scenario (a pod created before its service account got
// all-icr-io) and says so on its first line. It needs no IBM Cloud API key.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/registrykit/registrykit/dockerconfig"
	"github.com/registrykit/registrykit/examples/internal/exampleenv"
	"github.com/registrykit/registrykit/icr"
	"github.com/registrykit/registrykit/pullsecret"
	"github.com/registrykit/registrykit/registry/registrytest"
)

func main() { exampleenv.Main("why-cant-i-pull", run) }

// The embedded scenario.
const (
	demoNamespace = "team-a"
	demoPod       = "web-1"
	demoImage     = "us.icr.io/team/web:1"
)

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("why-cant-i-pull", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kubeconfig := fs.String("kubeconfig", "", "path to a kubeconfig (default $KUBECONFIG); without one, an embedded in-memory cluster with a failing scenario is used")
	namespace := fs.String("namespace", "", `namespace of the pod or service account (default "default"; embedded: "`+demoNamespace+`")`)
	pod := fs.String("pod", "", "an existing pod: explain what the kubelet uses for it")
	sa := fs.String("service-account", "", `a service account: explain what a new pod running as it would get ("default" if neither --pod nor this is set)`)
	image := fs.String("image", "", "the image to pull; with --pod and no --image, every image of the pod")
	if err := exampleenv.Parse(fs, args); err != nil {
		return err
	}

	if *kubeconfig == "" {
		*kubeconfig = getenv(exampleenv.EnvKubeconfig)
	}
	var kube kubernetes.Interface
	demo := false // the embedded scenario with its default subject
	if *kubeconfig == "" {
		objs, err := scenario()
		if err != nil {
			return err
		}
		fake, err := registrytest.NewOpenShiftCluster(objs...)
		if err != nil {
			return err
		}
		kube = fake.Kube
		fmt.Fprintf(stdout, "No cluster configured: running on an embedded in-memory OpenShift cluster seeded with a failing scenario "+
			"(pod %s/%s was created before service account default got all-icr-io).\n", demoNamespace, demoPod)
		if *namespace == "" {
			*namespace = demoNamespace
		}
		if *pod == "" && *sa == "" {
			*pod, demo = demoPod, true
			if *image == "" {
				*image = demoImage
			}
		}
	} else {
		cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
		if err != nil {
			return fmt.Errorf("load kubeconfig %s: %w", *kubeconfig, err)
		}
		if kube, err = kubernetes.NewForConfig(cfg); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Using the cluster of %s.\n", *kubeconfig)
	}
	if *namespace == "" {
		*namespace = "default"
	}
	subject := pullsecret.Subject{Pod: *pod, ServiceAccount: *sa}

	images := []string{*image}
	if *image == "" {
		if *pod == "" {
			return fmt.Errorf("--image is required with --service-account")
		}
		var err error
		if images, err = podImages(ctx, kube, *namespace, *pod); err != nil {
			return err
		}
	}
	for _, img := range images {
		e, err := pullsecret.Explain(ctx, kube, *namespace, subject, img)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\n%s\n", e)
	}
	if demo {
		// The contrast: what the pod gets once it is recreated.
		e, err := pullsecret.Explain(ctx, kube, *namespace, pullsecret.Subject{ServiceAccount: "default"}, *image)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nOnce recreated, %s gets what a new pod of service account default gets:\n%s\n", *pod, e)
	}
	return nil
}

// podImages lists the distinct images of a pod's init, regular and
// ephemeral containers, in spec order.
func podImages(ctx context.Context, kube kubernetes.Interface, namespace, name string) ([]string, error) {
	p, err := kube.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get pod %s/%s: %w", namespace, name, err)
	}
	seen := map[string]bool{}
	var out []string
	add := func(img string) {
		if img != "" && !seen[img] {
			seen[img] = true
			out = append(out, img)
		}
	}
	for _, c := range p.Spec.InitContainers {
		add(c.Image)
	}
	for _, c := range p.Spec.Containers {
		add(c.Image)
	}
	for _, c := range p.Spec.EphemeralContainers {
		add(c.Image)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("pod %s/%s has no container image; pass --image", namespace, name)
	}
	return out, nil
}

// scenario is the embedded cluster's team-a: all-icr-io was copied in and
// attached to the default service account after web-1 was created, so
// web-1 still has only the generated dockercfg secret; an older copy,
// legacy-icr-io, became Opaque and is still attached to builder.
func scenario() ([]runtime.Object, error) {
	icr, err := icr.APIKeyConfig("placeholder-api-key-not-a-real-one", nil)
	if err != nil {
		return nil, err
	}
	icrData, err := icr.Marshal()
	if err != nil {
		return nil, err
	}
	internal := &dockerconfig.Config{}
	internal.Set("image-registry.openshift-image-registry.svc:5000", dockerconfig.Entry{Username: "<token>", Password: "placeholder-token"})
	internalData, err := internal.MarshalLegacy()
	if err != nil {
		return nil, err
	}
	ns := demoNamespace
	ref := func(names ...string) []corev1.LocalObjectReference {
		var out []corev1.LocalObjectReference
		for _, n := range names {
			out = append(out, corev1.LocalObjectReference{Name: n})
		}
		return out
	}
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }
	return []runtime.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
		&corev1.ServiceAccount{ObjectMeta: meta("default"), ImagePullSecrets: ref("default-dockercfg-q8z4m", "all-icr-io")},
		&corev1.ServiceAccount{ObjectMeta: meta("builder"), ImagePullSecrets: ref("builder-dockercfg-7vd2k", "legacy-icr-io")},
		&corev1.Secret{ObjectMeta: meta("default-dockercfg-q8z4m"), Type: corev1.SecretTypeDockercfg, Data: map[string][]byte{corev1.DockerConfigKey: internalData}},
		&corev1.Secret{ObjectMeta: meta("builder-dockercfg-7vd2k"), Type: corev1.SecretTypeDockercfg, Data: map[string][]byte{corev1.DockerConfigKey: internalData}},
		&corev1.Secret{ObjectMeta: meta("all-icr-io"), Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: icrData}},
		&corev1.Secret{ObjectMeta: meta("legacy-icr-io"), Type: corev1.SecretTypeOpaque, Data: map[string][]byte{corev1.DockerConfigJsonKey: icrData}},
		&corev1.Pod{ObjectMeta: meta(demoPod), Spec: corev1.PodSpec{
			ServiceAccountName: "default",
			ImagePullSecrets:   ref("default-dockercfg-q8z4m"),
			Containers:         []corev1.Container{{Name: "web", Image: demoImage}},
		}},
	}, nil
}
