# Security test "wl_defaultMobileSecurityTest" (mobile, predefined).
# Expanded from a default for mobile environments without a securityTest: the mobileSecurityTest with no testUser and provisioningType none
# Generated from the configuration; do not edit: add rules in the project's policies/ folder.
package realmgate.tests.wl_defaultMobileSecurityTest

import data.realmgate.lib

# Realms a client must pass, step by step; the realms of a step are challenged together,
# and a step only after every realm of the steps before it succeeded.
steps := [
	["wl_antiXSRFRealm", "wl_remoteDisableRealm", "wl_anonymousUserRealm", "wl_deviceNoProvisioningRealm"],
]

# The realm whose identity is the user's (isInternalUserID), and the device's.
user_realm := "wl_anonymousUserRealm"

device_realm := "wl_deviceNoProvisioningRealm"

decision := lib.decide(steps)
