// Package smoke proves the integration tier is a real API server: it
// validates objects, runs CRD schema and CEL validation, enforces RBAC and
// optimistic concurrency — all things client-go's fake clientset does not.
package smoke

import (
	"testing"

	"github.com/registrykit/registrykit/test/integration/harness"
)

var env *harness.Env

func TestMain(m *testing.M) { harness.Main(m, &env) }
