// Package js holds the Go tests of @realmgate/client, the JavaScript client SDK in this
// folder: they start the real daemon (hostdtest) on testdata/web with a resource server that
// validates its tokens, then run the SDK's node --test suites against them, in Node.js and in
// headless Chromium. The SDK itself is JavaScript (src/, index.d.ts); see README.md.
package js
