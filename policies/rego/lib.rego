# Package realmgate.lib holds the rules every security test shares: which realms a client still
# has to pass, step by step, and what the project's own policies add (step-up) or refuse.
#
# A security test package calls decide(steps) with its realms by step. Users' policies live in
# packages under realmgate.user and may define two rules:
#
#	deny contains message if { ... }  # refuse the request with message
#	require contains realm if { ... } # the request also needs realm (step-up)
#
# They can only add requirements or refuse; nothing a user policy says can allow a request that
# the security test would challenge.
package realmgate.lib

# Realms the client has passed in this session.
passed := {realm | some realm in input.passed}

# Messages of every user policy that denies this request.
denials contains message if {
	some message in data.realmgate.user[_].deny
}

# Realms that user policies require on top of the security test.
required contains realm if {
	some realm in data.realmgate.user[_].require
}

# Required realms the project does not define: the request is denied rather than challenged
# with a realm no client can answer.
unknown_required contains realm if {
	some realm in required
	not data.realmgate.config.realms[realm]
}

# missing(step) is the set of realms of a step the client has not passed.
missing(step) := {realm | some realm in step; not realm in passed}

# in_steps(steps, realm) holds when realm is a realm of the test.
in_steps(steps, realm) if {
	some step in steps
	realm in step
}

# with_step_up(steps) appends, as a last step, the realms that policies require and the test
# does not already hold.
with_step_up(steps) := array.concat(steps, [extra]) if {
	extra := sort({realm | some realm in required; not in_steps(steps, realm)})
	count(extra) > 0
} else := steps

# decide(steps) is the decision: deny with reasons, challenge the lowest unfinished step, or allow.
decide(steps) := {"outcome": "deny", "reasons": sort(denials)} if {
	count(denials) > 0
} else := {"outcome": "deny", "reasons": [sprintf("a policy requires realm %q, which the project does not define", [realm]) | some realm in sort(unknown_required)]} if {
	count(unknown_required) > 0
} else := challenge if {
	all := with_step_up(steps)
	pending := {i | some i, step in all; count(missing(step)) > 0}
	count(pending) > 0
	first := min(pending)
	challenge := {
		"outcome": "challenge",
		"step": first + 1,
		"steps": count(all),
		"realms": sort(missing(all[first])),
	}
} else := {"outcome": "allow"}
