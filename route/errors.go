package route

import (
	"errors"
	"fmt"
	"strings"

	routev1 "github.com/openshift/api/route/v1"
)

// Sentinel errors; every typed error below matches one of them with
// errors.Is. Invalid input is a *registrykit.InvalidError matching
// registrykit.ErrInvalid.
var (
	// ErrNoRegistryService: none of the well-known registry services exists
	// (or the named one does not).
	ErrNoRegistryService = errors.New("registry service not found")
	// ErrNoRegistryPort: the registry service has no 5000-tcp / 5000 port.
	ErrNoRegistryPort = errors.New("registry service has no registry port")
	// ErrNotAdmitted: every router that reported on the route rejected it.
	ErrNotAdmitted = errors.New("route not admitted")
	// ErrNoOperatorConfig: the imageregistry operator config "cluster" does
	// not exist (OpenShift 3.11, or not an OpenShift cluster).
	ErrNoOperatorConfig = errors.New("image registry operator config not found")
)

// PortError reports a registry service without the expected port. It matches
// ErrNoRegistryPort.
type PortError struct {
	Namespace, Service string
	// Ports lists the ports the service does have, as "name/port".
	Ports []string
}

func (e *PortError) Error() string {
	return fmt.Sprintf("service %s/%s has no port named %q and no single port %d (ports: %s)",
		e.Namespace, e.Service, RegistryPortName, RegistryPort, strings.Join(e.Ports, ", "))
}

// Is reports whether target is ErrNoRegistryPort.
func (e *PortError) Is(target error) bool { return target == ErrNoRegistryPort }

// NotAdmittedError reports a route that routers rejected. It matches
// ErrNotAdmitted.
type NotAdmittedError struct {
	Namespace, Name string
	// Ingress holds the rejecting routers' status entries.
	Ingress []routev1.RouteIngress
}

func (e *NotAdmittedError) Error() string {
	var parts []string
	for _, in := range e.Ingress {
		for _, c := range in.Conditions {
			if c.Type == routev1.RouteAdmitted {
				parts = append(parts, fmt.Sprintf("router %q: %s: %s", in.RouterName, c.Reason, c.Message))
			}
		}
	}
	return fmt.Sprintf("route %s/%s not admitted: %s", e.Namespace, e.Name, strings.Join(parts, "; "))
}

// Is reports whether target is ErrNotAdmitted.
func (e *NotAdmittedError) Is(target error) bool { return target == ErrNotAdmitted }
