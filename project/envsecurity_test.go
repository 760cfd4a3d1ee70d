package project

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// deviceTestsBlock defines mobile tests, all with user realm "form": "auto" (authenticity and
// automatic provisioning), "custom" (authenticity and the custom provisioning realm "enroll"),
// "authenticity" (authenticity, no provisioning) and "plain" (neither). The diagnostics archives
// device-security-*.txtar under testdata/diagnostics hold the same configuration, which on its own
// draws no diagnostic.
var deviceTestsBlock = authConfig(`
	<securityTests>
		<mobileSecurityTest name="auto">
			<testAppAuthenticity/>
			<testDeviceId provisioningType="auto"/>
			<testUser realm="form"/>
		</mobileSecurityTest>
		<mobileSecurityTest name="custom">
			<testAppAuthenticity/>
			<testDeviceId provisioningType="custom" realm="enroll"/>
			<testUser realm="form"/>
		</mobileSecurityTest>
		<mobileSecurityTest name="authenticity">
			<testAppAuthenticity/>
			<testDeviceId provisioningType="none"/>
			<testUser realm="form"/>
		</mobileSecurityTest>
		<mobileSecurityTest name="plain">
			<testDeviceId provisioningType="none"/>
			<testUser realm="form"/>
		</mobileSecurityTest>
	</securityTests>
	<realms>
		<realm name="form" loginModule="rejectAll">
			<className>com.worklight.core.auth.ext.FormBasedAuthenticator</className>
		</realm>
		<realm name="enroll" loginModule="enroll">
			<className>com.worklight.core.auth.ext.DeviceAutoProvisioningAuthenticator</className>
		</realm>
	</realms>
	<loginModules>
		<loginModule name="rejectAll"><className>com.worklight.core.auth.ext.RejectingLoginModule</className></loginModule>
		<loginModule name="enroll"><className>com.worklight.core.auth.ext.DeviceAutoProvisioningLoginModule</className></loginModule>
	</loginModules>
`)

// certDigest is the lower-case hex SHA-256 of a made-up signing certificate named seed.
func certDigest(seed string) string {
	sum := sha256.Sum256([]byte("signing certificate " + seed))
	return hex.EncodeToString(sum[:])
}

// keytoolForm writes a hex digest the way keytool -list prints it: upper case, bytes joined by
// colons (AB:CD:...).
func keytoolForm(digest string) string {
	var parts []string
	for i := 0; i < len(digest); i += 2 {
		parts = append(parts, strings.ToUpper(digest[i:i+2]))
	}
	return strings.Join(parts, ":")
}

// envSecurity is what the loader reads from an environment for device security.
type envSecurity struct {
	PackageName string
	Digests     []string
	Entity      string
}

// TestEnvironmentDeviceSecurityModel compares the parsed device-security fields of an
// environment: digests normalized to lower-case hex without colons, in file order; the
// provisioning entity from <security> or the environment element.
func TestEnvironmentDeviceSecurityModel(t *testing.T) {
	a, b := certDigest("a"), certDigest("b")
	cases := []struct {
		name       string
		descriptor string // apps/App/application-descriptor.xml
		env        string
		want       envSecurity
	}{
		{
			name:       "nothing declared",
			descriptor: hybridApp("App", "\n\t<android securityTest=\"plain\"/>\n"),
			env:        "android",
		},
		{
			name: "digests in every accepted form, in file order, a repeated one once",
			descriptor: hybridApp("App", `
	<android securityTest="auto">
		<security>
			<packageName>com.app</packageName>
			<signingCertificateDigest>`+a+`</signingCertificateDigest>
			<signingCertificateDigest>
				`+keytoolForm(b)+`
			</signingCertificateDigest>
			<signingCertificateDigest>`+strings.ToUpper(a)+`</signingCertificateDigest>
		</security>
	</android>
`),
			env:  "android",
			want: envSecurity{PackageName: "com.app", Digests: []string{a, b}},
		},
		{
			name:       "native android: digest and provisioning under the root",
			descriptor: "<nativeAndroidApp id=\"App\" securityTest=\"auto\">\n\t<packageName>com.app</packageName>\n\t<signingCertificateDigest>" + keytoolForm(a) + "</signingCertificateDigest>\n\t<provisioning entity=\"device\"/>\n</nativeAndroidApp>\n",
			env:        "android",
			want:       envSecurity{PackageName: "com.app", Digests: []string{a}, Entity: "device"},
		},
		{
			name:       "no entity means application",
			descriptor: hybridApp("App", "\n\t<iphone securityTest=\"auto\"><security><provisioning/></security></iphone>\n"),
			env:        "iphone",
			want:       envSecurity{Entity: "application"},
		},
		{
			name:       "application under security",
			descriptor: hybridApp("App", "\n\t<iphone securityTest=\"auto\"><security><provisioning entity=\"application\"/></security></iphone>\n"),
			env:        "iphone",
			want:       envSecurity{Entity: "application"},
		},
		{
			name:       "group on the environment element",
			descriptor: hybridApp("App", "\n\t<ipad securityTest=\"auto\"><provisioning entity=\"group\" group=\"Bank Tellers\"/></ipad>\n"),
			env:        "ipad",
			want:       envSecurity{Entity: "group:Bank Tellers"},
		},
		{
			name:       "group under security",
			descriptor: hybridApp("App", "\n\t<ipad securityTest=\"auto\"><security><provisioning entity=\"group\" group=\"Tellers\"/></security></ipad>\n"),
			env:        "ipad",
			want:       envSecurity{Entity: "group:Tellers"},
		},
		{
			name:       "device on the environment element, with a security element beside it",
			descriptor: hybridApp("App", "\n\t<iphone securityTest=\"auto\"><security><publicSigningKey>KEY</publicSigningKey></security><provisioning entity=\"device\"/></iphone>\n"),
			env:        "iphone",
			want:       envSecurity{Entity: "device"},
		},
		{
			name:       "native iOS, application on the root",
			descriptor: "<nativeiOSApp id=\"App\" securityTest=\"auto\" bundleId=\"com.app\">\n\t<provisioning entity=\"application\"/>\n</nativeiOSApp>\n",
			env:        "iphone",
			want:       envSecurity{Entity: "application"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := mustLoad(t, writeProject(t, files{ac: deviceTestsBlock, appPath("App"): tc.descriptor}))
			e := p.Apps["App"].Envs[tc.env]
			if e == nil {
				t.Fatalf("no environment %s; have %v", tc.env, sortedKeys(p.Apps["App"].Envs))
			}
			got := envSecurity{PackageName: e.PackageName, Digests: e.SigningCertificateDigests, Entity: e.ProvisioningEntity}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("environment %s (-want +got):\n%s", tc.env, diff)
			}
		})
	}

	// A refused digest is left out, the ones around it kept.
	dir := writeProject(t, files{ac: deviceTestsBlock, appPath("App"): hybridApp("App", `
	<android securityTest="auto">
		<security>
			<packageName>com.app</packageName>
			<signingCertificateDigest>`+a+`</signingCertificateDigest>
			<signingCertificateDigest>`+a[:62]+`</signingCertificateDigest>
			<signingCertificateDigest>`+b+`</signingCertificateDigest>
		</security>
	</android>
`)})
	p, diags := load(dir, LoadOptions{})
	if len(diags.Errors()) != 1 {
		t.Fatalf("want one error for the short digest, got:\n%s", strings.Join(diagLines(diags), "\n"))
	}
	if diff := cmp.Diff([]string{a, b}, p.Apps["App"].Envs["android"].SigningCertificateDigests); diff != "" {
		t.Errorf("digests around a refused one (-want +got):\n%s", diff)
	}
}

func TestSupportsDeviceSecurity(t *testing.T) {
	want := map[string]bool{}
	got := map[string]bool{}
	for name := range environments {
		want[name] = name == "android" || name == "iphone" || name == "ipad"
		got[name] = (&Environment{Name: name, Mobile: environments[name]}).SupportsDeviceSecurity()
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SupportsDeviceSecurity by environment (-want +got):\n%s", diff)
	}
}

// descriptorSeeds are application descriptors shaped like real ones: the example projects' and,
// when present, the real projects' beside the repository, and a few with device-security settings.
func descriptorSeeds() [][]byte {
	d := certDigest("seed")
	out := [][]byte{
		[]byte(hybridApp("App", "\n\t<android securityTest=\"auto\"><security><packageName>p</packageName><signingCertificateDigest>"+keytoolForm(d)+"</signingCertificateDigest><provisioning entity=\"group\" group=\"g\"/></security></android>\n")),
		[]byte(hybridApp("App", "\n\t<iphone securityTest=\"custom\"><provisioning entity=\"device\"/></iphone>\n\t<windows8 securityTest=\"auto\"/>\n")),
		[]byte("<nativeAndroidApp id=\"App\" securityTest=\"auto\"><signingCertificateDigest>::" + d + "</signingCertificateDigest><provisioning entity=\"x\"/></nativeAndroidApp>"),
	}
	for _, pattern := range []string{
		filepath.Join("..", "testdata", "projects", "*", "apps", "*", descriptorName),
		filepath.Join(corpusDir, "*", "apps", "*", descriptorName),
	} {
		paths, _ := filepath.Glob(pattern)
		for _, p := range paths {
			if data, err := os.ReadFile(p); err == nil {
				out = append(out, data)
			}
		}
	}
	return out
}

var hexDigest = regexp.MustCompile(`^[0-9a-f]{64}$`)

// FuzzLoadAppDescriptor writes the input as an application descriptor beside deviceTestsBlock:
// never a panic, every diagnostic names a file; every digest the model keeps is 64 lower-case hex
// digits and every provisioning entity one of the documented forms; Load agrees with Check.
func FuzzLoadAppDescriptor(f *testing.F) {
	for _, s := range descriptorSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := writeProject(t, files{ac: deviceTestsBlock, appPath("App"): string(data)})
		p, diags := load(dir, LoadOptions{})
		for _, d := range diags {
			if d.Pos.File == "" || filepath.IsAbs(d.Pos.File) {
				t.Fatalf("diagnostic without a project file: %s", d)
			}
		}
		for _, app := range p.Apps {
			for name, e := range app.Envs {
				for _, dg := range e.SigningCertificateDigests {
					if !hexDigest.MatchString(dg) {
						t.Fatalf("environment %s keeps digest %q", name, dg)
					}
				}
				switch ent := e.ProvisioningEntity; {
				case ent == "", ent == "application", ent == "device":
				case strings.HasPrefix(ent, "group:") && len(ent) > len("group:") && len(ent) <= len("group:")+128:
				default:
					t.Fatalf("environment %s has provisioning entity %q", name, ent)
				}
			}
		}
		_, err := Load(dir, LoadOptions{})
		var le *LoadError
		if diags.HasErrors() != errors.As(err, &le) {
			t.Fatalf("Check has errors: %v; Load: %v", diags.HasErrors(), err)
		}
	})
}

// TestRealmStatus: the realms the engine enforces (app authenticity, automatic and custom
// provisioning, user certificates, LDAP) report Implemented, so the engine decides requests that
// need them; realms on Trusteer classes report Recognized, so such requests are refused.
func TestRealmStatus(t *testing.T) {
	p := mustLoad(t, writeProject(t, files{ac: authConfig(`
	<securityTests>
		<customSecurityTest name="all">
			<test realm="wl_authenticityRealm" step="1"/>
			<test realm="enroll" isInternalDeviceID="true" step="2"/>
			<test realm="wl_userCertificateAuthRealm" isInternalUserID="true" step="3"/>
			<test realm="trusteer" step="3"/>
		</customSecurityTest>
		<mobileSecurityTest name="auto">
			<testAppAuthenticity/>
			<testDeviceId provisioningType="auto"/>
			<testUser realm="ldap"/>
		</mobileSecurityTest>
	</securityTests>
	<realms>
		<realm name="form" loginModule="rejectAll"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
		<realm name="enroll" loginModule="enroll"><className>com.worklight.core.auth.ext.DeviceAutoProvisioningAuthenticator</className></realm>
		<realm name="wl_userCertificateAuthRealm" loginModule="certs">
			<className>com.worklight.core.auth.ext.UserCertificateAuthenticator</className>
			<parameter name="dependent-user-auth-realm" value="form"/>
			<parameter name="pki-bridge-class" value="com.worklight.core.auth.ext.UserCertificateEmbeddedPKI"/>
			<parameter name="embedded-pki-bridge-ca-p12-file-path" value="ca.p12"/>
		</realm>
		<realm name="ldap" loginModule="ldap"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
		<realm name="trusteer" loginModule="trusteer"><className>com.worklight.core.auth.ext.TrusteerAuthenticator</className></realm>
	</realms>
	<loginModules>
		<loginModule name="rejectAll"><className>com.worklight.core.auth.ext.RejectingLoginModule</className></loginModule>
		<loginModule name="enroll"><className>com.worklight.core.auth.ext.DeviceAutoProvisioningLoginModule</className></loginModule>
		<loginModule name="certs"><className>com.worklight.core.auth.ext.UserCertificateLoginModule</className></loginModule>
		<loginModule name="ldap">
			<className>com.worklight.core.auth.ext.LdapLoginModule</className>
			<parameter name="ldapProviderUrl" value="ldap://127.0.0.1:389"/>
			<parameter name="ldapSecurityPrincipalPattern" value="uid={username},ou=people,dc=example,dc=com"/>
		</loginModule>
		<loginModule name="trusteer"><className>com.worklight.core.auth.ext.TrusteerLoginModule</className></loginModule>
	</loginModules>
`)}))
	want := map[string]ClassStatus{
		RealmAuthenticity:             Implemented,
		RealmDeviceAutoProvision:      Implemented,
		"enroll":                      Implemented,
		"wl_userCertificateAuthRealm": Implemented,
		"form":                        Implemented,
		"ldap":                        Implemented,
		"trusteer":                    Recognized,
	}
	got := map[string]ClassStatus{}
	for name := range want {
		got[name] = p.Realms[name].Status(p)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("realm status (-want +got):\n%s", diff)
	}
}
