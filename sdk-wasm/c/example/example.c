/*
 * example.c: an example Realmgate adapter written with the C SDK. It exports the core
 * conformance procedures (echo, fail, config, log) by linking
 * conformance/realmgate_conformance.c, and implements a PKI bridge that does not sign (init,
 * validateIdentity, getCSRRequirements, validateCSR, getIdentityFromCertificate,
 * validateCertificate) and roundtrip, which decodes and re-encodes one PKI-bridge type so that
 * tests can check the SDK's JSON names against adapters/pki.go.
 */
#include <realmgate.h>

/* reencode returns its input parsed and written again, compact: it exercises the SDK's JSON
 * reader and writer (the fuzz target FuzzCJSON drives it). */
static int reencode(rg_call *c, const rg_json *in) {
	rg_w_value(rg_out(c), in);
	return 0;
}
REALMGATE_PROCEDURE(reencode, reencode)

/* once marks a key used through the host's single-use store: input {"key", "ttl"} (seconds),
 * output {"first": bool}; a negative answer fails the call with its reason. */
static int once(rg_call *c, const rg_json *in) {
	int64_t ttl = 0;
	const rg_json *t = rg_json_get(in, "ttl");
	if (t && !rg_json_int64(t, &ttl)) return rg_fail(c, "once: ttl: want whole seconds");
	int r = rg_once(rg_json_get_str(in, "key"), ttl);
	if (r < 0) return rg_fail(c, rg_once_error(r));
	rg_buf *w = rg_out(c);
	rg_w_obj_begin(w);
	rg_w_key(w, "first");
	rg_w_bool(w, r == RG_ONCE_FIRST);
	rg_w_obj_end(w);
	return 0;
}
REALMGATE_PROCEDURE(once, once)

/* fetch makes one outbound request through the host: input {"url", "method", "body"}, output
 * {"status", "body", "echo"} (echo: the response's X-Echo header). The host allows only the
 * adapter's allow-list. */
static int fetch(rg_call *c, const rg_json *in) {
	static const rg_header headers[] = {{"X-Realmgate-Example", "fetch"}};
	rg_str method = rg_json_get_str(in, "method");
	rg_http_request req = {
	    .method = method.n ? method.p : "GET",
	    .url = rg_json_get_str(in, "url").p,
	    .headers = headers,
	    .nheaders = 1,
	    .body = rg_json_get_str(in, "body"),
	};
	rg_http_response resp;
	if (rg_http(c, &req, &resp) != 0) return -1;
	rg_buf *w = rg_out(c);
	rg_w_obj_begin(w);
	rg_w_key(w, "status");
	rg_w_int(w, resp.status);
	rg_w_key(w, "body");
	rg_w_str(w, resp.body);
	rg_w_key(w, "echo");
	rg_w_str(w, rg_json_get_str(resp.headers, "X-Echo"));
	rg_w_obj_end(w);
	return 0;
}
REALMGATE_PROCEDURE(fetch, fetch)

/* parse_csr has the host parse a CSR: input {"csr"}, output {"cn", "algorithm", "thumbprint"}. */
static int parse_csr(rg_call *c, const rg_json *in) {
	rg_parsed_csr csr;
	if (rg_pki_parse_csr(c, rg_json_get_str(in, "csr"), &csr) != 0) return -1;
	rg_buf *w = rg_out(c);
	rg_w_obj_begin(w);
	rg_w_key(w, "cn");
	rg_w_str(w, csr.cn);
	rg_w_key(w, "algorithm");
	rg_w_str(w, csr.key_algorithm);
	rg_w_key(w, "thumbprint");
	rg_w_str(w, csr.thumbprint);
	rg_w_obj_end(w);
	return 0;
}
REALMGATE_PROCEDURE(parseCSR, parse_csr)

/* sign has the host sign a certificate for the CSR's key with its held key: input {"csr",
 * "commonName", "validityDays", "isCA"}, output {"certificateBase64", "serialNumber"}. */
static int sign(rg_call *c, const rg_json *in) {
	static const char *const usage[] = {"digitalSignature"};
	int64_t days = 0;
	rg_json_int64(rg_json_get(in, "validityDays"), &days);
	const rg_json *ca = rg_json_get(in, "isCA");
	rg_cert_template t = {
	    .csr = rg_json_get_str(in, "csr"),
	    .common_name = rg_json_get_str(in, "commonName"),
	    .validity_days = (int)days,
	    .key_usage = usage,
	    .nkey_usage = 1,
	    .is_ca = ca && ca->type == RG_JSON_BOOL && ca->b,
	};
	rg_signed_cert out;
	if (rg_pki_sign(c, &t, &out) != 0) return -1;
	rg_buf *w = rg_out(c);
	rg_w_obj_begin(w);
	rg_w_key(w, "certificateBase64");
	rg_w_str(w, out.certificate_base64);
	rg_w_key(w, "serialNumber");
	rg_w_str(w, out.serial_number);
	rg_w_obj_end(w);
	return 0;
}
REALMGATE_PROCEDURE(sign, sign)

/* ---- PKI bridge -------------------------------------------------------------------------- */

/* init receives the realm's parameters; this bridge only logs the dependent realm. */
static int init(rg_call *c, const rg_init_input *in) {
	(void)c;
	rg_str dep = rg_json_get_str(in->parameters, "dependent-user-auth-realm");
	rg_log_attrs(RG_DEBUG, "pki bridge init", "dependentRealm", dep.n ? dep.p : "", NULL);
	return 0;
}
REALMGATE_PKI_INIT(init, init)

/* validate_identity refuses an identity without a user name or whose user the "blockedUser"
 * setting names, and sends one without a device to the dependent realm only. */
static int validate_identity(rg_call *c, const rg_identity_input *in, rg_valid *out) {
	rg_str user = in->user_identity.user_name;
	rg_str blocked = rg_config_get(c, "blockedUser");
	if (user.n == 0 || (blocked.n && rg_str_eq(user, blocked)))
		out->valid = RG_STR(RG_NO);
	else if (in->device_id.n == 0)
		out->valid = RG_STR(RG_NO_USE_DEPENDENT_REALM_ONLY);
	else
		out->valid = RG_STR(RG_YES);
	return 0;
}
REALMGATE_PKI_VALIDATE_IDENTITY(validateIdentity, validate_identity)

/* csr_requirements asks for the user name as common name, and for the organization setting
 * (when the adapter has one) in the subject: {"O": organization}. */
static int csr_requirements(rg_call *c, const rg_identity_input *in, rg_csr_requirements *out) {
	if (in->user_identity.user_name.n == 0)
		return rg_fail(c, "getCSRRequirements: userIdentity has no userName");
	out->common_name = in->user_identity.user_name;
	rg_str org = rg_config_get(c, "organization");
	if (org.n) {
		rg_json *subject = rg_json_new(c, RG_JSON_OBJECT);
		rg_json *value = rg_json_new_str(c, org);
		if (!subject || !value || rg_json_add(c, subject, "O", value) != 0)
			return rg_fail(c, "out of memory");
		out->additional_subject = subject;
	}
	return 0;
}
REALMGATE_PKI_CSR_REQUIREMENTS(getCSRRequirements, csr_requirements)

/* validate_csr accepts a CSR whose common name is the one getCSRRequirements asked for. */
static int validate_csr(rg_call *c, const rg_csr_input *in, rg_valid *out) {
	(void)c;
	rg_str user = in->user_identity.user_name;
	bool ok = user.n && rg_str_eq(in->csr_info.cn, user);
	out->valid = ok ? RG_STR(RG_YES) : RG_STR(RG_NO);
	return 0;
}
REALMGATE_PKI_VALIDATE_CSR(validateCSR, validate_csr)

/* identity_from_certificate names the user after the certificate's common name. */
static int identity_from_certificate(rg_call *c, const rg_certificate_input *in,
				     rg_identity_from_certificate *out) {
	if (in->certificate.cn.n == 0) return rg_fail(c, "certificate has no common name");
	out->user_name = in->certificate.cn;
	out->display_name = in->certificate.cn;
	return 0;
}
REALMGATE_PKI_IDENTITY_FROM_CERTIFICATE(getIdentityFromCertificate, identity_from_certificate)

/* validate_certificate accepts a certificate with a common name and a sane validity period. */
static int validate_certificate(rg_call *c, const rg_certificate_input *in, rg_valid *out) {
	(void)c;
	const rg_certificate *cert = &in->certificate;
	bool ok = cert->cn.n && cert->valid.not_before < cert->valid.not_after;
	out->valid = ok ? RG_STR(RG_YES) : RG_STR(RG_NO);
	return 0;
}
REALMGATE_PKI_VALIDATE_CERTIFICATE(validateCertificate, validate_certificate)

/* roundtrip decodes {"type": "<Go type name>", "value": {...}} with the SDK's typed decoder
 * and returns the value encoded again. */
static int roundtrip(rg_call *c, const rg_json *in) {
	const rg_type_desc *t = rg_type_by_name(rg_json_get_str(in, "type"));
	if (!t) return rg_fail(c, "roundtrip: unknown type");
	void *v = rg_alloc(c, rg_type_size(t));
	if (!v) return rg_fail(c, "out of memory");
	if (rg_decode(c, t, rg_json_get(in, "value"), v) != 0) return -1;
	rg_encode(rg_out(c), t, v);
	return 0;
}
REALMGATE_PROCEDURE(roundtrip, roundtrip)
