// Package harness runs the real API server tier of the registrykit tests:
// one kube-apiserver + etcd per test package (started by [Main] from
// TestMain, via controller-runtime's envtest), with the CRDs under test/crds
// installed, plus helpers for per-test namespaces, least-privilege users and
// request counting.
//
// The binaries are built from source by hack/testbin.sh into
// bin/k8s/<kubernetes version>/ at the repository root. [Start] uses
// KUBEBUILDER_ASSETS when it is set and that folder otherwise; when the
// binaries are missing it fails with the command that builds them. It never
// skips.
//
// Typical use:
//
//	var env *harness.Env
//
//	func TestMain(m *testing.M) { harness.Main(m, &env) }
//
//	func TestSomething(t *testing.T) {
//		ns := env.Namespace(t)
//		_, err := env.Kube.CoreV1().Secrets(ns).Create(t.Context(), secret, metav1.CreateOptions{})
//		...
//	}
//
// [Env.RestartAPIServer] stops kube-apiserver and starts it again on the
// same address with the same certificates while etcd runs on, so a test
// can show what a controller does across an API server restart; every
// client made before keeps working.
//
// What this server is not: there is no kube-controller-manager, so nothing
// creates the "default" service account or token secrets, garbage
// collection does not run and deleted namespaces stay Terminating forever;
// the ServiceAccount admission plugin is disabled (envtest's default). The
// OpenShift ImageStream and BuildConfig APIs are stand-in CRDs (see
// test/crds/README.md): there is no image import, no build, no route
// admission; controllers' status fields are written only by the tests.
package harness
