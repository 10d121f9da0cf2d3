package iam_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
)

const ownerIAMID = "IBMid-100000ABCD"

// logBuffer captures everything a client logs, at every level.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fixture is a fake IAM with an account owner's key and a client using it
// through the real IamAuthenticator token exchange.
type fixture struct {
	srv    *iamtest.Server
	client *iam.Client
	key    string
	logs   *logBuffer
}

func newFixture(t *testing.T, mutate ...func(*iam.Options)) *fixture {
	t.Helper()
	srv := iamtest.NewServer()
	t.Cleanup(srv.Close)
	return newFixtureOn(t, srv, srv.AddAPIKey(ownerIAMID), mutate...)
}

func newFixtureOn(t *testing.T, srv *iamtest.Server, key string, mutate ...func(*iam.Options)) *fixture {
	t.Helper()
	logs := &logBuffer{}
	opts := iam.Options{
		APIKey:           iam.NewSecret(key),
		AccountID:        srv.AccountID(),
		URL:              srv.URL(),
		MaxRetryInterval: time.Millisecond,
		Logger:           slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range mutate {
		m(&opts)
	}
	c, err := iam.New(opts)
	if err != nil {
		t.Fatalf("iam.New: %v", err)
	}
	return &fixture{srv: srv, client: c, key: key, logs: logs}
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// invalidFields returns the field paths of an invalid-input error, in
// order, or fails the test if err is not one.
func invalidFields(t *testing.T, err error) []string {
	t.Helper()
	var ie *registrykit.InvalidError
	if !errors.As(err, &ie) || !errors.Is(err, registrykit.ErrInvalid) {
		t.Fatalf("error = %v, want a *registrykit.InvalidError", err)
	}
	var out []string
	for _, fe := range ie.Errs {
		out = append(out, fe.Field)
	}
	return out
}

func fieldPath(name string) *field.Path { return field.NewPath(name) }
