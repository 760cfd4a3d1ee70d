# Security test "BankWeb" (web, server/conf/authenticationConfig.xml:18).
# Expanded from a webSecurityTest: one step: anti-XSRF and the testUser realm BankForm
# Generated from the configuration; do not edit: add rules in the project's policies/ folder.
package realmgate.tests.BankWeb

import data.realmgate.lib

# Realms a client must pass, step by step; the realms of a step are challenged together,
# and a step only after every realm of the steps before it succeeded.
steps := [
	["wl_antiXSRFRealm", "BankForm"],
]

# The realm whose identity is the user's (isInternalUserID), and the device's.
user_realm := "BankForm"

device_realm := ""

decision := lib.decide(steps)
