// Package propagate_test runs package propagate against a real
// kube-apiserver + etcd (see test/integration/harness): watches with field
// selectors, resourceVersion conflicts, Terminating namespaces, Leases and
// Events behave as they do in a cluster.
//
//	cd test/integration && go test ./propagate/
//	cd test/integration && REGISTRYKIT_SCALE=1 go test -run TestScale -v -timeout 60m ./propagate/
package propagate_test

import (
	"testing"

	"github.com/registrykit/registrykit/test/integration/harness"
)

var env *harness.Env

func TestMain(m *testing.M) { harness.Main(m, &env) }
