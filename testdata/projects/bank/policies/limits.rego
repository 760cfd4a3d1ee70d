# Package realmgate.user.limits asks for more proof as transfers grow.
package realmgate.user.limits

# transfer is the amount of a transfer request, when the request is one.
transfer := input.request.params.amount if input.request.procedure == "Accounts.transfer"

# Transfers above 1000 need a one-time password, whatever the security test.
require contains "BankOTP" if transfer > 1000

# Transfers above 10000 need a manager as well.
require contains "BankManager" if transfer > 10000
