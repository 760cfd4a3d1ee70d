# Security test "BankMobile" (mobile, server/conf/authenticationConfig.xml:11).
# Expanded from a mobileSecurityTest: one step: anti-XSRF, app authenticity, remote disable, direct update (not enforced), the testUser realm BankForm, device realm wl_deviceAutoProvisioningRealm
# Generated from the configuration; do not edit: add rules in the project's policies/ folder.
package realmgate.tests.BankMobile

import data.realmgate.lib

# Realms a client must pass, step by step; the realms of a step are challenged together,
# and a step only after every realm of the steps before it succeeded.
steps := [
	["wl_antiXSRFRealm", "wl_authenticityRealm", "wl_remoteDisableRealm", "BankForm", "wl_deviceAutoProvisioningRealm"],
]

# The realm whose identity is the user's (isInternalUserID), and the device's.
user_realm := "BankForm"

device_realm := "wl_deviceAutoProvisioningRealm"

# Realms of the test that are not security controls and are not enforced.
not_enforced := ["wl_directUpdateRealm"]

decision := lib.decide(steps)
