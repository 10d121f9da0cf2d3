package harness

import (
	"os"
	"strconv"
	"sync"
	"testing"
)

// EnvInt is the positive integer in the environment variable key, or def
// when it is unset; anything else fails the test. The opt-in scale tests
// read their sizes with it.
func EnvInt(t testing.TB, key string, def int) int {
	t.Helper()
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", key, v)
	}
	return n
}

// Parallel runs fn(0..n-1) with at most conc calls in flight and fails t
// with the first error once all have returned. The scale tests set up and
// tear down thousands of objects with it.
func Parallel(t testing.TB, n, conc int, fn func(i int) error) {
	t.Helper()
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}
