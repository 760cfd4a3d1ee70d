# Rules by directory group: input.user is the identity DirectoryLogin recorded, with the user's
# groups read from the directory (memberOf).
package realmgate.user.tellers

# Approving a loan is for tellers only.
deny contains "approving a loan is for the tellers group" if {
	input.resource.name == "Teller.approveLoan"
	input.user
	not "tellers" in input.user.groups
}

# A refund by someone who is not a teller needs a supervisor's PIN as well (step-up).
require contains "SupervisorPin" if {
	input.resource.name == "Teller.refund"
	input.user
	not "tellers" in input.user.groups
}
