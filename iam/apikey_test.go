package iam_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/registrykit/registrykit"
	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
)

func TestAPIKeyLifecycle(t *testing.T) {
	f := newFixture(t)
	sid, _, err := f.client.EnsureServiceID(ctx(t), "svc", "")
	if err != nil {
		t.Fatal(err)
	}
	key, err := f.client.CreateAPIKey(ctx(t), sid.IAMID, iam.APIKeyOptions{Name: "pull", Description: "cluster pull secret"})
	if err != nil {
		t.Fatal(err)
	}
	if key.Value.IsZero() {
		t.Fatal("created key has no value")
	}
	stored := f.srv.APIKeys()[1] // [0] is the owner's key
	want := iam.APIKey{ID: stored.ID, Name: "pull", Description: "cluster pull secret", IAMID: sid.IAMID,
		AccountID: f.srv.AccountID(), CRN: stored.CRN, ActionWhenLeaked: iam.LeakDisable}
	ignore := cmpopts.IgnoreFields(iam.APIKey{}, "CreatedAt", "Value")
	if diff := cmp.Diff(want, key, ignore); diff != "" {
		t.Errorf("created key (-want +got):\n%s", diff)
	}

	listed, err := f.client.ListAPIKeys(ctx(t), sid.IAMID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]iam.APIKey{want}, listed, ignore); diff != "" {
		t.Errorf("listed keys (-want +got):\n%s", diff)
	}
	if !listed[0].Value.IsZero() {
		t.Error("a listed key carries a value")
	}

	details, err := f.client.APIKeyDetails(ctx(t), key.Value)
	if err != nil {
		t.Fatal(err)
	}
	wantDetails := iam.APIKeyDetails{ID: key.ID, Name: "pull", Description: "cluster pull secret", IAMID: sid.IAMID, AccountID: f.srv.AccountID(), CRN: key.CRN, CreatedAt: key.CreatedAt}
	if diff := cmp.Diff(wantDetails, details); diff != "" {
		t.Errorf("details (-want +got):\n%s", diff)
	}
	if !details.Valid() {
		t.Error("a fresh key is not Valid")
	}
	f.srv.DisableAPIKey(key.ID)
	if d, err := f.client.APIKeyDetails(ctx(t), key.Value); err != nil || d.Valid() {
		t.Errorf("disabled key: Valid=%v err=%v, want invalid", d.Valid(), err)
	}

	if _, err := f.client.DeleteAPIKey(ctx(t), key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.DeleteAPIKey(ctx(t), key.ID); err != nil {
		t.Errorf("second delete: %v, want nil", err)
	}
	if _, err := f.client.APIKeyDetails(ctx(t), key.Value); !errors.Is(err, iam.ErrNotFound) {
		t.Errorf("details of a deleted key: %v, want ErrNotFound", err)
	}
}

func TestListAPIKeysPaging(t *testing.T) {
	f := newFixture(t)
	const owner = "IBMid-2000"
	for range 230 {
		f.srv.AddAPIKey(owner)
	}
	keys, err := f.client.ListAPIKeys(ctx(t), owner)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 230 {
		t.Errorf("keys = %d, want 230", len(keys))
	}
	if n := count(f.srv, iamtest.OpListAPIKeys); n != 3 {
		t.Errorf("list requests = %d, want 3 pages", n)
	}
}

func TestCreateAPIKeyFailures(t *testing.T) {
	tests := []struct {
		name        string
		fault       iamtest.Fault
		wantErr     error
		wantCreates int
		wantKeys    int
	}{
		{"rate limited then created", iamtest.Fault{Op: iamtest.OpCreateAPIKey, Status: 429, RetryAfter: "0"}, nil, 2, 1},
		{"ambiguous failure is not repeated", iamtest.Fault{Op: iamtest.OpCreateAPIKey, Status: 503, AfterApply: true}, nil, 1, 1},
		{"forbidden", iamtest.Fault{Op: iamtest.OpCreateAPIKey, Status: 403}, iam.ErrForbidden, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.srv.Inject(tt.fault)
			_, err := f.client.CreateAPIKey(ctx(t), "IBMid-3000", iam.APIKeyOptions{Name: "k"})
			switch {
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("error = %v, want %v", err, tt.wantErr)
			case tt.wantErr == nil && tt.fault.Status < 500 && err != nil:
				t.Errorf("error = %v", err)
			case tt.fault.Status >= 500 && err == nil:
				t.Error("ambiguous failure reported as success")
			}
			if n := count(f.srv, iamtest.OpCreateAPIKey); n != tt.wantCreates {
				t.Errorf("create requests = %d, want %d", n, tt.wantCreates)
			}
			if n := len(f.srv.APIKeys()) - 1; n != tt.wantKeys {
				t.Errorf("keys created = %d, want %d", n, tt.wantKeys)
			}
		})
	}
}

func TestAPIKeyValidation(t *testing.T) {
	f := newFixture(t)
	_, err := f.client.CreateAPIKey(ctx(t), "", iam.APIKeyOptions{Name: ""})
	if !errors.Is(err, registrykit.ErrInvalid) || fmt.Sprint(err) == "" {
		t.Errorf("CreateAPIKey: %v, want ErrInvalid", err)
	}
	for name, err := range map[string]error{
		"list":    func() error { _, err := f.client.ListAPIKeys(ctx(t), ""); return err }(),
		"delete":  func() error { _, err := f.client.DeleteAPIKey(ctx(t), ""); return err }(),
		"details": func() error { _, err := f.client.APIKeyDetails(ctx(t), iam.Secret{}); return err }(),
	} {
		if !errors.Is(err, registrykit.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if n := len(f.srv.Requests()); n != 0 {
		t.Errorf("%d requests sent for invalid input", n)
	}
}
