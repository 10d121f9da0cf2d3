package iamtest_test

import (
	"context"
	"fmt"

	"github.com/IBM/go-sdk-core/v5/core"
	"github.com/IBM/platform-services-go-sdk/iamidentityv1"
	"github.com/registrykit/registrykit/iam/iamtest"
)

// The fake serves the real SDK, authenticated by the real token exchange;
// a fault makes the first create fail after it was applied.
func Example() {
	srv := iamtest.NewServer()
	defer srv.Close()
	key := srv.AddAPIKey("IBMid-100000ABCD")

	identity, err := iamidentityv1.NewIamIdentityV1(&iamidentityv1.IamIdentityV1Options{
		URL:           srv.URL(),
		Authenticator: &core.IamAuthenticator{ApiKey: key, URL: srv.URL()},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv.FailAfterApply(iamtest.OpCreateServiceID, 1, 500)
	name, account := "cluster-abc", srv.AccountID()
	_, resp, err := identity.CreateServiceIDWithContext(context.Background(),
		&iamidentityv1.CreateServiceIDOptions{AccountID: &account, Name: &name})
	fmt.Println(resp.StatusCode, err != nil)
	fmt.Println(len(srv.ServiceIDs()), srv.ServiceIDs()[0].Name)
	for _, r := range srv.Requests() {
		fmt.Printf("%s %d %q\n", r.Op, r.Status, r.Header.Get("Authorization"))
	}
	// Output:
	// 500 true
	// 1 cluster-abc
	// GetToken 200 ""
	// CreateServiceID 500 "Bearer [REDACTED]"
}
