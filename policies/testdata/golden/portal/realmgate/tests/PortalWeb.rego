# Security test "PortalWeb" (web, server/conf/authenticationConfig.xml:12).
# Expanded from a webSecurityTest: one step: anti-XSRF and the testUser realm PortalLogin
# Generated from the configuration; do not edit: add rules in the project's policies/ folder.
package realmgate.tests.PortalWeb

import data.realmgate.lib

# Realms a client must pass, step by step; the realms of a step are challenged together,
# and a step only after every realm of the steps before it succeeded.
steps := [
	["wl_antiXSRFRealm", "PortalLogin"],
]

# The realm whose identity is the user's (isInternalUserID), and the device's.
user_realm := "PortalLogin"

device_realm := ""

decision := lib.decide(steps)
