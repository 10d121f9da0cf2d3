package harness

import (
	"maps"
	"net/http"
	"sort"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/client-go/rest"
)

// RequestCounter counts the API requests made through a rest.Config from
// [CountRequests], keyed by verb and resource the way the API server's
// authorizer sees them: "list secrets", "get secrets", "watch secrets",
// "create secrets", "update serviceaccounts", "patch routes",
// "update routes/status", "deletecollection secrets". Requests outside the
// resource API (discovery, /version) are keyed by lower-case method and
// path: "get /api". Every attempt counts, including retries and failures.
//
// It is safe for concurrent use.
type RequestCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

// Count is the number of requests with this verb ("get", "list", "watch",
// "create", "update", "patch", "delete", "deletecollection") on this
// resource ("secrets", or "routes/status" for a subresource).
func (c *RequestCounter) Count(verb, resource string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[verb+" "+resource]
}

// Total is the number of requests of any kind.
func (c *RequestCounter) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.counts {
		n += v
	}
	return n
}

// Reset forgets every request counted so far.
func (c *RequestCounter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.counts)
}

// Snapshot returns a copy of the counts keyed "verb resource", for
// cmp.Diff against an expected map.
func (c *RequestCounter) Snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.counts)
}

func (c *RequestCounter) record(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts[key]++
}

// requestInfo is the API server's own request classifier.
var requestInfo = &request.RequestInfoFactory{
	APIPrefixes:          sets.NewString("api", "apis"),
	GrouplessAPIPrefixes: sets.NewString("api"),
}

// requestKey classifies req as "verb resource[/subresource]", or
// "method path" for non-resource requests.
func requestKey(req *http.Request) string {
	info, err := requestInfo.NewRequestInfo(req)
	if err != nil || !info.IsResourceRequest {
		return strings.ToLower(req.Method) + " " + req.URL.Path
	}
	res := info.Resource
	if info.Subresource != "" {
		res += "/" + info.Subresource
	}
	return info.Verb + " " + res
}

// CountRequests returns a copy of cfg whose clients count every request
// in the returned counter. Any WrapTransport already in cfg still applies.
func CountRequests(cfg *rest.Config) (*rest.Config, *RequestCounter) {
	c := &RequestCounter{counts: map[string]int{}}
	out := rest.CopyConfig(cfg)
	out.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return &countingTransport{next: rt, counter: c}
	})
	return out, c
}

type countingTransport struct {
	next    http.RoundTripper
	counter *RequestCounter
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.counter.record(requestKey(req))
	return t.next.RoundTrip(req)
}

// WrappedRoundTripper lets client-go's transport debugging see through.
func (t *countingTransport) WrappedRoundTripper() http.RoundTripper { return t.next }

// Writes lists the counted write requests (create, update, patch, delete,
// deletecollection), one entry per request, sorted: e.g.
// ["create routes", "update routes"].
func (c *RequestCounter) Writes() []string {
	var out []string
	for k, n := range c.Snapshot() {
		verb, _, _ := strings.Cut(k, " ")
		switch verb {
		case "create", "update", "patch", "delete", "deletecollection":
			for range n {
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}
