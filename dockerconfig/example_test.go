package dockerconfig_test

import (
	"errors"
	"fmt"

	"github.com/registrykit/registrykit/dockerconfig"
)

// Build the document kubectl create secret docker-registry would build.
func ExampleConfig_Marshal() {
	var c dockerconfig.Config
	c.Set("us.icr.io", dockerconfig.Entry{Username: "iamapikey", Password: "demo-key", Email: "me@example.com"})
	b, err := c.Marshal()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(b))
	// Output:
	// {"auths":{"us.icr.io":{"username":"iamapikey","password":"demo-key","email":"me@example.com","auth":"aWFtYXBpa2V5OmRlbW8ta2V5"}}}
}

// Merge ICR credentials into a global pull secret: other registries and
// unknown keys survive, the ICR entry replaces the old one whole.
func ExampleMergeBytes() {
	global := []byte(`{"auths":{"quay.io":{"auth":"dTpw","email":"me@example.com"},"https://us.icr.io/v1/":{"auth":"b2xkOm9sZA=="}},"credsStore":"desktop"}`)
	icr := []byte(`{"auths":{"us.icr.io":{"username":"iamapikey","password":"new","auth":"aWFtYXBpa2V5Om5ldw=="}}}`)
	out, err := dockerconfig.MergeBytes(global, icr)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(out))
	// Output:
	// {"auths":{"quay.io":{"auth":"dTpw","email":"me@example.com"},"us.icr.io":{"username":"iamapikey","password":"new","auth":"aWFtYXBpa2V5Om5ldw=="}},"credsStore":"desktop"}
}

// Find which credentials the kubelet would use for an image.
func ExampleConfig_Lookup() {
	c, err := dockerconfig.Parse([]byte(`{"auths":{
		"https://us.icr.io/v1/":{"auth":"aWFtYXBpa2V5OmsxCg=="},
		"us.icr.io/team":{"auth":"aWFtYXBpa2V5OmsyCg=="},
		"*.icr.io":{"auth":"aWFtYXBpa2V5OmszCg=="}}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range c.Lookup("us.icr.io/team/app:1.0@sha256:0123") {
		fmt.Println(m.Server, m.Entry)
	}
	// Output:
	// us.icr.io/team {Username:"iamapikey" Password:REDACTED Auth:REDACTED}
	// https://us.icr.io/v1/ {Username:"iamapikey" Password:REDACTED Auth:REDACTED}
	// *.icr.io {Username:"iamapikey" Password:REDACTED Auth:REDACTED}
}

// Errors name the registry and field, never the value.
func ExampleParse_errors() {
	_, err := dockerconfig.Parse([]byte(`{"auths":{"us.icr.io":{"auth":"c2VjcmV0"}}}`))
	fmt.Println(err)
	fmt.Println(errors.Is(err, dockerconfig.ErrInvalidAuth))
	var pe *dockerconfig.ParseError
	if errors.As(err, &pe) {
		fmt.Println(pe.Registry, pe.Field)
	}
	// Output:
	// dockerconfig: registry "us.icr.io": field "auth": invalid auth (want base64 of user:password): no ':' between user and password
	// true
	// us.icr.io auth
}

// Printing never shows secrets, whatever the verb.
func ExampleEntry_String() {
	e := dockerconfig.Entry{Username: "iamapikey", Password: "demo-key"}
	fmt.Printf("%v\n%+v\n%#v\n", e, e, e)
	// Output:
	// {Username:"iamapikey" Password:REDACTED}
	// {Username:"iamapikey" Password:REDACTED}
	// dockerconfig.Entry{Username:"iamapikey", Password:"REDACTED"}
}

func ExampleNormalizeServer() {
	for _, s := range []string{"https://us.icr.io/v1/", "us.icr.io", "http://localhost:5000/v2/", "us.icr.io/team"} {
		n, _ := dockerconfig.NormalizeServer(s)
		fmt.Println(n)
	}
	// Output:
	// us.icr.io
	// us.icr.io
	// localhost:5000
	// us.icr.io/team
}

// Parse a Secret's data the way the kubelet picks it.
func ExampleParseSecret() {
	c, err := dockerconfig.ParseSecret("kubernetes.io/dockercfg", map[string][]byte{
		".dockercfg": []byte(`{"172.30.1.1:5000":{"auth":"c2VydmljZWFjY291bnQ6dG9rZW4="}}`),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Servers())
	_, err = dockerconfig.ParseSecret("Opaque", nil)
	fmt.Println(errors.Is(err, dockerconfig.ErrUnsupportedSecretType))
	// Output:
	// [172.30.1.1:5000]
	// true
}
