/*
 * The same bridge with the host's PKI capability (a Realmgate extension, WL.Server.pki): the
 * host signs with the CA its <capability name="pki" ca="..."/> names, and the key never enters
 * the sandbox. Each procedure receives one JSON object, as Worklight's adapter-based PKI bridge
 * passed it.
 */

var ORGANIZATION = "Example Bank";

function init(parameters) {
	return {};
}

function validateIdentity(input) {
	var user = input.userIdentity && input.userIdentity.userName;
	return {valid: user ? "YES" : "NO"};
}

function getCSRRequirements(input) {
	return {
		commonName: input.userIdentity.userName,
		additionalSubject: {O: ORGANIZATION},
		additionalAttributes: {}
	};
}

function validateCSR(input) {
	var csr = WL.Server.pki({op: "parseCSR", csr: input.csr});
	return {valid: csr.cn === input.userIdentity.userName ? "YES" : "NO"};
}

function generateCertificate(input) {
	var signed = WL.Server.pki({
		op: "sign",
		csr: input.csr,
		subject: {commonName: input.userIdentity.userName, additionalSubject: {O: ORGANIZATION}},
		validityDays: 365,
		extKeyUsage: ["clientAuth"]
	});
	return {certificateBase64: signed.certificateBase64};
}

function getIdentityFromCertificate(certificate) {
	return {userName: certificate.cn, displayName: certificate.cn, attributes: {}};
}

// The host verifies that its CA signed the certificate and that it is valid now.
function validateCertificate(certificate) {
	var check = WL.Server.pki({op: "verify", certificate: certificate.base64});
	return {valid: check.valid ? "YES" : "NO"};
}
