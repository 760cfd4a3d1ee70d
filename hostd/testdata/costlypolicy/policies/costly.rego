# Rules that are expensive on purpose.
package realmgate.user.costly

# Every decision about the app costs seconds of CPU (millions of iterations, little memory): it
# stands for a policy that is slow on some request.
deny contains "unreachable" if {
	input.resource.kind == "app"
	n := count([1 |
		some i in numbers.range(1, 3000)
		some j in numbers.range(1, 3000)
		i + j == 0
	])
	n > 0
}

# A procedure call with many parameters is refused, saying so: it shows whether the policy saw
# the parameters.
deny contains sprintf("the policy read %d parameters", [count(input.request.parameters)]) if {
	input.resource.kind == "procedure"
	count(input.request.parameters) > 1000
}
