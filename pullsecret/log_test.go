package pullsecret

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/dockerconfig"
)

func TestLoggerRecordsDecisionsWithoutSecrets(t *testing.T) {
	ctx := context.Background()
	var buf bytes.Buffer
	opts := registrykit.WriteOptions{Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	kube := fake.NewClientset(sourceSecret(t), globalSecret(t, openshiftRegistries...))
	if _, err := Apply(ctx, kube, "team-a", "icr", cfgOf(t, "us.icr.io"), opts); err != nil {
		t.Fatal(err)
	}
	rep, err := Copy(ctx, kube, src, Targets{Namespaces: []string{"team-a", "team-b"}}, CopyOptions{WriteOptions: opts})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failed()) != 0 {
		t.Errorf("Failed() = %v", rep.Failed())
	}
	if _, err := MergeGlobal(ctx, kube, cfgOf(t, "us.icr.io"), GlobalOptions{WriteOptions: opts}); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(buf.Bytes(), []byte("\n")); n != 4 {
		t.Errorf("log records = %d, want 4 (one per decision):\n%s", n, &buf)
	}
	assertNoSecret(t, nil, buf.String())
}

func TestValidationKeepsDockerconfigErrors(t *testing.T) {
	bad := &dockerconfig.Config{Auths: map[string]dockerconfig.Entry{"https://": {Username: "u", Password: "p"}}}
	_, err := Apply(context.Background(), fake.NewClientset(), "a", "b", bad, registrykit.WriteOptions{})
	if !errors.Is(err, registrykit.ErrInvalid) || !contains(err.Error(), "config: Invalid value") || !contains(err.Error(), "https://") {
		t.Errorf("err = %v, want registrykit.ErrInvalid naming the config and its bad server", err)
	}
	_, err = MergeGlobal(context.Background(), fake.NewClientset(), cfgOf(t, "us.icr.io"), GlobalOptions{Required: []string{"ftp://x"}})
	if !errors.Is(err, registrykit.ErrInvalid) {
		t.Errorf("bad Required: err = %v", err)
	}
}
