package policies

import (
	"strings"
	"testing"
)

// ssoConfig shares the logins of realm "login" by the device (ssoDeviceLoginModule module);
// test "suite" provisions devices, test "claimed" only takes the device id the client claims.
func ssoConfig(module string) string {
	return authConfig(`
	<securityTests>
		<mobileSecurityTest name="suite">
			<testAppAuthenticity/>
			<testDeviceId provisioningType="auto"/>
			<testUser realm="login"/>
		</mobileSecurityTest>
		<mobileSecurityTest name="claimed">
			<testDeviceId provisioningType="none"/>
			<testUser realm="login"/>
		</mobileSecurityTest>
	</securityTests>
	<realms>
		<realm name="login" loginModule="shared">
			<className>com.worklight.core.auth.ext.FormBasedAuthenticator</className>
		</realm>
	</realms>
	<loginModules>
		<loginModule name="shared" ssoDeviceLoginModule="` + module + `">
			<className>com.worklight.core.auth.ext.RejectingLoginModule</className>
		</loginModule>
	</loginModules>
`)
}

// ssoApp is an application whose android environment uses test, provisioned for entity
// ("application", "group:NAME" or "device"); its <android> element is on line 3.
func ssoApp(id, test, entity string) string {
	prov := `<provisioning entity="` + entity + `"/>`
	if group, ok := strings.CutPrefix(entity, "group:"); ok {
		prov = `<provisioning entity="group" group="` + group + `"/>`
	}
	return hybridApp(id, `
	<android securityTest="`+test+`" version="1.0">
		<security>
			<packageName>com.example.`+strings.ToLower(id)+`</packageName>
			<signingCertificateDigest>`+sha256Hex("signer")+`</signingCertificateDigest>
			`+prov+`
		</security>
	</android>
`)
}

// TestLoadDeviceSSOAdvice: hostd check says where device single sign-on shares nothing, now that
// logins are shared only between applications that prove the same device certificate.
func TestLoadDeviceSSOAdvice(t *testing.T) {
	const auto = "WLDeviceAutoProvisioningLoginModule"
	prefix := `warning: login module "shared" shares logins between applications that prove the same device certificate; `
	runLoadCases(t, []loadCase{
		{
			name: "one group: shared, nothing to say",
			files: files{ac: ssoConfig(auto),
				appPath("Mail"): ssoApp("Mail", "suite", "group:suite"), appPath("Calendar"): ssoApp("Calendar", "suite", "group:suite")},
		},
		{
			name: "entity device: shared, nothing to say",
			files: files{ac: ssoConfig(auto),
				appPath("Mail"): ssoApp("Mail", "suite", "device"), appPath("Calendar"): ssoApp("Calendar", "suite", "device")},
		},
		{
			name:  "a single application: nobody to share with",
			files: files{ac: ssoConfig(auto), appPath("Mail"): ssoApp("Mail", "suite", "application")},
		},
		{
			name: "an application with its own certificate",
			files: files{ac: ssoConfig(auto),
				appPath("Mail"): ssoApp("Mail", "suite", "group:suite"), appPath("Calendar"): ssoApp("Calendar", "suite", "group:suite"),
				appPath("Notes"): ssoApp("Notes", "suite", "application")},
			want: []string{`apps/Notes/application-descriptor.xml:3: ` + prefix + `application Notes (android) provisions its own certificate (entity application), so its logins are not shared`},
		},
		{
			name: "different groups",
			files: files{ac: ssoConfig(auto),
				appPath("Mail"): ssoApp("Mail", "suite", "group:a"), appPath("Calendar"): ssoApp("Calendar", "suite", "group:b")},
			want: []string{
				`apps/Calendar/application-descriptor.xml:3: ` + prefix + `application Calendar (android) is the only one of them provisioned for group:b, so its logins are not shared`,
				`apps/Mail/application-descriptor.xml:3: ` + prefix + `application Mail (android) is the only one of them provisioned for group:a, so its logins are not shared`,
			},
		},
		{
			name: "a test that proves no device",
			files: files{ac: ssoConfig(auto),
				appPath("Mail"): ssoApp("Mail", "suite", "group:suite"), appPath("Calendar"): ssoApp("Calendar", "claimed", "group:suite")},
			want: []string{
				`apps/Calendar/application-descriptor.xml:3: warning: login module "shared" shares logins by the device certificate of wl_deviceAutoProvisioningRealm, which security test "claimed" of application Calendar (android) does not hold, so its logins are not shared`,
				`apps/Mail/application-descriptor.xml:3: ` + prefix + `application Mail (android) is the only one of them provisioned for group:suite, so its logins are not shared`,
			},
		},
		{
			name: "a claimed device id shares nothing",
			files: files{ac: ssoConfig("WLDeviceNoProvisioningLoginModule"),
				appPath("Mail"): ssoApp("Mail", "claimed", "device"), appPath("Calendar"): ssoApp("Calendar", "claimed", "device")},
			want: []string{`server/conf/authenticationConfig.xml:20: warning: login module "shared" names ssoDeviceLoginModule WLDeviceNoProvisioningLoginModule: a device id that is only claimed proves nothing, so its logins are not shared`},
		},
	})
}
