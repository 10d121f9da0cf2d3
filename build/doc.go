// Package build gives OpenShift builds the registry secrets they need, the
// way the guide does with
//
//	oc secrets link builder <secret>
//	oc set build-secret --push --pull bc/<name> <secret>
//
// LinkBuilder adds a secret to a service account ("builder" by default), for
// mounting (the secrets list, oc's default and what builds use to push and
// pull) and/or for pulling (imagePullSecrets). Entries are added once and
// never removed or reordered; the account is re-read and written with
// Update, retrying on conflict, because these lists have no merge strategy
// and a patch would replace them. A secret that does not exist is refused,
// as oc does.
//
// SetSecrets sets or clears spec.output.pushSecret and the strategy's
// pullSecret (Docker, Source or Custom) of one BuildConfig, with the same
// read–modify–Update–retry loop. JenkinsPipeline BuildConfigs and ones
// without a strategy are a *StrategyError (ErrUnsupportedStrategy); a missing
// BuildConfig is a *NotFoundError (ErrNotFound, and apierrors.IsNotFound).
// Nothing is written in either case, and inputs are validated before any API
// call.
//
// Every write reports Created, Updated, Unchanged or Skipped with a reason;
// a second identical call is Unchanged and writes nothing.
//
// # Limits
//
// SetSecrets handles one BuildConfig by name (no label selectors, no --all)
// and not the source secret (oc --source). It does not check that the push
// or pull secret exists. LinkBuilder does not wait for the builder service
// account of a brand-new project to appear, and never unlinks. Dry runs are
// the API server's (metav1.DryRunAll): fake clientsets ignore them.
package build
