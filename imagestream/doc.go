// Package imagestream puts registry images into OpenShift image streams, the
// way `oc tag` does for the guide's icr.io images:
//
//	oc tag us.icr.io/<namespace>/<image>:<tag> <project>/<stream>:<tag> --reference-policy=local [--scheduled] [--insecure] [--import-mode=PreserveOriginal]
//
// # Tag and Untag
//
// Tag upserts one entry of the ImageStream's spec.tags: from
// {kind: DockerImage, name: <source>}, referencePolicy.type, and
// importPolicy.{scheduled, insecure, importMode}; it sets the entry's
// generation to 0, which asks the server to import it again. The stream is
// created if it does not exist; the other tags, the entry's annotations and
// the stream's labels and annotations are kept. A tag that already says the
// same (source, reference policy, scheduled, insecure and — when given —
// import mode) is Unchanged and not written, so calling Tag again does not
// trigger a re-import. Writes are Update calls on the stream, re-read and
// retried on conflict (ImageStreamTag objects are not used, which also makes
// the package work on API servers that serve ImageStream as a CRD).
//
// Defaults are oc's: ReferencePolicy Source (pull from the original
// registry; Local pulls through the integrated registry with the stream
// namespace's credentials, which is what the guide uses), not scheduled, not
// insecure. An empty ImportMode is not managed: the cluster chooses for a new
// tag (Legacy unless configured otherwise) and an existing tag keeps its
// mode.
//
// Untag is `oc tag -d`: it deletes the ImageStreamTag (spec and status) on an
// OpenShift API server and otherwise removes the spec tag; a missing stream
// or tag is Skipped.
//
// # References
//
// ParseReference accepts only references that name their registry host
// (us.icr.io/ns/app:1, host:5000/app@sha256:…): "ns/app:1" is a
// *ReferenceError matching ErrNoRegistryHost, because oc would treat it as an
// image stream in the current project and a container runtime as docker.io.
// A reference without tag or digest means tag "latest". Validation of the
// source, the destination Ref and the options happens before any API call,
// and every problem is reported at once.
//
// # Waiting for the import
//
// WaitForImport watches the stream until status.tags[] shows an import for
// the spec tag's current generation, and returns items[0].image (the
// digest), or the ImportSuccess=False condition's reason and message as an
// *ImportError (ErrImportFailed) — typically missing pull credentials for
// the source registry in the stream's namespace.
//
// # Limits
//
// Only registry (DockerImage) sources are supported: tagging from another
// ImageStreamTag or ImageStreamImage, aliases (--alias) and reference-only
// tags (--reference) are not. The package does not create the pull secret
// the import needs (see package pullsecret) and does not wait for scheduled
// re-imports. Dry runs are the API server's (metav1.DryRunAll): fake
// clientsets ignore them.
package imagestream
