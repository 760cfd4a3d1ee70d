# Tests of the policy compiled from testdata/projects/bank, run as `opa test` runs them.
package realmgate.bank_test

import data.realmgate

mobile_step_one := ["BankForm", "wl_antiXSRFRealm", "wl_authenticityRealm", "wl_deviceAutoProvisioningRealm", "wl_remoteDisableRealm"]

transfers_all := ["BankForm", "BankOTP", "wl_antiXSRFRealm", "wl_deviceNoProvisioningRealm", "wl_remoteDisableRealm"]

# A predefined test is one step, as Worklight documents its equivalent custom test.
test_mobile_challenges_one_step if {
	realmgate.decision == {"outcome": "challenge", "step": 1, "steps": 1, "realms": mobile_step_one} with input as {
		"test": "BankMobile",
		"passed": [],
		"request": {"channel": "app"},
	}
}

test_mobile_the_realms_not_yet_passed if {
	d := realmgate.decision with input as {"test": "BankMobile", "passed": ["wl_antiXSRFRealm", "wl_authenticityRealm", "wl_remoteDisableRealm"], "request": {"channel": "app"}}
	d.step == 1
	d.realms == ["BankForm", "wl_deviceAutoProvisioningRealm"]
}

test_mobile_direct_update_is_not_challenged if {
	realmgate.decision == {"outcome": "allow"} with input as {"test": "BankMobile", "passed": mobile_step_one, "request": {"channel": "app"}}
}

test_web_expansion if {
	realmgate.decision.realms == ["BankForm", "wl_antiXSRFRealm"] with input as {"test": "BankWeb", "passed": [], "request": {"channel": "web"}}
	realmgate.decision.realms == ["BankForm"] with input as {"test": "BankWeb", "passed": ["wl_antiXSRFRealm"], "request": {"channel": "web"}}
}

test_small_transfer_allowed if {
	realmgate.decision == {"outcome": "allow"} with input as {
		"test": "Transfers",
		"passed": transfers_all,
		"request": {"channel": "app", "procedure": "Accounts.transfer", "hour": 12, "params": {"amount": 500}},
	}
}

test_large_transfer_steps_up_to_a_manager if {
	realmgate.decision == {"outcome": "challenge", "step": 4, "steps": 4, "realms": ["BankManager"]} with input as {
		"test": "Transfers",
		"passed": transfers_all,
		"request": {"channel": "app", "procedure": "Accounts.transfer", "hour": 12, "params": {"amount": 20000}},
	}
}

test_otp_step_up_on_the_mobile_test if {
	realmgate.decision == {"outcome": "challenge", "step": 2, "steps": 2, "realms": ["BankOTP"]} with input as {
		"test": "BankMobile",
		"passed": mobile_step_one,
		"request": {"channel": "app", "procedure": "Accounts.transfer", "hour": 12, "params": {"amount": 5000}},
	}
}

test_night_transfer_denied if {
	realmgate.decision == {"outcome": "deny", "reasons": ["transfers are closed between midnight and 6:00"]} with input as {
		"test": "Transfers",
		"passed": [],
		"request": {"channel": "app", "procedure": "Accounts.transfer", "hour": 3, "params": {"amount": 5}},
	}
}

test_every_denial_is_reported if {
	d := realmgate.decision with input as {
		"test": "Transfers",
		"passed": transfers_all,
		"request": {"procedure": "Accounts.transfer", "hour": 3, "country": "XX"},
	}
	d.reasons == [
		"requests must name their channel",
		"transfers are closed between midnight and 6:00",
		"transfers from XX are blocked",
	]
}

test_unknown_test_has_no_decision if {
	not realmgate.decision with input as {"test": "nosuch", "passed": [], "request": {"channel": "app"}}
}
