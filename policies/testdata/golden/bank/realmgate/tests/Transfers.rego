# Security test "Transfers" (custom, server/conf/authenticationConfig.xml:22).
# Generated from the configuration; do not edit: add rules in the project's policies/ folder.
package realmgate.tests.Transfers

import data.realmgate.lib

# Realms a client must pass, step by step; the realms of a step are challenged together,
# and a step only after every realm of the steps before it succeeded.
steps := [
	["wl_antiXSRFRealm", "wl_remoteDisableRealm", "wl_deviceNoProvisioningRealm"],
	["BankForm"],
	["BankOTP"],
]

# The realm whose identity is the user's (isInternalUserID), and the device's.
user_realm := "BankForm"

device_realm := "wl_deviceNoProvisioningRealm"

decision := lib.decide(steps)
