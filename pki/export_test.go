package pki

// Helpers of the in-package tests, for the external tests (package pki_test): those use
// pki/pkitest, which imports pki, and so cannot be in package pki.
var (
	CheckErr                = checkErr
	Errs                    = errs
	SharedCA                = testCA
	ReadCerts               = readCerts
	KeyDescriptionExtension = keyDescriptionExtension
)
