// Package project is a Worklight-shaped project: its model, loaded from authenticationConfig.xml,
// application descriptors and adapter XML, validated with diagnostics that carry file:line and a
// fix.
//
// A project is a directory laid out as Worklight laid it out:
//
//	server/conf/authenticationConfig.xml      security tests, realms, login modules, static resources
//	apps/<App>/application-descriptor.xml     an application, its environments and their tests
//	adapters/<Adapter>/<Adapter>.xml          an adapter's procedures, connectivity and <backend>
//	policies/*.rego                           the project's own Rego (read here, compiled by package policies)
//
// [Load] reads it into a [Project], or fails with a [*LoadError] that holds every [Diagnostic]:
// a daemon never starts on a configuration it would later fail on. [Check] returns the same
// diagnostics without failing, for hostd check. Every diagnostic names a file of the project and,
// when it is about an element, the element's line; an error says how to fix it.
//
// Loading does what Worklight did to the files, so that the model says what the engine enforces:
// a webSecurityTest or mobileSecurityTest is expanded into the realms and steps Worklight
// documents ([SecurityTest.Expansion] says how), the built-in realms and the default web and
// mobile tests are added, references between tests, realms, login modules, applications and
// adapters are checked, and classes Realmgate cannot enforce are refused where a test uses them
// (warned about where none does). Real files vary, so the XML is read through a small tree that
// keeps lines, takes attribute spellings case-insensitively and refuses DTDs and oversized
// documents.
//
// The package imports only the standard library (and [github.com/realmgate/realmgate/htpasswd],
// which does too). It knows nothing of Rego, sessions or adapter runtimes: package policies
// compiles the security tests, the engine enforces them, and the daemon turns an adapter's
// [Backend] into the runtime's configuration.
package project
