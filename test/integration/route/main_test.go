// Package route_test runs route.ExposeRegistry, WaitForHost and
// EnableDefaultRoute against a real kube-apiserver with the Route and
// imageregistry Config CRDs from github.com/openshift/api: the CRD schema,
// defaults and CEL rules must accept what the library writes, and the
// library must not mistake the server's defaults for drift.
package route_test

import (
	"testing"

	"github.com/registrykit/registrykit/test/integration/harness"
)

var env *harness.Env

func TestMain(m *testing.M) { harness.Main(m, &env) }
