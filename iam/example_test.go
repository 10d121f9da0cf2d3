package iam_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
)

// The replacement for `ibmcloud iam service-id-create`,
// `service-policy-create --roles Reader --service-name container-registry`
// and `service-api-key-create`, run against the fake IAM.
func Example() {
	srv := iamtest.NewServer()
	defer srv.Close()
	ownerKey := srv.AddAPIKey("IBMid-100000ABCD")

	ctx := context.Background()
	client, err := iam.New(iam.Options{
		APIKey:    iam.NewSecret(ownerKey),
		AccountID: srv.AccountID(),
		URL:       srv.URL(), // empty means https://iam.cloud.ibm.com
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	sid, res, err := client.EnsureServiceID(ctx, "cluster-abc", "image pulls for cluster abc")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("service ID", sid.Name, res)

	for _, region := range []string{"", "global"} {
		p, res, err := client.EnsureRegistryPolicy(ctx, sid.IAMID, iam.Access{Role: "reader", Region: region})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("policy %s region=%q %s\n", p.Access.Role, p.Access.Region, res)
	}

	key, err := client.CreateAPIKey(ctx, sid.IAMID, iam.APIKeyOptions{Name: "cluster-abc-pull"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("key value prints as", key.Value)

	// A rerun changes nothing.
	_, res, _ = client.EnsureServiceID(ctx, "cluster-abc", "image pulls for cluster abc")
	fmt.Println("rerun:", res)
	// Output:
	// service ID cluster-abc created
	// policy Reader region="" created
	// policy Reader region="global" created
	// key value prints as [REDACTED]
	// rerun: unchanged
}

func ExampleClient_APIKeyDetails() {
	srv := iamtest.NewServer()
	defer srv.Close()
	client, _ := iam.New(iam.Options{
		APIKey: iam.NewSecret(srv.AddAPIKey("IBMid-100000ABCD")), AccountID: srv.AccountID(), URL: srv.URL(),
	})
	ctx := context.Background()

	key, _ := client.CreateAPIKey(ctx, "IBMid-100000ABCD", iam.APIKeyOptions{Name: "ci"})
	d, err := client.APIKeyDetails(ctx, key.Value)
	fmt.Println(d.Name, d.IAMID, d.Valid(), err)

	_, _ = client.DeleteAPIKey(ctx, key.ID)
	_, err = client.APIKeyDetails(ctx, key.Value)
	fmt.Println(errors.Is(err, iam.ErrNotFound))
	// Output:
	// ci IBMid-100000ABCD true <nil>
	// true
}

func ExampleAccess_Normalize() {
	a, err := iam.Access{Role: "writer", Region: "uk-south", Namespace: "team-a"}.Normalize()
	fmt.Printf("%+v %v\n", a, err)

	_, err = iam.Access{Role: "owner", Region: "mars"}.Normalize()
	fmt.Println(err)
	// Output:
	// {Role:Writer Region:eu-gb Namespace:team-a} <nil>
	// invalid iam.Access input: [role: Unsupported value: "owner": supported values: "Reader", "Writer", "Manager", region: Invalid value: "mars": not a Container Registry region (see iam.Regions)]
}

func ExampleSecret() {
	s := iam.NewSecret("0123456789abcdef")
	fmt.Printf("%v %s %q %#v\n", s, s, s, s)
	fmt.Println(len(s.Reveal()))
	// Output:
	// [REDACTED] [REDACTED] [REDACTED] iam.Secret("[REDACTED]")
	// 16
}

// Automation rotates a key once it is about to expire: keys created with
// APIKeyOptions.ExpiresAt plus a periodic check give a bounded key
// lifetime.
func ExampleAPIKey_ExpiresWithin() {
	now := time.Date(2030, 3, 1, 9, 0, 0, 0, time.UTC)
	keys := []iam.APIKey{
		{Name: "cluster-a-pull", ExpiresAt: now.Add(3 * 24 * time.Hour)},
		{Name: "cluster-b-pull", ExpiresAt: now.Add(60 * 24 * time.Hour)},
		{Name: "legacy-pull"}, // no expiry
	}
	for _, k := range keys {
		fmt.Println(k.Name, "rotate:", k.ExpiresWithin(14*24*time.Hour, now))
	}
	// Output:
	// cluster-a-pull rotate: true
	// cluster-b-pull rotate: false
	// legacy-pull rotate: false
}

// Keys made by registrykit carry Marker in their description, so pruning
// and teardown can leave everyone else's keys alone.
func ExampleMark() {
	desc := iam.Mark("API key for cluster c0ffee access to IBM Cloud Container Registry")
	fmt.Println(desc)
	fmt.Println(iam.APIKey{Description: desc}.Marked(), iam.APIKey{Description: "made by hand"}.Marked())
	// Output:
	// API key for cluster c0ffee access to IBM Cloud Container Registry [registrykit]
	// true false
}
