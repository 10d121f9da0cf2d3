package iam

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
)

// maxTransient bounds how many short-lived credentials (access, refresh
// and compute-resource tokens) a credential set remembers. A source renews
// its token at 80% of a lifetime of an hour or so; 64 covers days of
// tokens, and an older one has long expired.
const maxTransient = 64

// minScrubLen is the shortest value scrubbed: a shorter "credential" (a
// placeholder in a test) cannot be told apart from ordinary text, and
// replacing it everywhere would garble every message.
const minScrubLen = 8

// credentials is the set of credential values one token source or Client
// holds or has held, so that text coming back from a server (an error
// body, a message) can be scrubbed of every one of them: the API key,
// the current and previous access tokens, refresh tokens, and
// compute-resource tokens. It is safe for concurrent use. It has no
// exported fields and no String method of its own that could print a
// value.
type credentials struct {
	mu        sync.Mutex
	permanent []string
	transient []string // oldest first, at most maxTransient
}

// addPermanent remembers a credential for the life of the set (an API key).
func (c *credentials) addPermanent(v string) {
	if len(v) < minScrubLen {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.permanent {
		if p == v {
			return
		}
	}
	c.permanent = append(c.permanent, v)
}

// add remembers a short-lived credential.
func (c *credentials) add(v string) {
	if len(v) < minScrubLen {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.transient {
		if t == v {
			return
		}
	}
	c.transient = append(c.transient, v)
	if n := len(c.transient) - maxTransient; n > 0 {
		c.transient = append(c.transient[:0:0], c.transient[n:]...)
	}
}

// scrub replaces every remembered credential in s, raw or URL-encoded
// (an echoed form body), with "[REDACTED]".
func (c *credentials) scrub(s string) string {
	if c == nil || s == "" {
		return s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, list := range [][]string{c.permanent, c.transient} {
		for _, v := range list {
			s = scrubValue(s, v)
			if q := url.QueryEscape(v); q != v {
				s = strings.ReplaceAll(s, q, redacted)
			}
		}
	}
	return s
}

// scrubber is implemented by the token sources of this package: it
// removes every credential the source holds or has held from s.
type scrubber interface {
	scrub(s string) string
}

// Format implements fmt.Formatter: a credential set never prints its
// values, whatever the verb or depth.
func (c *credentials) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }
