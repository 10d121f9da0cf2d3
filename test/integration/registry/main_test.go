// Package registry_test runs the registry workflows against a real
// kube-apiserver + etcd (see test/integration/harness) and the in-process
// fake IAM (iam/iamtest): field selectors, server-side dry run, optimistic
// concurrency and cluster-wide Lists behave as in a cluster, which the fake
// clientsets of the unit tests do not show.
//
//	cd test/integration && KUBEBUILDER_ASSETS=$(../../hack/testbin.sh) go test ./registry/
package registry_test

import (
	"testing"

	"github.com/registrykit/registrykit/test/integration/harness"
)

var env *harness.Env

func TestMain(m *testing.M) { harness.Main(m, &env) }
