package icr_test

import (
	"context"
	"fmt"
	"time"

	"github.com/registrykit/registrykit/iam"
	"github.com/registrykit/registrykit/iam/iamtest"
	"github.com/registrykit/registrykit/icr"
)

// An iambearer document for two domains, from an IAM access token.
func ExampleBearerConfig() {
	tok := iam.Token{Value: iam.NewSecret("an-iam-access-token")}
	cfg, err := icr.BearerConfig(tok, []string{"us.icr.io", "de.icr.io"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, server := range cfg.Servers() {
		fmt.Println(server, cfg.Auths[server].Username)
	}
	// Output:
	// de.icr.io iambearer
	// us.icr.io iambearer
}

// The refresh policy for one of IAM's one-hour tokens, as time passes.
func ExampleRefreshPolicy_Decide() {
	issued := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	tok := iam.Token{Value: iam.NewSecret("t"), IssuedAt: issued, Expiry: issued.Add(time.Hour)}
	var policy icr.RefreshPolicy
	for _, after := range []time.Duration{10 * time.Minute, 48 * time.Minute, 56 * time.Minute} {
		d := policy.Decide(tok, issued.Add(after))
		fmt.Printf("after %v: renew %v, writable %v\n", after, d.Renew, d.Writable)
	}
	fmt.Println("cache for:", policy.FreshFor(tok, issued.Add(10*time.Minute)))
	// Output:
	// after 10m0s: renew false, writable true
	// after 48m0s: renew true, writable true
	// after 56m0s: renew true, writable false
	// cache for: 38m0s
}

// A Refresher turns a token source into the credential to store: the
// caller writes Config when Renewed and calls again at Next.
func ExampleRefresher() {
	srv := iamtest.NewServer()
	defer srv.Close()
	key := srv.AddAPIKey("iam-ServiceId-puller")
	src, err := iam.NewAPIKeyTokenSource(iam.NewSecret(key), iam.TokenOptions{URL: srv.URL()})
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := icr.NewRefresher(src, []string{"us.icr.io"}, icr.RefresherOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	var stored iam.Token // what the secret holds: nothing yet
	out, err := r.Refresh(context.Background(), stored)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("write:", out.Renewed && out.Writable)
	fmt.Println("next in about:", time.Until(out.Next).Round(time.Minute))

	out, _ = r.Refresh(context.Background(), out.Token)
	fmt.Println("write again:", out.Renewed)
	// Output:
	// write: true
	// next in about: 48m0s
	// write again: false
}
