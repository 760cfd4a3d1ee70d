/*
 * A PKI bridge written as Worklight's documentation of the adapter-based PKI bridge
 * (com.worklight.core.auth.ext.UserCertificateAdapterBasedPKI) shows it: seven JavaScript
 * procedures, each receiving one JSON object and returning one. generateCertificate has a CA's
 * REST API sign the request (CFSSL's POST /api/v1/cfssl/sign), through WL.Server.invokeHttp to
 * the adapter's <connectivity>.
 */

var ORGANIZATION = "Example Bank";

// init receives the realm's parameters, one flat object.
function init(parameters) {
	WL.Logger.info("CFSSL bridge serving realm with dependent realm " + parameters["dependent-user-auth-realm"]);
	return {};
}

// Anyone the dependent realm logged in may enroll.
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

// The request must name the user who enrolls. (The host has already verified the CSR's
// signature, key and the requirements above; csrInfo is what it parsed.)
function validateCSR(input) {
	var ok = input.csrInfo && input.csrInfo.cn === input.userIdentity.userName;
	return {valid: ok ? "YES" : "NO"};
}

function generateCertificate(input) {
	var response = WL.Server.invokeHttp({
		method: "post",
		path: "/api/v1/cfssl/sign",
		returnedContentType: "json",
		body: {
			contentType: "application/json",
			content: JSON.stringify({certificate_request: pem("CERTIFICATE REQUEST", input.csr)})
		}
	});
	if (!response.isSuccessful || !response.success || !response.result || !response.result.certificate) {
		throw new Error("the CA did not sign the request: HTTP " + response.statusCode + " " + JSON.stringify(response.errors));
	}
	return {certificateBase64: der(response.result.certificate)};
}

function getIdentityFromCertificate(certificate) {
	return {userName: certificate.cn, displayName: certificate.cn, attributes: {}};
}

// The CA decides whether it issued the certificate: CFSSL's bundle endpoint verifies it up to
// the roots CFSSL trusts (cfssl serve -ca-bundle), its validity included.
function validateCertificate(certificate) {
	var response = WL.Server.invokeHttp({
		method: "post",
		path: "/api/v1/cfssl/bundle",
		returnedContentType: "json",
		body: {
			contentType: "application/json",
			content: JSON.stringify({certificate: pem("CERTIFICATE", certificate.base64)})
		}
	});
	return {valid: response.isSuccessful && response.success === true ? "YES" : "NO"};
}

// pem wraps base64 DER as PEM; der unwraps the first PEM block.
function pem(type, base64) {
	return "-----BEGIN " + type + "-----\n" + base64.match(/.{1,64}/g).join("\n") + "\n-----END " + type + "-----\n";
}

function der(text) {
	var lines = text.split("\n"), out = "", inside = false;
	for (var i = 0; i < lines.length; i++) {
		var line = lines[i].trim();
		if (line.indexOf("-----BEGIN") === 0) {
			inside = true;
		} else if (line.indexOf("-----END") === 0) {
			break;
		} else if (inside) {
			out += line;
		}
	}
	return out;
}
