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

three_steps := [["a"], ["b", "c"], ["d"]]

test_a_gap_in_what_was_passed_challenges_the_gap if {
	d := lib.decide(three_steps) with input as {"passed": ["a", "d"]}
	d == {"outcome": "challenge", "step": 2, "steps": 3, "realms": ["b", "c"]}
}

test_realms_of_other_tests_change_nothing if {
	lib.decide(two_steps) == {"outcome": "challenge", "step": 2, "steps": 2, "realms": ["device"]} with input as {"passed": ["form", "otp", "wl_antiXSRFRealm", "zzz"]}
}

test_duplicates_in_passed_are_harmless if {
	lib.decide(two_steps) == {"outcome": "allow"} with input as {"passed": ["device", "device", "form", "wl_antiXSRFRealm", "form"]}
}

test_no_passed_field_is_nothing_passed if {
	lib.decide(two_steps).step == 1 with input as {}
}

test_challenged_realms_are_sorted if {
	lib.decide([["z", "b", "m"]]).realms == ["b", "m", "z"] with input as {"passed": []}
}

test_step_up_realms_form_one_sorted_last_step if {
	d := lib.decide(two_steps) with input as {"passed": ["device", "form", "wl_antiXSRFRealm"]}
		with data.realmgate.user as {"a": {"require": {"otp"}}, "b": {"require": {"manager", "otp"}}}
		with data.realmgate.config as {"realms": {"wl_antiXSRFRealm": {}, "form": {}, "device": {}, "otp": {}, "manager": {}}}
	d == {"outcome": "challenge", "step": 3, "steps": 3, "realms": ["manager", "otp"]}
}

test_step_up_partly_passed_challenges_the_rest if {
	d := lib.decide(two_steps) with input as {"passed": ["device", "form", "otp", "wl_antiXSRFRealm"]}
		with data.realmgate.user.p.require as {"manager", "otp"}
		with data.realmgate.config as {"realms": {"wl_antiXSRFRealm": {}, "form": {}, "device": {}, "otp": {}, "manager": {}}}
	d == {"outcome": "challenge", "step": 3, "steps": 3, "realms": ["manager"]}
}

test_step_up_on_an_empty_test if {
	d := lib.decide([]) with input as {"passed": []}
		with data.realmgate.user.p.require as {"otp"}
		with data.realmgate.config as config
	d == {"outcome": "challenge", "step": 1, "steps": 1, "realms": ["otp"]}
}

test_only_unknown_required_realms_are_named if {
	d := lib.decide(two_steps) with input as {"passed": []}
		with data.realmgate.user.p.require as {"otp", "nosuch", "alsonot"}
		with data.realmgate.config as config
	d == {"outcome": "deny", "reasons": [
		"a policy requires realm \"alsonot\", which the project does not define",
		"a policy requires realm \"nosuch\", which the project does not define",
	]}
}

test_a_denial_wins_over_an_unknown_required_realm if {
	d := lib.decide(two_steps) with input as {"passed": []}
		with data.realmgate.user.p as {"deny": {"blocked"}, "require": {"nosuch"}}
		with data.realmgate.config as config
	d == {"outcome": "deny", "reasons": ["blocked"]}
}

test_the_same_denial_from_two_policies_is_reported_once if {
	d := lib.decide(two_steps) with input as {"passed": []}
		with data.realmgate.user as {"a": {"deny": {"closed"}}, "b": {"deny": {"closed"}}}
	d.reasons == ["closed"]
}

test_policies_that_define_nothing_change_nothing if {
	lib.decide(two_steps) == {"outcome": "allow"} with input as {"passed": ["device", "form", "wl_antiXSRFRealm"]}
		with data.realmgate.user as {"a": {"other": true}, "b": {"deny": set()}, "c": {"require": set()}}
}
