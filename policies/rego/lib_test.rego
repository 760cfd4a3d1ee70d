package realmgate.lib_test

import data.realmgate.lib

two_steps := [["wl_antiXSRFRealm", "form"], ["device"]]

config := {"realms": {"wl_antiXSRFRealm": {}, "form": {}, "device": {}, "otp": {}}}

test_nothing_passed_challenges_step_one if {
	lib.decide(two_steps) == {"outcome": "challenge", "step": 1, "steps": 2, "realms": ["form", "wl_antiXSRFRealm"]} with input as {"passed": []}
}

test_partial_step_challenges_only_what_is_missing if {
	lib.decide(two_steps) == {"outcome": "challenge", "step": 1, "steps": 2, "realms": ["form"]} with input as {"passed": ["wl_antiXSRFRealm"]}
}

test_step_two_only_after_step_one if {
	lib.decide(two_steps) == {"outcome": "challenge", "step": 2, "steps": 2, "realms": ["device"]} with input as {"passed": ["wl_antiXSRFRealm", "form"]}
}

test_a_later_step_passed_alone_does_not_skip_step_one if {
	lib.decide(two_steps).step == 1 with input as {"passed": ["device"]}
}

test_all_passed_allows if {
	lib.decide(two_steps) == {"outcome": "allow"} with input as {"passed": ["device", "form", "wl_antiXSRFRealm"]}
}

test_empty_test_allows if {
	lib.decide([]) == {"outcome": "allow"} with input as {"passed": []}
}

test_user_deny_wins_over_allow if {
	d := lib.decide(two_steps) with input as {"passed": ["device", "form", "wl_antiXSRFRealm"]}
		with data.realmgate.user.p.deny as {"outside office hours"}
	d == {"outcome": "deny", "reasons": ["outside office hours"]}
}

test_user_deny_wins_over_challenge if {
	d := lib.decide(two_steps) with input as {"passed": []}
		with data.realmgate.user.p.deny as {"blocked"}
	d.outcome == "deny"
}

test_step_up_adds_a_last_step if {
	d := lib.decide(two_steps) with input as {"passed": ["device", "form", "wl_antiXSRFRealm"]}
		with data.realmgate.user.p.require as {"otp"}
		with data.realmgate.config as config
	d == {"outcome": "challenge", "step": 3, "steps": 3, "realms": ["otp"]}
}

test_step_up_waits_for_the_test_steps if {
	d := lib.decide(two_steps) with input as {"passed": []}
		with data.realmgate.user.p.require as {"otp"}
		with data.realmgate.config as config
	d.step == 1
}

test_step_up_of_a_realm_already_in_the_test_adds_nothing if {
	d := lib.decide(two_steps) with input as {"passed": ["device", "form", "wl_antiXSRFRealm"]}
		with data.realmgate.user.p.require as {"form"}
		with data.realmgate.config as config
	d == {"outcome": "allow"}
}

test_step_up_passed_allows if {
	d := lib.decide(two_steps) with input as {"passed": ["device", "form", "otp", "wl_antiXSRFRealm"]}
		with data.realmgate.user.p.require as {"otp"}
		with data.realmgate.config as config
	d == {"outcome": "allow"}
}

test_step_up_of_an_unknown_realm_denies if {
	d := lib.decide(two_steps) with input as {"passed": ["device", "form", "wl_antiXSRFRealm"]}
		with data.realmgate.user.p.require as {"nosuch"}
		with data.realmgate.config as config
	d.outcome == "deny"
	d.reasons == ["a policy requires realm \"nosuch\", which the project does not define"]
}

test_denials_of_several_policies_are_all_reported if {
	d := lib.decide(two_steps) with input as {"passed": []}
		with data.realmgate.user as {"a": {"deny": {"one"}}, "b": {"deny": {"two"}}}
	d.reasons == ["one", "two"]
}
