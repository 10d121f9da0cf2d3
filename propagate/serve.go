package propagate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Healthz reports whether the Propagator is alive: nil while it runs,
// unless it leads and has failed to renew its Lease for 20 s past its
// duration. Its signature is controller-runtime's healthz.Checker.
func (p *Propagator) Healthz(*http.Request) error {
	if le := p.elector; le != nil {
		return le.Check(20 * time.Second)
	}
	return nil
}

// Readyz reports whether the informers' caches have filled: nil once they
// have. Its signature is controller-runtime's healthz.Checker.
func (p *Propagator) Readyz(*http.Request) error {
	if !p.synced.Load() {
		return errors.New("caches not synced")
	}
	return nil
}

// MetricsHandler serves the Propagator's metrics in the Prometheus text
// format. With Options.Registerer set to a registerer that is not also a
// Gatherer, it answers 404: serve that registry yourself.
func (p *Propagator) MetricsHandler() http.Handler {
	if p.gatherer == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(p.gatherer, promhttp.HandlerOpts{})
}

func checkHandler(check func(*http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := check(r); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, err)
			return
		}
		fmt.Fprintln(w, "ok")
	})
}

// serve starts the metrics and health servers whose addresses are set (one
// server when both are the same) and returns what stops them.
func (p *Propagator) serve() (stop func(), err error) {
	muxes := map[string]*http.ServeMux{}
	mux := func(addr string) *http.ServeMux {
		if m, ok := muxes[addr]; ok {
			return m
		}
		m := http.NewServeMux()
		muxes[addr] = m
		return m
	}
	if on(p.opts.MetricsAddr) {
		mux(p.opts.MetricsAddr).Handle("/metrics", p.MetricsHandler())
	}
	if on(p.opts.HealthAddr) {
		m := mux(p.opts.HealthAddr)
		m.Handle("/healthz", checkHandler(p.Healthz))
		m.Handle("/readyz", checkHandler(p.Readyz))
	}
	var servers []*http.Server
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, s := range servers {
			_ = s.Shutdown(ctx)
		}
	}
	for addr, m := range muxes {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			stop()
			return nil, fmt.Errorf("propagate: listen on %s: %w", addr, err)
		}
		s := &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, s)
		go func() { _ = s.Serve(ln) }()
	}
	return stop, nil
}

func on(addr string) bool { return addr != "" && addr != "0" }
