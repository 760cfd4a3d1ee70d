package project

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// testShape is what an expansion decides about a security test.
type testShape struct {
	Kind        string
	Steps       [][]string
	UserRealm   string
	DeviceRealm string
	NotEnforced []string
	TokenSec    int
}

func shapeOf(t *SecurityTest) testShape {
	return testShape{t.Kind, t.Steps, t.UserRealm, t.DeviceRealm, t.NotEnforced, t.AccessTokenExpirationSec}
}

func TestExpansions(t *testing.T) {
	const provisioning = `
	<realms>
		<realm name="form" loginModule="rejectAll"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
		<realm name="header" loginModule="rejectAll">
			<className>com.worklight.core.auth.ext.HeaderAuthenticator</className>
		</realm>
		<realm name="enroll" loginModule="enroll">
			<className>com.worklight.core.auth.ext.DeviceAutoProvisioningAuthenticator</className>
			<parameter name="validate-csr-function" value="Enroll.validateCSR"/>
		</realm>
	</realms>
	<loginModules>
		<loginModule name="rejectAll"><className>com.worklight.core.auth.ext.RejectingLoginModule</className></loginModule>
		<loginModule name="enroll"><className>com.worklight.core.auth.ext.DeviceAutoProvisioningLoginModule</className></loginModule>
	</loginModules>
`
	cases := []struct {
		name string
		test string // one security test element
		want testShape
	}{
		{
			name: "web without testUser",
			test: `<webSecurityTest name="x"/>`,
			want: testShape{Kind: KindWeb, Steps: [][]string{{RealmAntiXSRF, RealmAnonymousUser}}, UserRealm: RealmAnonymousUser},
		},
		{
			name: "web with testUser",
			test: `<webSecurityTest name="x"><testUser realm="form"/></webSecurityTest>`,
			want: testShape{Kind: KindWeb, Steps: [][]string{{RealmAntiXSRF, "form"}}, UserRealm: "form"},
		},
		{
			name: "mobile, empty: anonymous user and the no-provisioning device realm",
			test: `<mobileSecurityTest name="x"/>`,
			want: testShape{Kind: KindMobile,
				Steps:     [][]string{{RealmAntiXSRF, RealmRemoteDisable, RealmAnonymousUser, RealmDeviceNoProvision}},
				UserRealm: RealmAnonymousUser, DeviceRealm: RealmDeviceNoProvision},
		},
		{
			name: "mobile, no provisioning, no testUser",
			test: `<mobileSecurityTest name="x"><testDeviceId provisioningType="none"/></mobileSecurityTest>`,
			want: testShape{Kind: KindMobile,
				Steps:     [][]string{{RealmAntiXSRF, RealmRemoteDisable, RealmAnonymousUser, RealmDeviceNoProvision}},
				UserRealm: RealmAnonymousUser, DeviceRealm: RealmDeviceNoProvision},
		},
		{
			name: "mobile, provisioningType omitted",
			test: `<mobileSecurityTest name="x"><testUser realm="form"/><testDeviceId/></mobileSecurityTest>`,
			want: testShape{Kind: KindMobile,
				Steps:     [][]string{{RealmAntiXSRF, RealmRemoteDisable, "form", RealmDeviceNoProvision}},
				UserRealm: "form", DeviceRealm: RealmDeviceNoProvision},
		},
		{
			name: "mobile, the corpus's usual test",
			test: `<mobileSecurityTest name="x">
				<testAppAuthenticity/>
				<testDeviceId provisioningType="none" />
				<testUser realm="form" />
				<testDirectUpdate mode="perSession" />
			</mobileSecurityTest>`,
			want: testShape{Kind: KindMobile,
				Steps:       [][]string{{RealmAntiXSRF, RealmAuthenticity, RealmRemoteDisable, "form", RealmDeviceNoProvision}},
				UserRealm:   "form",
				DeviceRealm: RealmDeviceNoProvision,
				NotEnforced: []string{RealmDirectUpdate}},
		},
		{
			name: "mobile, auto provisioning with authenticity",
			test: `<mobileSecurityTest name="x" AccessTokenExpirationSec="600">
				<testDeviceId provisioningType="AUTO"/>
				<testAppAuthenticity/>
			</mobileSecurityTest>`,
			want: testShape{Kind: KindMobile,
				Steps:     [][]string{{RealmAntiXSRF, RealmAuthenticity, RealmRemoteDisable, RealmAnonymousUser, RealmDeviceAutoProvision}},
				UserRealm: RealmAnonymousUser, DeviceRealm: RealmDeviceAutoProvision, TokenSec: 600},
		},
		{
			name: "mobile, custom provisioning realm",
			test: `<mobileSecurityTest name="x">
				<testAppAuthenticity/>
				<testDeviceId provisioningType="custom" realm="enroll"/>
				<testUser realm="header"/>
			</mobileSecurityTest>`,
			want: testShape{Kind: KindMobile,
				Steps:     [][]string{{RealmAntiXSRF, RealmAuthenticity, RealmRemoteDisable, "header", "enroll"}},
				UserRealm: "header", DeviceRealm: "enroll"},
		},
		{
			name: "custom without steps is one step, in file order",
			test: `<customSecurityTest name="x">
				<test realm="wl_antiXSRFRealm"/>
				<test realm="wl_deviceNoProvisioningRealm" isInternalDeviceID="true"/>
				<test realm="form" isInternalUserID="true"/>
			</customSecurityTest>`,
			want: testShape{Kind: KindCustom,
				Steps:     [][]string{{RealmAntiXSRF, RealmDeviceNoProvision, "form"}},
				UserRealm: "form", DeviceRealm: RealmDeviceNoProvision},
		},
		{
			name: "custom, mixed and missing steps",
			test: `<customSecurityTest name="x">
				<test realm="header" step="2"/>
				<test realm="wl_antiXSRFRealm"/>
				<test realm="wl_directUpdateRealm" mode="perSession" step="2"/>
				<test realm="form" step="1" isInternalUserID="true"/>
			</customSecurityTest>`,
			want: testShape{Kind: KindCustom,
				Steps:       [][]string{{RealmAntiXSRF, "form"}, {"header"}},
				UserRealm:   "form",
				NotEnforced: []string{RealmDirectUpdate}},
		},
		{
			name: "custom, gaps are closed",
			test: `<customSecurityTest name="x">
				<test realm="form" step="7" isInternalUserID="true"/>
				<test realm="header" step="3"/>
				<test realm="wl_antiXSRFRealm" step="3"/>
			</customSecurityTest>`,
			want: testShape{Kind: KindCustom, Steps: [][]string{{"header", RealmAntiXSRF}, {"form"}}, UserRealm: "form"},
		},
		{
			name: "custom, attribute spellings",
			test: `<customSecurityTest name="x">
				<test realm="form" isInternalUserId="TRUE"/>
				<test realm="wl_deviceNoProvisioningRealm" ISINTERNALDEVICEID="Yes"/>
				<test realm="header" isInternalUserID="false" isInternalDeviceID=""/>
			</customSecurityTest>`,
			want: testShape{Kind: KindCustom,
				Steps:     [][]string{{"form", RealmDeviceNoProvision, "header"}},
				UserRealm: "form", DeviceRealm: RealmDeviceNoProvision},
		},
		{
			name: "custom, only direct update",
			test: `<customSecurityTest name="x"><test realm="wl_directUpdateRealm" mode="perRequest"/></customSecurityTest>`,
			want: testShape{Kind: KindCustom, Steps: [][]string{}, NotEnforced: []string{RealmDirectUpdate}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writeProject(t, files{ac: authConfig("\n<securityTests>" + tc.test + "</securityTests>" + provisioning)})
			p, diags := load(dir, LoadOptions{})
			if diags.HasErrors() {
				t.Fatalf("load: %s", diags.Errors())
			}
			got := shapeOf(p.Tests["x"])
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("expansion (-want +got):\n%s", diff)
			}
			if p.Tests["x"].Kind != KindCustom && p.Tests["x"].Expansion == "" {
				t.Error("a web or mobile test has no Expansion for reviewers")
			}
		})
	}
}

func TestDefaultTests(t *testing.T) {
	dir := writeProject(t, files{ac: authConfig(`
	<securityTests>
		<webSecurityTest name="web"/>
		<customSecurityTest name="c"><test realm="wl_anonymousUserRealm" isInternalUserID="true"/></customSecurityTest>
	</securityTests>
`)})
	p := mustLoad(t, dir)
	if diff := cmp.Diff([]string{"web", "c", DefaultMobileTest, DefaultWebTest}, p.TestOrder); diff != "" {
		t.Errorf("TestOrder (-want +got):\n%s", diff)
	}
	want := map[string]testShape{
		DefaultMobileTest: {Kind: KindMobile,
			Steps:     [][]string{{RealmAntiXSRF, RealmRemoteDisable, RealmAnonymousUser, RealmDeviceNoProvision}},
			UserRealm: RealmAnonymousUser, DeviceRealm: RealmDeviceNoProvision},
		DefaultWebTest: {Kind: KindWeb, Steps: [][]string{{RealmAntiXSRF, RealmAnonymousUser}}, UserRealm: RealmAnonymousUser},
	}
	for name, w := range want {
		tt := p.Tests[name]
		if !tt.Predefined {
			t.Errorf("%s is not Predefined", name)
		}
		if diff := cmp.Diff(w, shapeOf(tt), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	// The defaults match what an explicit test without testUser expands to.
	mobile := writeProject(t, files{ac: authConfig(`<securityTests><mobileSecurityTest name="m"><testDeviceId provisioningType="none"/></mobileSecurityTest></securityTests>`)})
	pm := mustLoad(t, mobile)
	if diff := cmp.Diff(shapeOf(pm.Tests["m"]), shapeOf(pm.Tests[DefaultMobileTest]), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("default mobile test differs from an explicit mobileSecurityTest (-explicit +default):\n%s", diff)
	}
	if diff := cmp.Diff(shapeOf(p.Tests["web"]), shapeOf(p.Tests[DefaultWebTest]), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("default web test differs from an explicit webSecurityTest (-explicit +default):\n%s", diff)
	}
	// Every built-in realm is defined.
	for name := range builtinRealms {
		if r := p.Realms[name]; r == nil || !r.Builtin {
			t.Errorf("built-in realm %s missing", name)
		}
	}
}

// TestProjectModel loads a project that uses most of what the loader reads and compares the
// resulting model field by field.
func TestProjectModel(t *testing.T) {
	dir := writeProject(t, files{
		ac: authConfig(`
	<staticResources>
		<resource id="console" securityTest="web">
			<urlPatterns>/console*; reports/*</urlPatterns>
		</resource>
	</staticResources>
	<securityTests>
		<webSecurityTest name="web"><testUser realm="form"/></webSecurityTest>
		<mobileSecurityTest name="mobile">
			<testUser realm="form"/>
			<testDeviceId provisioningType="none"/>
		</mobileSecurityTest>
	</securityTests>
	<realms>
		<realm name="form" loginModule="users">
			<className>com.worklight.core.auth.ext.FormBasedAuthenticator</className>
			<parameter name="login-page" value="/login.html"/>
			<parameter name="error-page">/error.html</parameter>
			<onLoginUrl>/console</onLoginUrl>
		</realm>
	</realms>
	<loginModules>
		<loginModule name="users" expirationInSeconds="-1" ssoDeviceLoginModule="WLDeviceNoProvisioningLoginModule" audit="true">
			<className>com.worklight.core.auth.ext.HeaderLoginModule</className>
			<parameter name="user-name-header" value="X-User"/>
		</loginModule>
		<loginModule name="spare">
			<className>com.worklight.core.auth.ext.RejectingLoginModule</className>
		</loginModule>
	</loginModules>
`),
		appPath("Bank"): hybridApp("Bank", `
	<android securityTest="mobile" version="2.1">
		<security>
			<publicSigningKey>MIIBIjAN</publicSigningKey>
			<packageName>com.bank</packageName>
		</security>
	</android>
	<iphone bundleId="com.bank.ios" applicationVersion="2.0"/>
	<desktopbrowser securityTest="web"/>
	<userIdentityRealms>form, other;third</userIdentityRealms>
	<accessTokenExpiration>900</accessTokenExpiration>
`),
		appPath("Droid"): `<nativeAndroidApp id="Droid" securityTest="mobile" version="1.0">
	<publicSigningKey>KEY</publicSigningKey>
	<packageName>com.droid</packageName>
</nativeAndroidApp>
`,
		adapterPath("Accounts"): adapterXML("Accounts", `
	<connectivity>
		<connectionPolicy>
			<protocol>https</protocol>
			<domain>API.Example</domain>
		</connectionPolicy>
		<connectionPolicy>
			<protocol>http</protocol>
			<domain>legacy.example</domain>
			<port>8080</port>
		</connectionPolicy>
	</connectivity>
	<procedure name="list" securityTest="web"/>
	<procedure name="ping" securityTest="wl_unprotected"/>
	<procedure name="caller"/>
	<procedure name="legacy" requiresAuthentication="false"/>
	<backend kind="plugin" command="accounts-plugin --mode fast" instances="2">
		<arg>--extra</arg>
		<allow host="127.0.0.1" port="9000"/>
		<setting name="db" value="accounts"/>
	</backend>
`),
		"adapters/Accounts/accounts-plugin": "#!/bin/sh\n",
	})
	p := mustLoad(t, dir)

	if diff := cmp.Diff([]*StaticResource{{ID: "console", SecurityTest: "web", URLPatterns: []string{"/console*", "/reports/*"}, Pos: Pos{ac, 4}}}, p.StaticResources); diff != "" {
		t.Errorf("static resources (-want +got):\n%s", diff)
	}
	form := p.Realms["form"]
	if diff := cmp.Diff(&Realm{
		Name: "form", ClassName: "com.worklight.core.auth.ext.FormBasedAuthenticator", LoginModule: "users",
		Params: Params{
			{Name: "login-page", Value: "/login.html", Pos: Pos{ac, 18}},
			{Name: "error-page", Value: "/error.html", Pos: Pos{ac, 19}},
		},
		OnLoginURL: "/console", Pos: Pos{ac, 16}, Class: LookupClass("com.worklight.core.auth.ext.FormBasedAuthenticator"),
	}, form); diff != "" {
		t.Errorf("realm form (-want +got):\n%s", diff)
	}
	if form.Status(p) != Implemented {
		t.Errorf("realm form status = %v, want Implemented", form.Status(p))
	}
	if got := p.Realms[RealmDirectUpdate].Status(p); got != NotEnforced {
		t.Errorf("%s status = %v, want NotEnforced", RealmDirectUpdate, got)
	}
	users := p.LoginModules["users"]
	if diff := cmp.Diff(&LoginModule{
		Name: "users", ClassName: "com.worklight.core.auth.ext.HeaderLoginModule",
		Params:              Params{{Name: "user-name-header", Value: "X-User", Pos: Pos{ac, 26}}},
		ExpirationInSeconds: -1, SSODeviceLoginModule: "WLDeviceNoProvisioningLoginModule", Audit: true,
		Pos: Pos{ac, 24}, Class: LookupClass("com.worklight.core.auth.ext.HeaderLoginModule"),
	}, users); diff != "" {
		t.Errorf("login module users (-want +got):\n%s", diff)
	}
	if got := users.SSODeviceRealm(); got != RealmDeviceNoProvision {
		t.Errorf("SSODeviceRealm = %q", got)
	}
	if got := p.LoginModules["spare"].ExpirationInSeconds; got != defaultLoginExpiration {
		t.Errorf("default expiration = %d, want %d", got, defaultLoginExpiration)
	}
	if v, ok := form.Params.Get("error-page"); !ok || v != "/error.html" {
		t.Errorf("Params.Get(error-page) = %q, %v", v, ok)
	}
	if diff := cmp.Diff(map[string]string{"login-page": "/login.html", "error-page": "/error.html"}, form.Params.Map()); diff != "" {
		t.Errorf("Params.Map (-want +got):\n%s", diff)
	}

	bankPath := appPath("Bank")
	if diff := cmp.Diff(&App{
		ID: "Bank", Pos: Pos{bankPath, 2}, Kind: "hybrid", AccessTokenExpiration: 900,
		UserIdentityRealms: []string{"form", "other", "third"},
		Envs: map[string]*Environment{
			"android": {Name: "android", Mobile: true, SecurityTest: "mobile", Declared: "mobile", Version: "2.1", Pos: Pos{bankPath, 3}, TestPos: Pos{bankPath, 3},
				PublicSigningKey: "MIIBIjAN", PackageName: "com.bank"},
			"iphone":         {Name: "iphone", Mobile: true, SecurityTest: DefaultMobileTest, Version: "2.0", Pos: Pos{bankPath, 9}, TestPos: Pos{bankPath, 9}, BundleID: "com.bank.ios"},
			"desktopbrowser": {Name: "desktopbrowser", SecurityTest: "web", Declared: "web", Pos: Pos{bankPath, 10}, TestPos: Pos{bankPath, 10}},
			"common":         {Name: "common", SecurityTest: DefaultWebTest, Pos: Pos{bankPath, 2}, TestPos: Pos{bankPath, 2}},
		},
	}, p.Apps["Bank"]); diff != "" {
		t.Errorf("app Bank (-want +got):\n%s", diff)
	}
	droidPath := appPath("Droid")
	if diff := cmp.Diff(&App{
		ID: "Droid", Pos: Pos{droidPath, 1}, Kind: "native",
		Envs: map[string]*Environment{
			"android": {Name: "android", Mobile: true, SecurityTest: "mobile", Declared: "mobile", Version: "1.0", Pos: Pos{droidPath, 1}, TestPos: Pos{droidPath, 1},
				PublicSigningKey: "KEY", PackageName: "com.droid"},
		},
	}, p.Apps["Droid"]); diff != "" {
		t.Errorf("app Droid (-want +got):\n%s", diff)
	}

	accPath := adapterPath("Accounts")
	accDir := filepath.Join(dir, "adapters", "Accounts")
	if diff := cmp.Diff(&Adapter{
		Name: "Accounts", Pos: Pos{accPath, 2}, Dir: accDir,
		Procedures: map[string]*Procedure{
			"list":   {Name: "list", SecurityTest: "web", Pos: Pos{accPath, 14}},
			"ping":   {Name: "ping", SecurityTest: Unprotected, Pos: Pos{accPath, 15}},
			"caller": {Name: "caller", Pos: Pos{accPath, 16}},
			"legacy": {Name: "legacy", SecurityTest: Unprotected, Pos: Pos{accPath, 17}},
		},
		ProcedureOrder: []string{"list", "ping", "caller", "legacy"},
		Backend: &Backend{
			Kind: BackendPlugin, Command: []string{filepath.Join(accDir, "accounts-plugin"), "--mode", "fast", "--extra"},
			Settings: map[string]string{"db": "accounts"}, Instances: 2, Pos: Pos{accPath, 18},
		},
		AllowHTTP: []Endpoint{{"api.example", 443, Pos{accPath, 4}, true, "https"}, {"legacy.example", 8080, Pos{accPath, 8}, true, "http"}, {"127.0.0.1", 9000, Pos{accPath, 20}, false, ""}},
	}, p.Adapters["Accounts"]); diff != "" {
		t.Errorf("adapter Accounts (-want +got):\n%s", diff)
	}

	if diff := cmp.Diff([]string{
		`adapters/Accounts/Accounts.xml:18: warning: plugin accounts-plugin is not pinned by SHA-256`,
		`server/conf/authenticationConfig.xml:16: warning: realm "form" uses HeaderLoginModule "users" with FormBasedAuthenticator: any user name a client sends logs in, with no password`,
		`server/conf/authenticationConfig.xml:24: warning: login module "users" names ssoDeviceLoginModule WLDeviceNoProvisioningLoginModule: a device id that is only claimed proves nothing, so its logins are not shared`,
	}, diagLines(p.Diagnostics)); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if !IsMobileEnvironment("Android") || IsMobileEnvironment("common") || IsMobileEnvironment("nosuch") {
		t.Error("IsMobileEnvironment is wrong")
	}
}
