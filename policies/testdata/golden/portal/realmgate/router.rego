# Package realmgate routes a decision to the package of the security test named in the input.
package realmgate

# decision is the decision of the security test input.test.
decision := data.realmgate.tests[input.test].decision
