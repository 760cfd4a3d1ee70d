# Package realmgate.config is the part of the project's configuration that policies read.
# Generated from server/conf/authenticationConfig.xml; do not edit.
package realmgate.config

# Realms the project defines, built-in ones included.
realms := {
	"BankForm": {"class": "FormBasedAuthenticator"},
	"BankManager": {"class": "BasicAuthenticator"},
	"BankOTP": {"class": "HeaderAuthenticator"},
	"wl_anonymousUserRealm": {"class": "builtin"},
	"wl_antiXSRFRealm": {"class": "builtin"},
	"wl_authenticityRealm": {"class": "builtin"},
	"wl_deviceAutoProvisioningRealm": {"class": "builtin"},
	"wl_deviceNoProvisioningRealm": {"class": "builtin"},
	"wl_directUpdateRealm": {"class": "builtin"},
	"wl_remoteDisableRealm": {"class": "builtin"},
}
