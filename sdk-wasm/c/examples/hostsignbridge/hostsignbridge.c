/*
 * hostsignbridge.c: a Realmgate PKI bridge, written with the C SDK, whose generateCertificate
 * has the host sign with a CA key the host holds (the adapter's grant
 * <capability name="pki" ca="..."/>, ../../../ABI.md "Host PKI"): the key never enters the
 * module, and the module does little more than name the subject. It issues the subject it
 * requires, never the CSR's: CN=the user (for a provisioning realm, the device id), plus
 * O=the "organization" setting when there is one.
 */
#include <realmgate.h>
#include <realmgate_conformance.h>

/* generate_certificate asks the host to sign the CSR's key for the user. The host verifies the
 * CSR; the CSR's common name must be the user's. */
static int generate_certificate(rg_call *c, const rg_csr_input *in, rg_generated_certificate *out) {
	static const char *const usage[] = {"digitalSignature"};
	static const char *const ext_usage[] = {"clientAuth"};
	rg_str user = in->user_identity.user_name;
	if (user.n == 0) return rg_fail(c, "generateCertificate: userIdentity has no userName");
	if (in->csr_info.cn.n && !rg_str_eq(in->csr_info.cn, user))
		return rg_fail(c, "generateCertificate: the CSR is not for this user");
	rg_cert_template t = {
	    .csr = in->csr,
	    .common_name = user,
	    .key_usage = usage,
	    .nkey_usage = 1,
	    .ext_key_usage = ext_usage,
	    .next_key_usage = 1,
	};
	rg_str org = rg_config_get(c, "organization");
	if (org.n) {
		rg_json *subject = rg_json_new(c, RG_JSON_OBJECT);
		rg_json *value = rg_json_new_str(c, org);
		if (!subject || !value || rg_json_add(c, subject, "O", value) != 0) return rg_fail(c, "out of memory");
		t.additional_subject = subject;
	}
	rg_signed_cert signed_cert;
	if (rg_pki_sign(c, &t, &signed_cert) != 0) return -1;
	out->certificate_base64 = signed_cert.certificate_base64;
	return 0;
}
REALMGATE_PKI_GENERATE_CERTIFICATE(generateCertificate, generate_certificate)
