package exampleenv

import "context"

type hookKey struct{}

// WithSetupHook returns a context that makes Setup call fn with the Env it
// built, before Setup returns. It is for tests that run a program's run
// function and then need to look at the embedded fakes (the keys iamtest
// holds, the secrets the cluster stores); programs do not use it.
func WithSetupHook(ctx context.Context, fn func(*Env)) context.Context {
	return context.WithValue(ctx, hookKey{}, fn)
}

func runHook(ctx context.Context, env *Env) {
	if fn, ok := ctx.Value(hookKey{}).(func(*Env)); ok && fn != nil {
		fn(env)
	}
}
