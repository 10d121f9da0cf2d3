# registrykit — build and test entry points.
#
#   make test         lint + unit tests (race) + short fuzz + the real API server tier
#                     + the kubelet tier
#   make unit         unit tests only (go vet + go test -race)
#   make integration  the real kube-apiserver + etcd tier under test/ (builds the
#                     binaries from the Go module proxy on first use)
#   make kubelet      the kubelet's image credential provider runner driving
#                     examples/icr-credential-provider (module under test/kubelet)
#   make lint         gofmt + staticcheck (pinned, run with `go run`)
#   make bench        every benchmark, with allocations
#   make quickstart   go run ./examples/quickstart

GO              ?= go
STATICCHECK     := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME        ?= 100000x
GOTEST_FLAGS    ?=

.PHONY: test unit fuzz integration kubelet lint bench quickstart

test: lint unit fuzz integration kubelet

lint:
	@echo '>> gofmt'
	@unformatted=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	@echo '>> staticcheck'
	$(GO) run $(STATICCHECK) ./...

unit:
	$(GO) vet ./...
	$(GO) test -race -count=1 $(GOTEST_FLAGS) ./...

# A short coverage-guided run of each fuzz target over the checked-in seed
# corpus: a count of inputs (about 10 s each here), not a duration, since a
# duration puts the fuzzing under a context deadline that the go command
# can report as a failure ("context deadline exceeded") when it expires
# mid-input. Longer runs: make fuzz FUZZTIME=5m or FUZZTIME=5000000x
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./dockerconfig/
	$(GO) test -run '^$$' -fuzz '^FuzzMerge$$' -fuzztime $(FUZZTIME) ./dockerconfig/

integration:
	@assets=$$(hack/testbin.sh) && \
	cd test/integration && $(GO) vet ./... && \
	KUBEBUILDER_ASSETS="$$assets" $(GO) test -race -count=1 $(GOTEST_FLAGS) ./...

# k8s.io/kubernetes/pkg/credentialprovider/plugin runs the plugin as a
# kubelet does; a module of its own keeps k8s.io/kubernetes out of go.mod.
kubelet:
	cd test/kubelet && $(GO) vet ./... && \
	$(GO) test -race -count=1 $(GOTEST_FLAGS) ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

quickstart:
	$(GO) run ./examples/quickstart
