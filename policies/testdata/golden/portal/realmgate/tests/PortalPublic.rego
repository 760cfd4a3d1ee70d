# Security test "PortalPublic" (web, server/conf/authenticationConfig.xml:15).
# Expanded from a webSecurityTest: one step: anti-XSRF and the anonymous user realm (no testUser)
# Generated from the configuration; do not edit: add rules in the project's policies/ folder.
package realmgate.tests.PortalPublic

import data.realmgate.lib

# Realms a client must pass, step by step; the realms of a step are challenged together,
# and a step only after every realm of the steps before it succeeded.
steps := [
	["wl_antiXSRFRealm", "wl_anonymousUserRealm"],
]

# The realm whose identity is the user's (isInternalUserID), and the device's.
user_realm := "wl_anonymousUserRealm"

device_realm := ""

decision := lib.decide(steps)
