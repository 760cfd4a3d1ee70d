# Package realmgate.user.hours closes transfers at night and to blocked countries.
package realmgate.user.hours

blocked := {"XX", "YY"}

deny contains "transfers are closed between midnight and 6:00" if {
	input.request.procedure == "Accounts.transfer"
	input.request.hour < 6
}

deny contains sprintf("transfers from %s are blocked", [input.request.country]) if {
	input.request.country in blocked
}

deny contains "requests must name their channel" if not input.request.channel
