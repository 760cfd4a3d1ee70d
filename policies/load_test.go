package policies

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"
)

// realmsBlock defines a form realm "form" and a header realm "header" whose login modules refuse
// everyone (RejectingLoginModule draws no warning), for cases that need a valid user realm.
// It adds 16 lines.
const realmsBlock = `
	<realms>
		<realm name="form" loginModule="rejectAll">
			<className>com.worklight.core.auth.ext.FormBasedAuthenticator</className>
		</realm>
		<realm name="header" loginModule="rejectAll">
			<className>com.worklight.core.auth.ext.HeaderAuthenticator</className>
		</realm>
	</realms>
	<loginModules>
		<loginModule name="rejectAll">
			<className>com.worklight.core.auth.ext.RejectingLoginModule</className>
		</loginModule>
	</loginModules>
`

// loadCase is a project and every diagnostic Check must report for it, in order.
type loadCase struct {
	name  string
	files files
	opts  LoadOptions
	want  []string
	// noFix allows errors without a fix (XML that does not parse, files that cannot be read).
	noFix bool
}

func runLoadCases(t *testing.T, cases []loadCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writeProject(t, tc.files)
			got := Check(dir, tc.opts)
			lines := diagLines(got)
			for i := range lines {
				lines[i] = strings.ReplaceAll(lines[i], dir, "$PROJECT")
			}
			if diff := cmp.Diff(tc.want, lines, emptyNil); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
			for _, d := range got {
				if d.Pos.File == "" {
					t.Errorf("diagnostic without a file: %s", d)
				}
				if d.Severity == Error && d.Fix == "" && !tc.noFix {
					t.Errorf("error without a fix: %s", d)
				}
			}
			// Load agrees with Check: it fails exactly when there are errors, and then carries
			// every diagnostic.
			p, err := Load(dir, tc.opts)
			if got.HasErrors() {
				var le *LoadError
				if !errors.As(err, &le) || p != nil {
					t.Fatalf("Load = %v, %v; want a *LoadError and no project", p, err)
				}
				if diff := cmp.Diff(diagLines(got), diagLines(le.Diagnostics)); diff != "" {
					t.Errorf("LoadError diagnostics differ from Check (-check +load):\n%s", diff)
				}
				if !strings.HasPrefix(err.Error(), got.Errors()[0].String()) {
					t.Errorf("LoadError.Error() = %q, want it to start with the first error %q", err, got.Errors()[0])
				}
			} else {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if diff := cmp.Diff(diagLines(got), diagLines(p.Diagnostics), emptyNil); diff != "" {
					t.Errorf("project warnings differ from Check (-check +load):\n%s", diff)
				}
			}
		})
	}
}

func TestLoadDocument(t *testing.T) {
	runLoadCases(t, []loadCase{
		{
			name:  "empty project",
			files: files{"README": "nothing here"},
			want:  []string{ac + ": error: authentication configuration not found"},
		},
		{
			name: "minimal prefixed root",
			files: files{ac: authConfig(`
	<securityTests/>
	<realms/>
	<loginModules/>
`)},
		},
		{
			name: "unprefixed root",
			files: files{ac: `<?xml version="1.0"?>
<loginConfiguration>
	<securityTests>
		<customSecurityTest name="t">
			<test realm="wl_anonymousUserRealm" isInternalUserID="true"/>
		</customSecurityTest>
	</securityTests>
</loginConfiguration>
`},
		},
		{
			name:  "wrong root",
			files: files{ac: "<?xml version=\"1.0\"?>\n\n<configuration/>\n"},
			want:  []string{ac + ":3: error: unexpected root element <configuration>"},
		},
		{
			name:  "malformed XML names the line",
			files: files{ac: authConfig("\n\t<securityTests>\n\t\t<customSecurityTest name=\"t\">\n\t</securityTests>\n")},
			want:  []string{ac + ":5: error: malformed XML: element <customSecurityTest> closed by </securityTests>"},
			noFix: true,
		},
		{
			name:  "unclosed document",
			files: files{ac: "<?xml version=\"1.0\"?>\n<tns:loginConfiguration xmlns:tns=\"x\">\n<securityTests>\n"},
			want:  []string{ac + ":4: error: malformed XML: unexpected EOF"},
			noFix: true,
		},
		{
			name:  "DOCTYPE is refused",
			files: files{ac: "<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY a \"aaaa\">]>\n<loginConfiguration/>\n"},
			want:  []string{ac + ":2: error: DOCTYPE declarations are not accepted"},
			noFix: true,
		},
		{
			name:  "undefined entity",
			files: files{ac: "<?xml version=\"1.0\"?>\n<loginConfiguration>\n<realms>&bomb;</realms></loginConfiguration>\n"},
			want:  []string{ac + ":3: error: malformed XML: invalid character entity &bomb;"},
			noFix: true,
		},
		{
			name:  "other encodings are refused",
			files: files{ac: "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<loginConfiguration/>\n"},
			want:  []string{ac + `:1: error: malformed XML: xml: opening charset "ISO-8859-1": unsupported encoding "ISO-8859-1": save the file as UTF-8`},
			noFix: true,
		},
		{
			name:  "two roots",
			files: files{ac: "<loginConfiguration/>\n<loginConfiguration/>\n"},
			want:  []string{ac + ":2: error: more than one root element"},
			noFix: true,
		},
		{
			name: "unknown top-level elements are warnings",
			files: files{ac: authConfig(`
	<securityTest name="typo"/>
	<staticResources>
		<resourceX id="x"/>
	</staticResources>
	<realms>
		<realmX name="x"/>
	</realms>
	<loginModules>
		<module name="x"/>
	</loginModules>
`)},
			want: []string{
				ac + ":3: warning: unknown element <securityTest> ignored",
				ac + ":5: warning: unknown element <resourceX> in <staticResources> ignored",
				ac + ":8: warning: unknown element <realmX> in <realms> ignored",
				ac + ":11: warning: unknown element <module> in <loginModules> ignored",
			},
		},
		{
			// A BOM, CRLF line endings, comments before the root and non-ASCII text: lines still
			// count from the first byte of the file.
			name: "BOM, CRLF, comments and non-ASCII",
			files: files{ac: strings.ReplaceAll("\ufeff<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"+
				"<!-- Configuración de autenticación — © 2015 -->\n"+
				"<tns:loginConfiguration xmlns:tns=\"http://www.worklight.com/auth/config\">\n"+
				"\t<!-- <customSecurityTest name=\"commented\">\n"+
				"\t\t<test realm=\"nosuch\"/>\n"+
				"\t</customSecurityTest> -->\n"+
				"\t<securityTests>\n"+
				"\t\t<customSecurityTest name=\"Prüfung\">\n"+
				"\t\t\t<test realm=\"wl_anonymousUserRealm\" isInternalUserID=\"true\"/>\n"+
				"\t\t\t<test realm=\"Bereich-ü\"/>\n"+
				"\t\t</customSecurityTest>\n"+
				"\t</securityTests>\n"+
				"</tns:loginConfiguration>\n", "\n", "\r\n")},
			want: []string{
				ac + `:10: error: security test "Prüfung" uses realm "Bereich-ü", which is not defined`,
			},
		},
	})
}

func TestLoadSecurityTestElements(t *testing.T) {
	runLoadCases(t, []loadCase{
		{
			name: "unknown security test kind",
			files: files{ac: authConfig(`
	<securityTests>
		<adapterSecurityTest name="a"/>
	</securityTests>
`)},
			want: []string{ac + ":4: error: unknown security test element <adapterSecurityTest>"},
		},
		{
			name: "unknown elements inside security tests are errors, never ignored",
			files: files{ac: authConfig(`
	<securityTests>
		<webSecurityTest name="w">
			<testDeviceId provisioningType="none"/>
		</webSecurityTest>
		<mobileSecurityTest name="m">
			<testDeviceId provisioningType="none"/>
			<testUserX realm="form"/>
		</mobileSecurityTest>
		<customSecurityTest name="c">
			<test realm="form" isInternalUserID="true"/>
			<tset realm="header"/>
		</customSecurityTest>
	</securityTests>` + realmsBlock)},
			want: []string{
				ac + ":5: error: <testDeviceId> is not allowed in <webSecurityTest>; a security element that is not understood is never ignored",
				ac + ":9: error: <testUserX> is not allowed in <mobileSecurityTest>; a security element that is not understood is never ignored",
				ac + ":13: error: <tset> is not allowed in <customSecurityTest>; a security element that is not understood is never ignored",
			},
		},
		{
			name: "names: missing, reserved, duplicate",
			files: files{ac: authConfig(`
	<securityTests>
		<customSecurityTest>
			<test realm="form" isInternalUserID="true"/>
		</customSecurityTest>
		<customSecurityTest name="wl_unprotected">
			<test realm="form" isInternalUserID="true"/>
		</customSecurityTest>
		<customSecurityTest name="t">
			<test realm="form" isInternalUserID="true"/>
		</customSecurityTest>
		<webSecurityTest name="t"/>
	</securityTests>
	<realms>
		<realm loginModule="rejectAll">
			<className>com.worklight.core.auth.ext.FormBasedAuthenticator</className>
		</realm>
		<realm name="form" loginModule="rejectAll">
			<className>com.worklight.core.auth.ext.FormBasedAuthenticator</className>
		</realm>
		<realm name="form" loginModule="rejectAll">
			<className>com.worklight.core.auth.ext.HeaderAuthenticator</className>
		</realm>
	</realms>
	<loginModules>
		<loginModule>
			<className>com.worklight.core.auth.ext.RejectingLoginModule</className>
		</loginModule>
		<loginModule name="rejectAll">
			<className>com.worklight.core.auth.ext.RejectingLoginModule</className>
		</loginModule>
		<loginModule name="rejectAll">
			<className>com.worklight.core.auth.ext.NonValidatingLoginModule</className>
		</loginModule>
	</loginModules>
`)},
			want: []string{
				ac + ":4: error: security test without a name",
				ac + ":7: error: \"wl_unprotected\" is reserved for unprotected procedures",
				ac + ":13: error: security test \"t\" is defined twice (first at line 10)",
				ac + ":16: error: realm without a name",
				ac + ":22: error: realm \"form\" is defined twice (first at line 19)",
				ac + ":27: error: login module without a name",
				ac + ":33: error: login module \"rejectAll\" is defined twice (first at line 30)",
			},
		},
		{
			// Names go into the generated Rego; characters nobody can read are refused.
			name: "names that are not printable",
			files: files{ac: authConfig(`
	<securityTests>
		<customSecurityTest name="two&#10;lines"><test realm="wl_anonymousUserRealm" isInternalUserID="true"/></customSecurityTest>
		<customSecurityTest name="private` + "\U000F0000" + `"><test realm="wl_anonymousUserRealm" isInternalUserID="true"/></customSecurityTest>
		<customSecurityTest name="Prüfung 2"><test realm="wl_anonymousUserRealm" isInternalUserID="true"/></customSecurityTest>
	</securityTests>
	<realms>
		<realm name="tab&#9;bed" loginModule="m"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
	</realms>
	<loginModules>
		<loginModule name="no` + "\u00a0" + `break"><className>com.worklight.core.auth.ext.RejectingLoginModule</className></loginModule>
	</loginModules>
`)},
			want: []string{
				ac + `:4: error: security test name "two\nlines" contains U+000A, which is not a printable character`,
				ac + `:5: error: security test name "private\U000f0000" contains U+F0000, which is not a printable character`,
				ac + `:9: error: realm name "tab\tbed" contains U+0009, which is not a printable character`,
				ac + `:12: error: login module name "no\u00a0break" contains U+00A0, which is not a printable character`,
			},
		},
		{
			name: "access token expiration",
			files: files{ac: authConfig(`
	<securityTests>
		<customSecurityTest name="ok" AccessTokenExpirationSec="600">
			<test realm="form" isInternalUserID="true"/>
		</customSecurityTest>
		<customSecurityTest name="zero" AccessTokenExpirationSec="0">
			<test realm="form" isInternalUserID="true"/>
		</customSecurityTest>
		<customSecurityTest name="word" accessTokenExpirationSec="soon">
			<test realm="form" isInternalUserID="true"/>
		</customSecurityTest>
	</securityTests>` + realmsBlock)},
			want: []string{
				ac + `:7: error: AccessTokenExpirationSec="0" is not a positive number`,
				ac + `:10: error: AccessTokenExpirationSec="soon" is not a positive number`,
			},
		},
		{
			name: "booleans",
			files: files{ac: authConfig(`
	<securityTests>
		<customSecurityTest name="t">
			<test realm="form" isInternalUserID="maybe"/>
			<test realm="header" isInternalUserID="no" isInternalDeviceID="0"/>
			<test realm="wl_anonymousUserRealm" isInternalUserID="yes"/>
		</customSecurityTest>
	</securityTests>` + realmsBlock)},
			want: []string{
				ac + `:5: error: attribute isInternalUserID has value "maybe", which is not a boolean`,
			},
		},
	})
}

func TestLoadWebAndMobileExpansionDiagnostics(t *testing.T) {
	runLoadCases(t, []loadCase{
		{
			name: "web test user without realm, twice",
			files: files{ac: authConfig(`
	<securityTests>
		<webSecurityTest name="w1">
			<testUser/>
		</webSecurityTest>
		<webSecurityTest name="w2">
			<testUser realm="form"/>
			<testUser realm="header"/>
		</webSecurityTest>
	</securityTests>` + realmsBlock)},
			want: []string{
				ac + ":5: error: <testUser> without a realm",
				ac + ":9: error: <testUser> appears more than once",
			},
		},
		{
			name: "mobile without a device realm",
			files: files{ac: authConfig(`
	<securityTests>
		<mobileSecurityTest name="m">
			<testUser realm="form"/>
		</mobileSecurityTest>
	</securityTests>` + realmsBlock)},
			want: []string{
				ac + `:4: error: mobileSecurityTest "m" has no <testDeviceId>: a mobile test needs exactly one device realm`,
			},
		},
		{
			name: "provisioning types",
			files: files{ac: authConfig(`
	<securityTests>
		<mobileSecurityTest name="noneWithRealm">
			<testDeviceId provisioningType="none" realm="form"/>
		</mobileSecurityTest>
		<mobileSecurityTest name="autoWithoutAuthenticity">
			<testDeviceId provisioningType="auto"/>
		</mobileSecurityTest>
		<mobileSecurityTest name="autoWithRealm">
			<testAppAuthenticity/>
			<testDeviceId provisioningType="auto" realm="form"/>
		</mobileSecurityTest>
		<mobileSecurityTest name="customWithoutRealm">
			<testDeviceId provisioningType="custom"/>
		</mobileSecurityTest>
		<mobileSecurityTest name="strange">
			<testDeviceId provisioningType="sometimes"/>
		</mobileSecurityTest>
		<mobileSecurityTest name="customNotADevice">
			<testDeviceId provisioningType="custom" realm="form"/>
		</mobileSecurityTest>
		<mobileSecurityTest name="customUnknown">
			<testDeviceId provisioningType="custom" realm="nosuch"/>
		</mobileSecurityTest>
	</securityTests>` + realmsBlock)},
			want: []string{
				ac + `:5: warning: realm "form" is ignored: provisioningType "none" uses wl_deviceNoProvisioningRealm`,
				ac + `:7: error: security test "autoWithoutAuthenticity" auto-provisions devices without the authenticity realm`,
				ac + `:12: warning: realm "form" is ignored: provisioningType "auto" uses wl_deviceAutoProvisioningRealm`,
				ac + `:15: error: provisioningType="custom" needs a realm`,
				ac + `:18: error: unknown provisioningType "sometimes"`,
				ac + `:21: error: realm "form" does not provide a device identity but is marked isInternalDeviceID`,
				ac + `:24: error: security test "customUnknown" uses realm "nosuch", which is not defined`,
			},
		},
		{
			name: "mobile children appear once",
			files: files{ac: authConfig(`
	<securityTests>
		<mobileSecurityTest name="m">
			<testDeviceId provisioningType="none"/>
			<testDeviceId provisioningType="none"/>
			<testAppAuthenticity/>
			<testAppAuthenticity/>
			<testDirectUpdate mode="perSession"/>
			<testDirectUpdate mode="perRequest"/>
			<testUser realm="form"/>
			<testUser realm="header"/>
		</mobileSecurityTest>
	</securityTests>` + realmsBlock)},
			want: []string{
				ac + ":6: error: <testDeviceId> appears more than once",
				ac + ":8: error: <testAppAuthenticity> appears more than once",
				ac + `:9: warning: security test "m": wl_directUpdateRealm is not a security control; it is accepted and not enforced`,
				ac + ":10: error: <testDirectUpdate> appears more than once",
				ac + ":12: error: <testUser> appears more than once",
			},
		},
		{
			name: "test user realms that are not user realms",
			files: files{ac: authConfig(`
	<securityTests>
		<webSecurityTest name="w">
			<testUser realm="wl_remoteDisableRealm"/>
		</webSecurityTest>
		<mobileSecurityTest name="m">
			<testDeviceId provisioningType="none"/>
			<testUser realm="wl_deviceNoProvisioningRealm"/>
		</mobileSecurityTest>
		<webSecurityTest name="anonymous">
			<testUser realm="wl_anonymousUserRealm"/>
		</webSecurityTest>
	</securityTests>`)},
			want: []string{
				ac + `:5: error: realm "wl_remoteDisableRealm" does not provide a user identity but is marked isInternalUserID`,
				ac + `:9: error: realm "wl_deviceNoProvisioningRealm" does not provide a user identity but is marked isInternalUserID`,
			},
		},
	})
}

func TestLoadCustomTestDiagnostics(t *testing.T) {
	runLoadCases(t, []loadCase{
		{
			name: "steps",
			files: files{ac: authConfig(`
	<securityTests>
		<customSecurityTest name="bad">
			<test realm="form" isInternalUserID="true" step="0"/>
			<test realm="header" step="two"/>
			<test realm="wl_antiXSRFRealm" step="33"/>
			<test realm="wl_remoteDisableRealm" step="-1"/>
			<test realm="wl_anonymousUserRealm" step=""/>
		</customSecurityTest>
		<customSecurityTest name="gap">
			<test realm="wl_antiXSRFRealm" step="1"/>
			<test realm="form" isInternalUserID="true" step="3"/>
		</customSecurityTest>
		<customSecurityTest name="late">
			<test realm="form" isInternalUserID="true" step="2"/>
		</customSecurityTest>
		<customSecurityTest name="mixed">
			<test realm="header" step="2"/>
			<test realm="wl_antiXSRFRealm"/>
			<test realm="form" isInternalUserID="true" step="1"/>
		</customSecurityTest>
		<customSecurityTest name="max">
			<test realm="form" isInternalUserID="true" step="32"/>
		</customSecurityTest>
	</securityTests>` + realmsBlock)},
			want: []string{
				ac + `:4: error: customSecurityTest "bad" has no realms`,
				ac + `:5: error: bad step "0" for realm "form"`,
				ac + `:6: error: bad step "two" for realm "header"`,
				ac + `:7: error: bad step "33" for realm "wl_antiXSRFRealm"`,
				ac + `:8: error: bad step "-1" for realm "wl_remoteDisableRealm"`,
				ac + `:9: error: bad step "" for realm "wl_anonymousUserRealm"`,
				ac + `:11: warning: security test "gap" uses steps [1 3]; they are applied in that order as steps 1..2`,
				ac + `:15: warning: security test "late" uses steps [2]; they are applied in that order as steps 1..1`,
				ac + `:23: warning: security test "max" uses steps [32]; they are applied in that order as steps 1..1`,
			},
		},
		{
			name: "realms: missing, twice, unknown",
			files: files{ac: authConfig(`
	<securityTests>
		<customSecurityTest name="c">
			<test isInternalUserID="true"/>
			<test realm="form" isInternalUserID="true"/>
			<test realm="form"/>
			<test realm="nosuch"/>
		</customSecurityTest>
	</securityTests>` + realmsBlock)},
			want: []string{
				ac + `:5: error: <test> without a realm`,
				ac + `:7: error: realm "form" appears twice in security test "c"`,
				ac + `:8: error: security test "c" uses realm "nosuch", which is not defined`,
			},
		},
		{
			name: "one user and one device realm at most",
			files: files{ac: authConfig(`
	<securityTests>
		<customSecurityTest name="c">
			<test realm="form" isInternalUserID="true"/>
			<test realm="header" isInternalUserID="true"/>
			<test realm="wl_deviceNoProvisioningRealm" isInternalDeviceID="true" step="2"/>
			<test realm="wl_deviceAutoProvisioningRealm" isInternalDeviceID="true" step="2"/>
			<test realm="wl_authenticityRealm"/>
		</customSecurityTest>
	</securityTests>` + realmsBlock)},
			want: []string{
				ac + `:6: error: security test "c" marks 2 realms as the user identity (form and header)`,
				ac + `:8: error: security test "c" marks 2 realms as the device identity (wl_deviceNoProvisioningRealm and wl_deviceAutoProvisioningRealm)`,
			},
		},
		{
			name: "authenticity must come before the device realm",
			files: files{ac: authConfig(`
	<securityTests>
		<customSecurityTest name="late">
			<test realm="wl_anonymousUserRealm" isInternalUserID="true"/>
			<test realm="wl_deviceAutoProvisioningRealm" isInternalDeviceID="true" step="1"/>
			<test realm="wl_authenticityRealm" step="2"/>
		</customSecurityTest>
		<customSecurityTest name="same">
			<test realm="wl_anonymousUserRealm" isInternalUserID="true"/>
			<test realm="wl_deviceAutoProvisioningRealm" isInternalDeviceID="true"/>
			<test realm="wl_authenticityRealm"/>
		</customSecurityTest>
		<customSecurityTest name="missing">
			<test realm="wl_anonymousUserRealm" isInternalUserID="true"/>
			<test realm="wl_deviceAutoProvisioningRealm" isInternalDeviceID="true" step="2"/>
		</customSecurityTest>
	</securityTests>`)},
			want: []string{
				ac + `:4: error: security test "late" checks app authenticity after device provisioning`,
				ac + `:14: error: security test "missing" auto-provisions devices without the authenticity realm`,
			},
		},
		{
			name: "direct update is accepted, not enforced, in any step",
			files: files{ac: authConfig(`
	<securityTests>
		<customSecurityTest name="c">
			<test realm="wl_directUpdateRealm" mode="perSession" step="1"/>
			<test realm="wl_anonymousUserRealm" isInternalUserID="true" step="2"/>
		</customSecurityTest>
	</securityTests>`)},
			want: []string{
				ac + `:4: warning: security test "c" uses steps [2]; they are applied in that order as steps 1..1`,
				ac + `:5: warning: security test "c": wl_directUpdateRealm is not a security control; it is accepted and not enforced`,
			},
		},
		{
			// A security realm is never passed silently: a class this version recognizes but does
			// not enforce (LDAP, Trusteer) is reported where a used realm or login module names it,
			// while the built-in authenticity and auto-provisioning realms, which are enforced, draw
			// nothing in custom and mobile tests alike. The unused LDAP module draws nothing either.
			name: "only recognized classes are reported as not enforced; enforced built-in realms draw nothing",
			files: files{ac: authConfig(`
	<securityTests>
		<customSecurityTest name="c">
			<test realm="wl_anonymousUserRealm" isInternalUserID="true"/>
			<test realm="wl_authenticityRealm" step="1"/>
			<test realm="wl_deviceAutoProvisioningRealm" isInternalDeviceID="true" step="2"/>
		</customSecurityTest>
		<mobileSecurityTest name="m">
			<testAppAuthenticity/>
			<testDeviceId provisioningType="auto"/>
		</mobileSecurityTest>
		<customSecurityTest name="enforced">
			<test realm="wl_antiXSRFRealm"/>
			<test realm="wl_remoteDisableRealm"/>
			<test realm="wl_anonymousUserRealm" isInternalUserID="true"/>
			<test realm="wl_deviceNoProvisioningRealm" isInternalDeviceID="true" step="2"/>
		</customSecurityTest>
		<customSecurityTest name="recognized">
			<test realm="wl_authenticityRealm" step="1"/>
			<test realm="ldap" isInternalUserID="true" step="2"/>
			<test realm="trusteer" step="2"/>
		</customSecurityTest>
	</securityTests>
	<realms>
		<realm name="ldap" loginModule="ldap">
			<className>com.worklight.core.auth.ext.FormBasedAuthenticator</className>
		</realm>
		<realm name="trusteer" loginModule="trusteer">
			<className>com.worklight.core.auth.ext.TrusteerAuthenticator</className>
		</realm>
	</realms>
	<loginModules>
		<loginModule name="ldap">
			<className>com.worklight.core.auth.ext.LdapLoginModule</className>
			<parameter name="ldapProviderUrl" value="ldap://127.0.0.1:389"/>
		</loginModule>
		<loginModule name="trusteer"><className>com.worklight.core.auth.ext.TrusteerLoginModule</className></loginModule>
		<loginModule name="spareLdap">
			<className>com.worklight.core.auth.ext.LdapLoginModule</className>
			<parameter name="ldapProviderUrl" value="ldap://127.0.0.1:389"/>
		</loginModule>
	</loginModules>
`)},
			want: []string{
				ac + `:29: warning: realm "trusteer" (TrusteerAuthenticator) is recognized but not enforced by this version: requests that need it are refused`,
				ac + `:34: warning: login module "ldap" (LdapLoginModule) is recognized but not enforced by this version: requests that need it are refused`,
				ac + `:38: warning: login module "trusteer" (TrusteerLoginModule) is recognized but not enforced by this version: requests that need it are refused`,
			},
		},
	})
}

// userTest is a custom security test "t" that uses realm as its user realm (3 lines, 3-5).
func userTest(realm string) string {
	return `
	<securityTests>
		<customSecurityTest name="t"><test realm="` + realm + `" isInternalUserID="true"/></customSecurityTest>
	</securityTests>`
}

func TestLoadRealmAndLoginModuleDiagnostics(t *testing.T) {
	runLoadCases(t, []loadCase{
		{
			name: "realm problems are errors when a test uses the realm",
			files: files{ac: authConfig(userTest("noClass") + `
	<securityTests>
		<customSecurityTest name="t2">
			<test realm="java" isInternalUserID="true"/>
			<test realm="swapped"/>
			<test realm="noModule"/>
			<test realm="missingModule"/>
			<test realm="ltpa"/>
		</customSecurityTest>
	</securityTests>
	<realms>
		<realm name="noClass" loginModule="rejectAll"/>
		<realm name="java" loginModule="rejectAll">
			<className>com.acme.MyAuthenticator</className>
		</realm>
		<realm name="swapped" loginModule="rejectAll">
			<className>com.worklight.core.auth.ext.NonValidatingLoginModule</className>
		</realm>
		<realm name="noModule">
			<className>com.worklight.core.auth.ext.FormBasedAuthenticator</className>
		</realm>
		<realm name="missingModule" loginModule="nosuch">
			<className>com.worklight.core.auth.ext.FormBasedAuthenticator</className>
		</realm>
		<realm name="ltpa" loginModule="rejectAll">
			<className>com.worklight.core.auth.ext.WebSphereFormBasedAuthenticator</className>
		</realm>
	</realms>
	<loginModules>
		<loginModule name="rejectAll">
			<className>com.worklight.core.auth.ext.RejectingLoginModule</className>
		</loginModule>
	</loginModules>
`)},
			want: []string{
				ac + `:16: error: realm "noClass" has no className`,
				ac + `:17: error: realm "java" uses authenticator class com.acme.MyAuthenticator, which Realmgate does not implement`,
				ac + `:20: error: realm "swapped" names com.worklight.core.auth.ext.NonValidatingLoginModule, which is a login module, as its authenticator`,
				ac + `:23: error: realm "noModule" has no loginModule`,
				ac + `:26: error: realm "missingModule" uses login module "nosuch", which is not defined`,
				ac + `:29: error: realm "ltpa" uses authenticator class com.worklight.core.auth.ext.WebSphereFormBasedAuthenticator, which Realmgate does not implement`,
			},
		},
		{
			name: "the same problems in unused realms are warnings",
			files: files{ac: authConfig(`
	<realms>
		<realm name="noClass" loginModule="rejectAll"/>
		<realm name="java" loginModule="javaModule">
			<className>com.acme.MyAuthenticator</className>
		</realm>
		<realm name="missingModule" loginModule="nosuch">
			<className>com.worklight.core.auth.ext.FormBasedAuthenticator</className>
		</realm>
	</realms>
	<loginModules>
		<loginModule name="rejectAll">
			<className>com.worklight.core.auth.ext.RejectingLoginModule</className>
		</loginModule>
		<loginModule name="javaModule">
			<className>com.acme.MyLoginModule</className>
		</loginModule>
	</loginModules>
`)},
			want: []string{
				ac + `:4: warning: realm "noClass" has no className (not used by any security test)`,
				ac + `:5: warning: realm "java" uses authenticator class com.acme.MyAuthenticator, which Realmgate does not implement (not used by any security test)`,
				ac + `:8: warning: realm "missingModule" uses login module "nosuch", which is not defined (not used by any security test)`,
				ac + `:16: warning: login module "javaModule" uses class com.acme.MyLoginModule, which Realmgate does not implement (not used by any security test)`,
			},
		},
		{
			name: "login module problems are errors when a used realm names the module",
			files: files{ac: authConfig(`
	<securityTests>
		<customSecurityTest name="t">
			<test realm="a" isInternalUserID="true"/>
			<test realm="b"/>
			<test realm="c"/>
			<test realm="d"/>
		</customSecurityTest>
	</securityTests>
	<realms>
		<realm name="a" loginModule="java"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
		<realm name="b" loginModule="swapped"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
		<realm name="c" loginModule="noClass"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
		<realm name="d" loginModule="sso"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
	</realms>
	<loginModules>
		<loginModule name="java"><className>com.acme.LtpaLoginModule</className></loginModule>
		<loginModule name="swapped"><className>com.worklight.core.auth.ext.BasicAuthenticator</className></loginModule>
		<loginModule name="noClass"/>
		<loginModule name="sso" ssoDeviceLoginModule="WLDeviceMagicLoginModule">
			<className>com.worklight.core.auth.ext.RejectingLoginModule</className>
		</loginModule>
		<loginModule name="ssoOK" ssoDeviceLoginModule="WLDeviceNoProvisioningLoginModule">
			<className>com.worklight.core.auth.ext.RejectingLoginModule</className>
		</loginModule>
	</loginModules>
`)},
			want: []string{
				ac + `:18: error: login module "java" uses class com.acme.LtpaLoginModule, which Realmgate does not implement`,
				ac + `:19: error: login module "swapped" names com.worklight.core.auth.ext.BasicAuthenticator, which is an authenticator`,
				ac + `:20: error: login module "noClass" has no className`,
				ac + `:21: error: login module "sso": unknown ssoDeviceLoginModule "WLDeviceMagicLoginModule"`,
			},
		},
		{
			name: "expirationInSeconds",
			files: files{ac: authConfig(`
	<loginModules>
		<loginModule name="session" expirationInSeconds="-1"><className>com.worklight.core.auth.ext.RejectingLoginModule</className></loginModule>
		<loginModule name="minute" expirationInSeconds="60"><className>com.worklight.core.auth.ext.RejectingLoginModule</className></loginModule>
		<loginModule name="zero" expirationInSeconds="0"><className>com.worklight.core.auth.ext.RejectingLoginModule</className></loginModule>
		<loginModule name="minusTwo" expirationInSeconds="-2"><className>com.worklight.core.auth.ext.RejectingLoginModule</className></loginModule>
		<loginModule name="word" expirationInSeconds="forever"><className>com.worklight.core.auth.ext.RejectingLoginModule</className></loginModule>
	</loginModules>
`)},
			want: []string{
				ac + `:6: error: login module "zero" has expirationInSeconds="0"`,
				ac + `:7: error: login module "minusTwo" has expirationInSeconds="-2"`,
				ac + `:8: error: login module "word" has expirationInSeconds="forever"`,
			},
		},
		{
			name: "parameters",
			files: files{ac: authConfig(`
	<securityTests>
		<customSecurityTest name="t">
			<test realm="adapter" isInternalUserID="true"/>
			<test realm="header"/>
			<test realm="good"/>
			<test realm="dotless"/>
		</customSecurityTest>
	</securityTests>
	<realms>
		<realm name="adapter" loginModule="none">
			<className>com.worklight.integration.auth.AdapterAuthenticator</className>
			<parameter name="logout-function" value="Missing.onLogout"/>
			<parameter name="greeting" value="hello"/>
			<parameter value="nameless"/>
		</realm>
		<realm name="header" loginModule="headers">
			<className>com.worklight.core.auth.ext.HeaderAuthenticator</className>
			<parameter name="user-name-header">X-User</parameter>
		</realm>
		<realm name="unused" loginModule="headers">
			<className>com.worklight.integration.auth.AdapterAuthenticator</className>
		</realm>
		<realm name="good" loginModule="none">
			<className>com.worklight.integration.auth.AdapterAuthenticator</className>
			<parameter name="login-function" value="Auth.onAuthRequired"/>
			<parameter name="logout-function" value="Auth.onLogout"/>
		</realm>
		<realm name="dotless" loginModule="none">
			<className>com.worklight.integration.auth.AdapterAuthenticator</className>
			<parameter name="login-function" value="onAuthRequired"/>
		</realm>
	</realms>
	<loginModules>
		<loginModule name="none"><className>com.worklight.core.auth.ext.RejectingLoginModule</className></loginModule>
		<loginModule name="headers"><className>com.worklight.core.auth.ext.HeaderLoginModule</className></loginModule>
	</loginModules>
`), adapterPath("Auth"): adapterXML("Auth", "\n\t<procedure name=\"submit\" securityTest=\"wl_unprotected\"/>\n")},
			want: []string{
				`adapters/Auth/Auth.xml:2: warning: adapter "Auth" has no backend: its procedures are protected but answer 501 not_implemented`,
				ac + `:12: error: realm "adapter" (AdapterAuthenticator) needs parameter "login-function"`,
				ac + `:12: error: realm "adapter": logout-function names adapter "Missing", which is not in the project`,
				ac + `:15: warning: realm "adapter": parameter "greeting" is not used by AdapterAuthenticator`,
				ac + `:16: error: parameter without a name`,
				ac + `:18: warning: realm "header" logs in whoever sends the X-User header: any client that reaches hostd directly can be any user`,
				ac + `:22: warning: realm "unused" (AdapterAuthenticator) needs parameter "login-function" (not used by any security test)`,
				ac + `:30: error: realm "dotless": login-function "onAuthRequired" is not Adapter.function`,
				ac + `:37: error: login module "headers" (HeaderLoginModule) needs parameter "user-name-header"`,
			},
		},
		{
			name: "realm elements",
			files: files{ac: authConfig(userTest("form") + `
	<realms>
		<realm name="form" loginModule="rejectAll">
			<className>com.worklight.core.auth.ext.FormBasedAuthenticator</className>
			<onLoginUrl>/console</onLoginUrl>
			<loginPage>/login.html</loginPage>
		</realm>
		<realm name="wl_anonymousUserRealm" loginModule="rejectAll">
			<className>com.worklight.core.auth.ext.HeaderAuthenticator</className>
			<parameter name="user-name-header" value="X-User"/>
		</realm>
	</realms>
	<loginModules>
		<loginModule name="rejectAll"><className>com.worklight.core.auth.ext.RejectingLoginModule</className></loginModule>
	</loginModules>
`)},
			want: []string{
				ac + `:10: warning: unknown element <loginPage> in realm "form" ignored`,
				ac + `:12: warning: realm "wl_anonymousUserRealm" redefines a built-in realm; the definition here is used`,
			},
		},
		{
			name: "recognized classes are reported as not enforced when used",
			files: files{ac: authConfig(`
	<securityTests>
		<customSecurityTest name="t">
			<test realm="ldap" isInternalUserID="true"/>
			<test realm="trusteer"/>
		</customSecurityTest>
	</securityTests>
	<realms>
		<realm name="ldap" loginModule="ldap">
			<className>com.worklight.core.auth.ext.FormBasedAuthenticator</className>
		</realm>
		<realm name="trusteer" loginModule="trusteer">
			<className>com.worklight.core.auth.ext.TrusteerAuthenticator</className>
			<parameter name="rooted-device" value="block"/>
		</realm>
	</realms>
	<loginModules>
		<loginModule name="ldap">
			<className>com.worklight.core.auth.ext.LdapLoginModule</className>
			<parameter name="ldapProviderUrl" value="ldap://127.0.0.1:389"/>
		</loginModule>
		<loginModule name="trusteer"><className>com.worklight.core.auth.ext.TrusteerLoginModule</className></loginModule>
	</loginModules>
`)},
			want: []string{
				ac + `:13: warning: realm "trusteer" (TrusteerAuthenticator) is recognized but not enforced by this version: requests that need it are refused`,
				ac + `:19: warning: login module "ldap" (LdapLoginModule) is recognized but not enforced by this version: requests that need it are refused`,
				ac + `:23: warning: login module "trusteer" (TrusteerLoginModule) is recognized but not enforced by this version: requests that need it are refused`,
			},
		},
		{
			name: "non-validating and single-identity modules",
			files: files{ac: authConfig(`
	<securityTests>
		<customSecurityTest name="t">
			<test realm="a" isInternalUserID="true"/>
			<test realm="b"/>
			<test realm="c"/>
		</customSecurityTest>
	</securityTests>
	<realms>
		<realm name="a" loginModule="dummy"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
		<realm name="b" loginModule="single"><className>com.worklight.core.auth.ext.BasicAuthenticator</className></realm>
		<realm name="c" loginModule="badHash"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
	</realms>
	<loginModules>
		<loginModule name="dummy"><className>com.worklight.core.auth.ext.NonValidatingLoginModule</className></loginModule>
		<loginModule name="single"><className>com.worklight.core.auth.ext.SingleIdentityLoginModule</className></loginModule>
		<loginModule name="badHash">
			<className>com.worklight.core.auth.ext.SingleIdentityLoginModule</className>
			<parameter name="user-name" value="admin"/>
			<parameter name="password-hash" value="{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="/>
		</loginModule>
		<loginModule name="unusedBadHash">
			<className>com.worklight.core.auth.ext.SingleIdentityLoginModule</className>
			<parameter name="password-hash" value="plain"/>
		</loginModule>
	</loginModules>
`)},
			want: []string{
				ac + `:16: warning: login module "dummy" (NonValidatingLoginModule) accepts any user name and password`,
				ac + `:17: warning: login module "single" (SingleIdentityLoginModule) has no identity configured: every login is refused`,
				ac + `:18: error: login module "badHash": password-hash is not a bcrypt hash`,
				ac + `:23: warning: login module "unusedBadHash": password-hash is not a bcrypt hash (not used by any security test)`,
			},
		},
	})
}

// testsBlock defines a mobile test "m" (testUser form, no provisioning), a web test "w" (testUser
// form), a custom test "noUser" without a user realm and a custom test "webAuthenticity" that
// checks app authenticity without a device realm, then realmsBlock. On its own it draws no
// diagnostic (the case "wasm backend pinned" relies on that), so every line a case lists comes
// from the files the case adds.
var testsBlock = authConfig(`
	<securityTests>
		<mobileSecurityTest name="m">
			<testUser realm="form"/>
			<testDeviceId provisioningType="none"/>
		</mobileSecurityTest>
		<webSecurityTest name="w">
			<testUser realm="form"/>
		</webSecurityTest>
		<customSecurityTest name="noUser">
			<test realm="wl_antiXSRFRealm"/>
		</customSecurityTest>
		<customSecurityTest name="webAuthenticity">
			<test realm="wl_authenticityRealm"/>
			<test realm="form" isInternalUserID="true"/>
		</customSecurityTest>
	</securityTests>` + realmsBlock)

func TestLoadAppDiagnostics(t *testing.T) {
	runLoadCases(t, []loadCase{
		{
			name: "environments and their tests",
			files: files{ac: testsBlock, appPath("Bank"): hybridApp("Bank", `
	<displayName>Bank</displayName>
	<android securityTest="m" version="1.0">
		<security><publicSigningKey>MIIB</publicSigningKey></security>
	</android>
	<iphone bundleId="com.bank" version="1.0"/>
	<common securityTest="w"/>
	<desktopbrowser securityTest="nosuch"/>
	<mobilewebapp securityTest="m"/>
	<windowsphone8 securityTest="noUser"/>
	<facebook securityTest="webAuthenticity"/>
	<ipad securityTest="webAuthenticity"/>
`)},
			want: []string{
				`apps/Bank/application-descriptor.xml:9: error: environment desktopbrowser of application "Bank" uses security test "nosuch", which is not defined`,
				`apps/Bank/application-descriptor.xml:10: error: web environment mobilewebapp of application "Bank" uses security test "m", which needs a device realm`,
				`apps/Bank/application-descriptor.xml:11: error: environment windowsphone8 of application "Bank" is protected by security test "noUser", which has no user realm: an application's test needs exactly one`,
				`apps/Bank/application-descriptor.xml:12: error: web environment facebook of application "Bank" uses security test "webAuthenticity", which checks app authenticity`,
			},
		},
		{
			name: "application ids",
			files: files{
				ac:               testsBlock,
				appPath("Bank"):  hybridApp("Bank", "\n"),
				appPath("Copy"):  hybridApp("Bank", "\n"),
				appPath("Other"): hybridApp("Renamed", "\n"),
				appPath("NoID"):  "<application>\n\t<android/>\n</application>\n",
				// A folder without a descriptor is not an application.
				"apps/Empty/readme.txt": "",
			},
			want: []string{
				`apps/Copy/application-descriptor.xml:2: error: application "Bank" is also defined at apps/Bank/application-descriptor.xml:2`,
				`apps/Copy/application-descriptor.xml:2: warning: application id "Bank" differs from its folder "Copy"; clients use "Bank"`,
				`apps/Other/application-descriptor.xml:2: warning: application id "Renamed" differs from its folder "Other"; clients use "Renamed"`,
			},
		},
		{
			name: "descriptor shape",
			files: files{
				ac: testsBlock,
				appPath("Twice"): hybridApp("Twice", `
	<android securityTest="m"/>
	<android securityTest="m"/>
	<accessTokenExpiration>soon</accessTokenExpiration>
`),
				appPath("Odd"):    "<?xml version=\"1.0\"?>\n<nativeSymbianApp id=\"Odd\"/>\n",
				appPath("Broken"): "<application id=\"Broken\">\n<android>\n</application>\n",
			},
			noFix: true,
			want: []string{
				`apps/Broken/application-descriptor.xml:3: error: malformed XML: element <android> closed by </application>`,
				`apps/Odd/application-descriptor.xml:2: error: unknown application descriptor root <nativeSymbianApp>`,
				`apps/Twice/application-descriptor.xml:4: error: environment "android" is declared twice (first at line 3)`,
				`apps/Twice/application-descriptor.xml:5: warning: accessTokenExpiration "soon" is not a positive number; ignored`,
			},
		},
		{
			name: "native descriptors",
			files: files{
				ac: testsBlock,
				appPath("Droid"): `<?xml version="1.0"?>
<!-- comment --><nativeAndroidApp xmlns="http://www.worklight.com/native-android-descriptor" id="Droid" securityTest="nosuch" version="1.0">
	<publicSigningKey>MIIB</publicSigningKey>
	<packageName>com.droid</packageName>
</nativeAndroidApp>
`,
				appPath("Web"): `<?xml version="1.0"?>
<nativeWindows8App id="Web" securityTest="w"/>
`,
			},
			want: []string{
				`apps/Droid/application-descriptor.xml:2: error: environment android of application "Droid" uses security test "nosuch", which is not defined`,
			},
		},
	})
}

func TestLoadStaticResourceDiagnostics(t *testing.T) {
	runLoadCases(t, []loadCase{{
		name: "static resources",
		files: files{ac: authConfig(`
	<staticResources>
		<resource id="ok" securityTest="w">
			<urlPatterns>/console*; reports/* ;;</urlPatterns>
		</resource>
		<resource id="noTest">
			<urlPatterns>/a*</urlPatterns>
		</resource>
		<resource id="noPatterns" securityTest="w"/>
		<resource id="unknownTest" securityTest="SubscribeServlet">
			<urlPatterns>/subscribeSMS*</urlPatterns>
		</resource>
	</staticResources>
	<securityTests>
		<webSecurityTest name="w"/>
	</securityTests>
`)},
		want: []string{
			ac + `:7: error: static resource "noTest" has no securityTest`,
			ac + `:10: error: static resource "noPatterns" has no URL patterns`,
			ac + `:11: error: static resource "unknownTest" uses security test "SubscribeServlet", which is not defined`,
		},
	}})
}

// fakeModule stands for a compiled adapter: the loader only hashes it.
const fakeModule = "\x00asm\x01\x00\x00\x00 bank adapter"

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestLoadAdapterDiagnostics(t *testing.T) {
	pin := sha256Hex(fakeModule)
	wrongPin := sha256Hex("something else")
	runLoadCases(t, []loadCase{
		{
			name: "procedures",
			files: files{ac: testsBlock, adapterPath("Bank"): adapterXML("Bank", `
	<procedure name="open" securityTest="wl_unprotected"/>
	<procedure name="balance" securityTest="w"/>
	<procedure name="caller"/>
	<procedure name="legacyOpen" requiresAuthentication="false"/>
	<procedure name="legacyClosed" requiresAuthentication="true"/>
	<procedure name="legacyOdd" requiresAuthentication="sometimes"/>
	<procedure name="both" securityTest="w" requiresAuthentication="false"/>
	<procedure name="typo" securityTest="DoubleStepAuthAdapter-securityTest"/>
	<procedure securityTest="w"/>
	<procedure name="open"/>
`)},
			want: []string{
				`adapters/Bank/Bank.xml:2: warning: adapter "Bank" has no backend: its procedures are protected but answer 501 not_implemented`,
				`adapters/Bank/Bank.xml:8: error: requiresAuthentication="sometimes" is not a boolean`,
				`adapters/Bank/Bank.xml:9: warning: procedure "both" has both securityTest and requiresAuthentication; securityTest is used`,
				`adapters/Bank/Bank.xml:10: error: procedure Bank.typo uses security test "DoubleStepAuthAdapter-securityTest", which is not defined`,
				`adapters/Bank/Bank.xml:11: error: procedure without a name`,
				`adapters/Bank/Bank.xml:12: error: procedure "open" is declared twice`,
			},
		},
		{
			name: "adapter files",
			files: files{
				ac:                    testsBlock,
				adapterPath("Bank"):   adapterXML("Renamed", "\n"),
				adapterPath("Odd"):    "<?xml version=\"1.0\"?>\n<adapters/>\n",
				adapterPath("Broken"): "<wl:adapter xmlns:wl=\"x\" name=\"Broken\">\n<procedure>\n",
				adapterPath("Dup"):    adapterXML("Renamed", "\n"),
				// An adapter folder with a differently named XML file is not an adapter.
				"adapters/Loose/other.xml": "<wl:adapter/>",
			},
			noFix: true,
			want: []string{
				`adapters/Bank/Bank.xml:2: warning: adapter name "Renamed" differs from its folder "Bank"; clients call "Renamed"`,
				`adapters/Broken/Broken.xml:3: error: malformed XML: unexpected EOF`,
				`adapters/Dup/Dup.xml:2: error: adapter "Renamed" is also defined at adapters/Bank/Bank.xml:2`,
				`adapters/Dup/Dup.xml:2: warning: adapter name "Renamed" differs from its folder "Dup"; clients call "Renamed"`,
				`adapters/Odd/Odd.xml:2: error: unknown adapter root <adapters>`,
			},
		},
		{
			name: "wasm backend pinned",
			files: files{ac: testsBlock, "adapters/Bank/bank.wasm": fakeModule, adapterPath("Bank"): adapterXML("Bank", `
	<procedure name="balance" securityTest="w"/>
	<backend kind="wasm" module="bank.wasm" sha256="`+strings.ToUpper(pin)+`" memoryPages="256" callTimeoutMs="500" instances="4">
		<allow host="127.0.0.1" port="8888"/>
		<setting name="currency" value="EUR"/>
		<setting name="region">eu</setting>
	</backend>
`)},
			opts: LoadOptions{AdapterKinds: []string{BackendWasm, BackendPlugin}},
		},
		{
			name: "wasm backend pin mismatch, unpinned, missing",
			files: files{
				ac:                        testsBlock,
				"adapters/Bank/bank.wasm": fakeModule,
				adapterPath("Bank"):       adapterXML("Bank", "\n\t<backend kind=\"wasm\" module=\"bank.wasm\" sha256=\""+wrongPin+"\"/>\n"),
				"adapters/Dev/dev.wasm":   fakeModule,
				adapterPath("Dev"):        adapterXML("Dev", "\n\t<backend kind=\"wasm\" module=\"dev.wasm\"/>\n"),
				adapterPath("Gone"):       adapterXML("Gone", "\n\t<backend kind=\"wasm\" module=\"gone.wasm\" sha256=\""+pin+"\"/>\n"),
				adapterPath("NoModule"):   adapterXML("NoModule", "\n\t<backend kind=\"wasm\"/>\n"),
			},
			noFix: true,
			want: []string{
				`adapters/Bank/Bank.xml:3: error: module bank.wasm has SHA-256 ` + pin + `, but the configuration pins ` + wrongPin,
				`adapters/Dev/Dev.xml:3: warning: module dev.wasm is not pinned by SHA-256`,
				`adapters/Gone/Gone.xml:3: error: module $PROJECT/adapters/Gone/gone.wasm cannot be opened: open $PROJECT/adapters/Gone/gone.wasm: no such file or directory`,
				`adapters/NoModule/NoModule.xml:3: error: a wasm backend needs a module`,
			},
		},
		{
			name: "plugin backend",
			files: files{
				ac:                        testsBlock,
				"adapters/Pki/pki-plugin": fakeModule,
				adapterPath("Pki"): adapterXML("Pki", `
	<backend kind="plugin" command="pki-plugin --verbose" sha256="`+pin+`">
		<arg>--port</arg>
		<arg>0</arg>
	</backend>
`),
				adapterPath("NoCommand"): adapterXML("NoCommand", "\n\t<backend kind=\"plugin\"/>\n"),
			},
			want: []string{
				`adapters/NoCommand/NoCommand.xml:3: error: a plugin backend needs a command`,
			},
		},
		{
			name: "backend settings",
			files: files{ac: testsBlock, "adapters/Bank/bank.wasm": fakeModule, adapterPath("Bank"): adapterXML("Bank", `
	<backend kind="wasm" module="bank.wasm" sha256="`+pin+`" memoryPages="65537" callTimeoutMs="0" instances="many">
		<allow host="127.0.0.1"/>
		<allow port="80"/>
		<setting value="nameless"/>
		<environment name="x"/>
	</backend>
	<backend kind="wasm" module="bank.wasm"/>
	<connectivity>
		<connectionPolicy>
			<protocol>https</protocol>
			<domain>Bank.Example</domain>
		</connectionPolicy>
		<connectionPolicy>
			<domain>api.example</domain>
			<port>80000</port>
		</connectionPolicy>
		<connectionPolicy>
			<dataSourceJNDIName>jdbc/db</dataSourceJNDIName>
		</connectionPolicy>
	</connectivity>
`)},
			want: []string{
				`adapters/Bank/Bank.xml:3: error: bad callTimeoutMs "0"`,
				`adapters/Bank/Bank.xml:3: error: bad instances "many"`,
				`adapters/Bank/Bank.xml:3: error: bad memoryPages "65537"`,
				`adapters/Bank/Bank.xml:4: error: an allow entry needs a host and a port`,
				`adapters/Bank/Bank.xml:5: error: an allow entry needs a host and a port`,
				`adapters/Bank/Bank.xml:6: error: a setting needs a name`,
				`adapters/Bank/Bank.xml:7: warning: unknown element <environment> in <backend> ignored`,
				`adapters/Bank/Bank.xml:9: error: adapter "Bank" declares more than one <backend>`,
				`adapters/Bank/Bank.xml:17: error: bad port "80000"`,
			},
		},
		{
			name:  "unknown backend kind",
			files: files{ac: testsBlock, adapterPath("Bank"): adapterXML("Bank", "\n\t<backend kind=\"jvm\" module=\"bank.jar\"/>\n")},
			opts:  LoadOptions{AdapterKinds: []string{BackendWasm, BackendPlugin}},
			want:  []string{`adapters/Bank/Bank.xml:3: error: unknown adapter kind "jvm"`},
		},
	})
}

func TestLoadPasswordFileLoginModule(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	config := func(file string) string {
		param := ""
		if file != "" {
			param = `<parameter name="file" value="` + file + `"/>`
		}
		return authConfig(userTest("form") + `
	<realms>
		<realm name="form" loginModule="passwords"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
	</realms>
	<loginModules>
		<loginModule name="passwords">
			<className>realmgate.PasswordFileLoginModule</className>
			` + param + `
		</loginModule>
	</loginModules>
`)
	}
	runLoadCases(t, []loadCase{
		{
			name: "bcrypt file",
			files: files{
				ac:                    config("conf/users.htpasswd"),
				"conf/users.htpasswd": "# users\n\nalice:" + string(hash) + "\r\nbob:" + string(hash) + "\n",
			},
			// The test's hashes are cheap to make: hostd check says they are cheap to guess.
			want: []string{ac + `:10: warning: login module "passwords": conf/users.htpasswd has bcrypt hashes of cost 4, below 10: each guess costs an attacker little`},
		},
		{
			name:  "no file parameter",
			files: files{ac: config("")},
			want:  []string{ac + `:10: error: login module "passwords" (PasswordFileLoginModule) needs parameter "file"`},
		},
		{
			name:  "missing file",
			files: files{ac: config("conf/users.htpasswd")},
			want:  []string{ac + `:10: error: login module "passwords": password file: open $PROJECT/conf/users.htpasswd: no such file or directory`},
		},
		{
			name: "weak hash",
			files: files{
				ac:                    config("conf/users.htpasswd"),
				"conf/users.htpasswd": "alice:" + string(hash) + "\nbob:$apr1$x9P5B0Yb$Cz3b9ZIXuHqk0oZbJ0Mxv.\n",
			},
			want: []string{ac + `:10: error: login module "passwords": password file $PROJECT/conf/users.htpasswd:2: user "bob" does not have a bcrypt hash (create it with htpasswd -B -C 10)`},
		},
		{
			name: "line without a hash",
			files: files{
				ac:                    config("conf/users.htpasswd"),
				"conf/users.htpasswd": "alice\n",
			},
			want: []string{ac + `:10: error: login module "passwords": password file $PROJECT/conf/users.htpasswd:1: expected user:bcrypt-hash`},
		},
		{
			// The file of a module no security test uses is not read.
			name: "unused module",
			files: files{ac: authConfig(`
	<loginModules>
		<loginModule name="passwords">
			<className>realmgate.PasswordFileLoginModule</className>
			<parameter name="file" value="nosuch"/>
		</loginModule>
	</loginModules>
`)},
		},
	})

	// The users the file holds check against their passwords.
	dir := writeProject(t, files{"users": "alice:" + string(hash) + "\n# bob:x\n"})
	users, err := ReadPasswordFile(filepath.Join(dir, "users"))
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 {
		t.Fatalf("users = %q, want only alice", users)
	}
	if err := bcrypt.CompareHashAndPassword(users["alice"], []byte("s3cret")); err != nil {
		t.Errorf("alice's hash does not match her password: %v", err)
	}
	if err := bcrypt.CompareHashAndPassword(users["alice"], []byte("S3cret")); err == nil {
		t.Error("alice's hash matches a wrong password")
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, maxDocumentBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPasswordFile(big); err == nil {
		t.Error("ReadPasswordFile accepted a file over the size bound")
	}
}

func TestLoadUserCertificateRealm(t *testing.T) {
	realm := func(params string) string {
		return authConfig(`
	<securityTests>
		<customSecurityTest name="x509">
			<test realm="wl_userCertificateAuthRealm" isInternalUserID="true"/>
		</customSecurityTest>
	</securityTests>
	<realms>
		<realm name="wl_userCertificateAuthRealm" loginModule="certs">
			<className>com.worklight.core.auth.ext.UserCertificateAuthenticator</className>` + params + `
		</realm>
		<realm name="form" loginModule="certs"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
	</realms>
	<loginModules>
		<loginModule name="certs"><className>com.worklight.core.auth.ext.UserCertificateLoginModule</className></loginModule>
	</loginModules>
`)
	}
	const (
		embedded     = "\n\t\t\t<parameter name=\"dependent-user-auth-realm\" value=\"form\"/>\n\t\t\t<parameter name=\"pki-bridge-class\" value=\"com.worklight.core.auth.ext.UserCertificateEmbeddedPKI\"/>\n\t\t\t<parameter name=\"embedded-pki-bridge-ca-p12-file-path\" value=\"ca.p12\"/>"
		embeddedNoCA = "\n\t\t\t<parameter name=\"dependent-user-auth-realm\" value=\"nosuch\"/>\n\t\t\t<parameter name=\"pki-bridge-class\" value=\"com.worklight.core.auth.ext.UserCertificateEmbeddedPKI\"/>"
		adapterPKI   = `
			<parameter name="dependent-user-auth-realm" value="form"/>
			<parameter name="pki-bridge-class" value="com.worklight.core.auth.ext.UserCertificateAdapterBasedPKI"/>
			<parameter name="adapter-pki-bridge-init-procedure" value="Pki.init"/>
			<parameter name="adapter-pki-bridge-certificate-generation-procedure" value="Pki.generate"/>
			<parameter name="adapter-pki-bridge-csr-validation-procedure" value="Pki"/>
			<parameter name="adapter-pki-bridge-identity-validation-procedure" value="Other.validate"/>`
		adapterNoGen  = "\n\t\t\t<parameter name=\"dependent-user-auth-realm\" value=\"form\"/>\n\t\t\t<parameter name=\"pki-bridge-class\" value=\"com.worklight.core.auth.ext.UserCertificateAdapterBasedPKI\"/>"
		unknownBridge = "\n\t\t\t<parameter name=\"dependent-user-auth-realm\" value=\"form\"/>\n\t\t\t<parameter name=\"pki-bridge-class\" value=\"com.acme.MyPKI\"/>"
	)
	runLoadCases(t, []loadCase{
		{
			name:  "embedded PKI",
			files: files{ac: realm(embedded)},
		},
		{
			name:  "embedded PKI without a CA, unknown dependent realm",
			files: files{ac: realm(embeddedNoCA)},
			want: []string{
				ac + `:9: error: realm "wl_userCertificateAuthRealm" depends on realm "nosuch", which is not defined`,
				ac + `:9: error: realm "wl_userCertificateAuthRealm" uses the embedded PKI without a CA file`,
			},
		},
		{
			name: "adapter-based PKI",
			files: files{
				ac:                 realm(adapterPKI),
				adapterPath("Pki"): adapterXML("Pki", "\n\t<procedure name=\"generate\" securityTest=\"wl_unprotected\"/>\n"),
			},
			want: []string{
				`adapters/Pki/Pki.xml:2: warning: adapter "Pki" has no backend: its procedures are protected but answer 501 not_implemented`,
				ac + `:13: error: realm "wl_userCertificateAuthRealm" names procedure Pki.init, which adapter "Pki" does not declare`,
				ac + `:15: error: realm "wl_userCertificateAuthRealm" names procedure "Pki", which is not Adapter.procedure`,
				ac + `:16: error: realm "wl_userCertificateAuthRealm" names adapter "Other", which is not in the project`,
			},
		},
		{
			name:  "adapter-based PKI without a generation procedure",
			files: files{ac: realm(adapterNoGen)},
			want:  []string{ac + `:9: error: realm "wl_userCertificateAuthRealm" uses the adapter-based PKI without a certificate-generation procedure`},
		},
		{
			name:  "unknown bridge",
			files: files{ac: realm(unknownBridge)},
			want:  []string{ac + `:9: error: realm "wl_userCertificateAuthRealm" names PKI bridge class com.acme.MyPKI, which Realmgate does not implement`},
		},
		{
			name:  "no dependent realm",
			files: files{ac: realm("")},
			want: []string{
				ac + `:9: error: realm "wl_userCertificateAuthRealm" (UserCertificateAuthenticator) needs parameter "dependent-user-auth-realm"`,
				ac + `:9: error: realm "wl_userCertificateAuthRealm" (UserCertificateAuthenticator) needs parameter "pki-bridge-class"`,
			},
		},
	})
}

func TestLoadPoliciesFolder(t *testing.T) {
	runLoadCases(t, []loadCase{{
		name: "policy files",
		files: files{
			ac:                         authConfig("\n"),
			"policies/hours.rego":      "package realmgate.user.hours\n",
			"policies/README.md":       "not a policy",
			"policies/nested/x.rego":   "package realmgate.user.nested\n",
			"policies/huge.rego":       strings.Repeat("#", maxDocumentBytes+1),
			"policies/.hidden.rego.sw": "",
		},
		want:  []string{`policies/huge.rego:1: error: policy file is larger than 4194304 bytes`},
		noFix: true,
	}})
}

// TestUnknownClassesSayWhatToUse: an unknown class is reported with what to use instead, used
// (error) or not (warning).
func TestUnknownClassesSayWhatToUse(t *testing.T) {
	dir := writeProject(t, files{ac: authConfig(userTest("ltpa") + `
	<realms>
		<realm name="ltpa" loginModule="ltpaModule"><className>com.worklight.core.auth.ext.WebSphereFormBasedAuthenticator</className></realm>
		<realm name="custom" loginModule="customModule"><className>com.acme.CustomAuthenticator</className></realm>
	</realms>
	<loginModules>
		<loginModule name="ltpaModule"><className>com.worklight.core.auth.ext.WebSphereLoginModule</className></loginModule>
		<loginModule name="customModule"><className>com.acme.CustomLoginModule</className></loginModule>
	</loginModules>
`)})
	want := map[string]struct {
		severity Severity
		fix      string
	}{
		`realm "ltpa" uses authenticator class com.worklight.core.auth.ext.WebSphereFormBasedAuthenticator, which Realmgate does not implement`: {
			Error, "use com.worklight.core.auth.ext.FormBasedAuthenticator with realmgate.PasswordFileLoginModule or LdapLoginModule"},
		`login module "ltpaModule" uses class com.worklight.core.auth.ext.WebSphereLoginModule, which Realmgate does not implement`: {
			Error, "use realmgate.PasswordFileLoginModule or com.worklight.core.auth.ext.LdapLoginModule"},
		`realm "custom" uses authenticator class com.acme.CustomAuthenticator, which Realmgate does not implement (not used by any security test)`: {
			Warning, "AdapterAuthenticator"},
		`login module "customModule" uses class com.acme.CustomLoginModule, which Realmgate does not implement (not used by any security test)`: {
			Warning, "realmgate.PasswordFileLoginModule"},
	}
	got := Check(dir, LoadOptions{})
	if len(got) != len(want) {
		t.Fatalf("diagnostics:\n%s", strings.Join(diagLines(got), "\n"))
	}
	for _, d := range got {
		w, ok := want[d.Message]
		if !ok {
			t.Errorf("unexpected %s", d)
			continue
		}
		if d.Severity != w.severity || !strings.Contains(d.Fix, w.fix) {
			t.Errorf("%s: severity %v, fix %q; want %v and a fix naming %q", d.Message, d.Severity, d.Fix, w.severity, w.fix)
		}
	}
}
