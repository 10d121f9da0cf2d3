// Package pullsecret_test runs package pullsecret against a real
// kube-apiserver + etcd (see test/integration/harness): field selectors,
// server-side dry run, optimistic concurrency, RBAC and Terminating
// namespaces behave as they do in a cluster, which the fake clientset used
// by the unit tests does not show.
//
//	cd test/integration && go test ./pullsecret/
//	cd test/integration && REGISTRYKIT_SCALE=1 go test -run TestScale -v ./pullsecret/
package pullsecret_test

import (
	"testing"

	"github.com/registrykit/registrykit/test/integration/harness"
)

var env *harness.Env

func TestMain(m *testing.M) { harness.Main(m, &env) }
