# Security test "Prüfung" (custom, server/conf/authenticationConfig.xml:5).
# Generated from the configuration; do not edit: add rules in the project's policies/ folder.
package realmgate.tests["Prüfung"]

import data.realmgate.lib

# Realms a client must pass, step by step; the realms of a step are challenged together,
# and a step only after every realm of the steps before it succeeded.
steps := [
	["wl_anonymousUserRealm"],
]

# The realm whose identity is the user's (isInternalUserID), and the device's.
user_realm := "wl_anonymousUserRealm"

device_realm := ""

# Realms of the test that are not security controls and are not enforced.
not_enforced := ["wl_directUpdateRealm"]

decision := lib.decide(steps)
