// Package console is the admin console hostd serves at /console: the pages an operator uses
// every day, as Worklight's console was, over the admin API that curl speaks.
//
// Pages are rendered on the server with html/template and made live with htmx (one pinned,
// vendored file, assets/htmx.min.js, version 2.0.11, Zero-Clause BSD licence in
// assets/htmx.LICENSE). There is no JavaScript build and no Node at run time: the templates and
// assets are embedded in the binary. A page is plain HTML that works without JavaScript; htmx
// only refreshes the parts that change (the remote-disable preview, a device's row after a
// block), and assets/console.js only feeds the live decision stream (server-sent events).
//
// # Signing in
//
// An operator signs in with the admin token. The console compares it in constant time and
// keeps a session on the server: the cookie (RG_CONSOLE, HttpOnly, SameSite=Strict, Secure
// when the daemon serves TLS or says it sits behind TLS, Path=/console) holds a random session
// id, never the token. Every form that changes something carries the session's CSRF token, and
// cross-origin POSTs are refused besides (net/http's CrossOriginProtection). Without a session,
// every page redirects to the sign-in form and every action is refused.
//
// # Changes
//
// Every change (remote-disable rules, device status, certificate revocation) is a request to
// the admin API, served in-process by the same handlers curl reaches, with the admin token: the
// same validation, the same audit. The request's context names the actor, "console:admin", so
// the audit log tells the console's changes from the API's ("admin").
//
// # Decisions
//
// Feed is a decision sink with a bounded buffer per viewer: a viewer too slow to read loses
// decisions (and is told how many), a request never waits for one.
package console
