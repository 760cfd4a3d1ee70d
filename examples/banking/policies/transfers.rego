# Project rules beside the security tests: they can refuse a request or require more realms.
package realmgate.user.transfers

# Step-up: paying out more than 1000 from any procedure (payBill, for one) needs the PIN realm
# as well. The member is read by its exact name, as the adapter reads it: the daemon refuses
# parameters with look-alike members ("amount" beside "Amount" or "ａｍｏｕｎｔ"), and the
# adapter (realmgate.Call) refuses a member it does not know, so {"Amount": 5000} is not paid.
require contains "PinRealm" if {
	input.resource.kind == "procedure"
	some p in input.request.parameters
	p.amount > 1000
}

# Versions of the app before 2.0 had a bug in the transfer screen: refuse their transfers.
deny contains "update the app to transfer money: versions before 2.0 cannot transfer" if {
	input.resource.name == "Accounts.transfer"
	startswith(input.app.version, "1.")
}
