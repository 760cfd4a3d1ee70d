package project_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/realmgate/realmgate/project"
)

// The bank example: a mobile test expanded into its one step, and the adapter procedures that each
// name their test.
func Example() {
	p, err := project.Load(filepath.Join("..", "testdata", "projects", "bank"), project.LoadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	t := p.Tests["BankMobile"]
	fmt.Println(t.Expansion)
	for i, step := range t.Steps {
		fmt.Printf("step %d: %v\n", i+1, step)
	}
	a := p.Adapters["Accounts"]
	for _, name := range a.ProcedureOrder {
		fmt.Printf("%s.%s: %q\n", a.Name, name, a.Procedures[name].SecurityTest)
	}
	// Output:
	// mobileSecurityTest: one step: anti-XSRF, app authenticity, remote disable, direct update (not enforced), the testUser realm BankForm, device realm wl_deviceAutoProvisioningRealm
	// step 1: [wl_antiXSRFRealm wl_authenticityRealm wl_remoteDisableRealm BankForm wl_deviceAutoProvisioningRealm]
	// Accounts.rates: "wl_unprotected"
	// Accounts.list: ""
	// Accounts.transfer: "Transfers"
	// Accounts.legacyBalance: ""
}

// A configuration error names its file and line, and says how to fix it.
func ExampleCheck() {
	dir, err := os.MkdirTemp("", "project")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	conf := filepath.Join(dir, "server", "conf", "authenticationConfig.xml")
	if err := os.MkdirAll(filepath.Dir(conf), 0o755); err != nil {
		fmt.Println(err)
		return
	}
	xml := `<tns:loginConfiguration xmlns:tns="http://www.worklight.com/auth/config">
	<securityTests>
		<mobileSecurityTest name="mobile">
			<testDeviceId provisioningType="custom"/>
		</mobileSecurityTest>
	</securityTests>
</tns:loginConfiguration>
`
	if err := os.WriteFile(conf, []byte(xml), 0o644); err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range project.Check(dir, project.LoadOptions{}) {
		fmt.Println(d)
	}
	// Output:
	// server/conf/authenticationConfig.xml:4: error: provisioningType="custom" needs a realm; fix: add realm="..." naming the custom provisioning realm
}
