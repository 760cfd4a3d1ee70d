package policies

import (
	_ "crypto/sha256"
	_ "encoding/hex"
	"errors"
	_ "os"
	_ "path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	_ "golang.org/x/crypto/bcrypt"
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
			if diff := cmp.Diff(tc.want, diagLines(got), emptyNil); diff != "" {
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
		</customSecurityTest>
	</securityTests>
	<realms>
		<realm name="adapter" loginModule="none">
			<className>com.worklight.integration.auth.AdapterAuthenticator</className>
			<parameter name="logout-function" value="Auth.onLogout"/>
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
	</realms>
	<loginModules>
		<loginModule name="none"><className>com.worklight.core.auth.ext.RejectingLoginModule</className></loginModule>
		<loginModule name="headers"><className>com.worklight.core.auth.ext.HeaderLoginModule</className></loginModule>
	</loginModules>
`)},
			want: []string{
				ac + `:10: warning: realm "adapter" (AdapterAuthenticator) is recognized but not enforced by this version: requests that need it are refused`,
				ac + `:10: error: realm "adapter" (AdapterAuthenticator) needs parameter "login-function"`,
				ac + `:13: warning: realm "adapter": parameter "greeting" is not used by AdapterAuthenticator`,
				ac + `:14: error: parameter without a name`,
				ac + `:20: warning: realm "unused" (AdapterAuthenticator) needs parameter "login-function" (not used by any security test)`,
				ac + `:26: error: login module "headers" (HeaderLoginModule) needs parameter "user-name-header"`,
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
