package iam_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
)

// An access token from an API key, for IBM Cloud Container Registry's
// "iambearer" user. The token prints redacted; Reveal is the way out.
func ExampleNewAPIKeyTokenSource() {
	srv := iamtest.NewServer(iamtest.WithTokenLifetime(20 * time.Minute))
	defer srv.Close()

	src, err := iam.NewAPIKeyTokenSource(iam.NewSecret(srv.AddAPIKey("iam-ServiceId-123")), iam.TokenOptions{
		URL: srv.URL(), // empty means https://iam.cloud.ibm.com
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, err := src.Token(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("lifetime:", tok.Lifetime())
	fmt.Println("renewed after:", tok.RenewAt().Sub(tok.IssuedAt))
	fmt.Printf("printed: %v\n", tok.Value)
	fmt.Println("password for iambearer:", len(tok.Value.Reveal()) > 0)
	// Output:
	// lifetime: 20m0s
	// renewed after: 16m0s
	// printed: [REDACTED]
	// password for iambearer: true
}

// A trusted profile needs no API key: the workload's compute-resource
// token (on a cluster, a projected service account token) is exchanged for
// the profile's access token. A Client can run on it.
func ExampleNewTrustedProfileTokenSource() {
	srv := iamtest.NewServer()
	defer srv.Close()
	const workload = "system:serviceaccount:kube-system:registrykit"
	srv.AddTrustedProfile("registry-puller", workload)

	dir, err := os.MkdirTemp("", "cr-token")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = os.RemoveAll(dir) }()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte(srv.CRToken(workload, time.Hour)), 0o600); err != nil {
		fmt.Println(err)
		return
	}

	src, err := iam.NewTrustedProfileTokenSource(iam.TrustedProfileOptions{
		ProfileName:  "registry-puller",
		CRTokenFile:  file, // empty means the files go-sdk-core's ContainerAuthenticator tries
		TokenOptions: iam.TokenOptions{URL: srv.URL()},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	client, err := iam.New(iam.Options{TokenSource: src, AccountID: srv.AccountID(), URL: srv.URL()})
	if err != nil {
		fmt.Println(err)
		return
	}
	ids, err := client.ListServiceIDs(context.Background())
	fmt.Println(len(ids), err)
	// Output:
	// 0 <nil>
}
