/*
 * pki.c: the PKI-bridge shapes of adapters/pki.go as field tables, and one decoder and one
 * encoder driven by them. A table per struct keeps the JSON names in one place each, which is
 * what sdk-wasm/sdktest checks against the Go types.
 */
#include <stddef.h>
#include <string.h>

#include "internal.h"

typedef enum fkind { F_STR, F_INT, F_STRMAP, F_ANYMAP, F_STRLIST, F_STRUCT, F_INLINE } fkind;

/* A field whose name is NULL is the whole JSON object (InitInput: the realm's parameters); an
 * F_INLINE field is a struct whose members are the enclosing object's own (CertificateInput:
 * the certificate object's members). */
typedef struct field {
	const char *name;
	fkind kind;
	bool omitempty;
	size_t offset;
	const rg_type_desc *sub;
} field;

struct rg_type_desc {
	const char *name; /* the Go type name */
	size_t size;
	const field *fields;
	size_t nfields;
};

#define FIELD(T, member, json, kind, omit) {json, kind, omit, offsetof(T, member), NULL}
#define STRUCT(T, member, json, desc) {json, F_STRUCT, false, offsetof(T, member), &(desc)}
#define INLINE(T, member, desc) {NULL, F_INLINE, false, offsetof(T, member), &(desc)}
#define DESC(var, goname, T, table)                                                              \
	const rg_type_desc var = {goname, sizeof(T), table, sizeof(table) / sizeof(table[0])}

static const field f_init_input[] = {
    FIELD(rg_init_input, parameters, NULL, F_STRMAP, false),
};
DESC(rg_t_init_input, "InitInput", rg_init_input, f_init_input);

static const field f_user_identity[] = {
    FIELD(rg_user_identity, user_name, "userName", F_STR, false),
    FIELD(rg_user_identity, display_name, "displayName", F_STR, false),
    FIELD(rg_user_identity, attributes, "attributes", F_ANYMAP, false),
};
DESC(rg_t_user_identity, "UserIdentity", rg_user_identity, f_user_identity);

static const field f_identity_input[] = {
    FIELD(rg_identity_input, device_id, "deviceId", F_STR, false),
    STRUCT(rg_identity_input, user_identity, "userIdentity", rg_t_user_identity),
    FIELD(rg_identity_input, app_id, "appId", F_STR, false),
    FIELD(rg_identity_input, client_data, "clientData", F_ANYMAP, true),
};
DESC(rg_t_identity_input, "IdentityInput", rg_identity_input, f_identity_input);

static const field f_valid[] = {
    FIELD(rg_valid, valid, "valid", F_STR, false),
};
DESC(rg_t_valid, "Valid", rg_valid, f_valid);

static const field f_csr_requirements[] = {
    FIELD(rg_csr_requirements, common_name, "commonName", F_STR, false),
    FIELD(rg_csr_requirements, additional_subject, "additionalSubject", F_STRMAP, true),
    FIELD(rg_csr_requirements, additional_attributes, "additionalAttributes", F_STRMAP, true),
};
DESC(rg_t_csr_requirements, "CSRRequirements", rg_csr_requirements, f_csr_requirements);

static const field f_key_info[] = {
    FIELD(rg_key_info, base64, "base64", F_STR, false),
    FIELD(rg_key_info, algorithm, "algorithm", F_STR, false),
};
DESC(rg_t_key_info, "KeyInfo", rg_key_info, f_key_info);

static const field f_sig_info[] = {
    FIELD(rg_sig_info, base64, "base64", F_STR, true),
    FIELD(rg_sig_info, algorithm, "algorithm", F_STR, false),
};
DESC(rg_t_sig_info, "SigInfo", rg_sig_info, f_sig_info);

static const field f_csr_info[] = {
    FIELD(rg_csr_info, dn, "dn", F_STR, false),
    FIELD(rg_csr_info, cn, "cn", F_STR, false),
    STRUCT(rg_csr_info, public_key, "publicKey", rg_t_key_info),
    STRUCT(rg_csr_info, signature, "signature", rg_t_sig_info),
    FIELD(rg_csr_info, dns_names, "dnsNames", F_STRLIST, true),
    FIELD(rg_csr_info, emails, "emails", F_STRLIST, true),
};
DESC(rg_t_csr_info, "CSRInfo", rg_csr_info, f_csr_info);

static const field f_csr_input[] = {
    FIELD(rg_csr_input, device_id, "deviceId", F_STR, false),
    FIELD(rg_csr_input, csr, "csr", F_STR, false),
    STRUCT(rg_csr_input, user_identity, "userIdentity", rg_t_user_identity),
    FIELD(rg_csr_input, app_id, "appId", F_STR, false),
    STRUCT(rg_csr_input, csr_info, "csrInfo", rg_t_csr_info),
    FIELD(rg_csr_input, client_data, "clientData", F_ANYMAP, true),
};
DESC(rg_t_csr_input, "CSRInput", rg_csr_input, f_csr_input);

static const field f_generated_certificate[] = {
    FIELD(rg_generated_certificate, certificate_base64, "certificateBase64", F_STR, false),
};
DESC(rg_t_generated_certificate, "GeneratedCertificate", rg_generated_certificate,
     f_generated_certificate);

static const field f_issuer[] = {
    FIELD(rg_issuer, dn, "dn", F_STR, false),
    FIELD(rg_issuer, cn, "cn", F_STR, false),
    FIELD(rg_issuer, unique_id, "uniqueId", F_STR, true),
};
DESC(rg_t_issuer, "Issuer", rg_issuer, f_issuer);

static const field f_validity[] = {
    FIELD(rg_validity, not_before, "notBefore", F_INT, false),
    FIELD(rg_validity, not_after, "notAfter", F_INT, false),
};
DESC(rg_t_validity, "Validity", rg_validity, f_validity);

static const field f_certificate[] = {
    STRUCT(rg_certificate, public_key, "publicKey", rg_t_key_info),
    STRUCT(rg_certificate, signature, "signature", rg_t_sig_info),
    FIELD(rg_certificate, subject_unique_id, "subjectUniqueId", F_STR, true),
    FIELD(rg_certificate, version, "version", F_INT, false),
    STRUCT(rg_certificate, issuer, "issuer", rg_t_issuer),
    FIELD(rg_certificate, dn, "dn", F_STR, false),
    FIELD(rg_certificate, cn, "cn", F_STR, false),
    STRUCT(rg_certificate, valid, "valid", rg_t_validity),
    FIELD(rg_certificate, serial_number, "serialNumber", F_STR, false),
    FIELD(rg_certificate, base64, "base64", F_STR, false),
};
DESC(rg_t_certificate, "Certificate", rg_certificate, f_certificate);

static const field f_certificate_input[] = {
    INLINE(rg_certificate_input, certificate, rg_t_certificate),
    FIELD(rg_certificate_input, client_data, "clientData", F_ANYMAP, true),
};
DESC(rg_t_certificate_input, "CertificateInput", rg_certificate_input, f_certificate_input);

static const field f_identity_from_certificate[] = {
    FIELD(rg_identity_from_certificate, user_name, "userName", F_STR, false),
    FIELD(rg_identity_from_certificate, display_name, "displayName", F_STR, true),
    FIELD(rg_identity_from_certificate, attributes, "attributes", F_ANYMAP, true),
    FIELD(rg_identity_from_certificate, app_id, "appID", F_STR, true),
    FIELD(rg_identity_from_certificate, device_id, "deviceId", F_STR, true),
};
DESC(rg_t_identity_from_certificate, "IdentityFromCertificate", rg_identity_from_certificate,
     f_identity_from_certificate);

static const rg_type_desc *const all_types[] = {
    &rg_t_init_input,   &rg_t_user_identity, &rg_t_identity_input,
    &rg_t_valid,        &rg_t_csr_requirements, &rg_t_key_info,
    &rg_t_sig_info,     &rg_t_csr_info,    &rg_t_csr_input,
    &rg_t_generated_certificate, &rg_t_issuer, &rg_t_validity,
    &rg_t_certificate,  &rg_t_certificate_input, &rg_t_identity_from_certificate,
};

const rg_type_desc *rg_type_by_name(rg_str name) {
	for (size_t i = 0; i < sizeof all_types / sizeof all_types[0]; i++)
		if (rg_str_eq_c(name, all_types[i]->name)) return all_types[i];
	return NULL;
}

size_t rg_type_size(const rg_type_desc *t) { return t->size; }

/* ---- decoding ---------------------------------------------------------------------------- */

/* path is the dotted field path for error messages, bounded. */
typedef struct path {
	char buf[256];
	size_t n;
} path;

static size_t path_push(path *p, const char *name) {
	size_t old = p->n;
	size_t k = strlen(name);
	if (p->n + k + 2 < sizeof p->buf) {
		if (p->n) p->buf[p->n++] = '.';
		memcpy(p->buf + p->n, name, k);
		p->n += k;
		p->buf[p->n] = 0;
	}
	return old;
}

static int type_error(rg_call *c, path *p, const char *want) {
	rg_str parts[3] = {{p->n ? p->buf : "input", p->n ? p->n : 5}, RG_STR(": want "),
			   rg_cstr(want)};
	size_t total = parts[0].n + parts[1].n + parts[2].n;
	char *m = rg_alloc(c, total + 1);
	if (!m) return rg_fail(c, "input has the wrong shape");
	size_t o = 0;
	for (int i = 0; i < 3; i++) {
		memcpy(m + o, parts[i].p, parts[i].n);
		o += parts[i].n;
	}
	return rg_fail_str(c, (rg_str){m, o});
}

static void zero(const rg_type_desc *t, void *out) {
	memset(out, 0, t->size);
	for (size_t i = 0; i < t->nfields; i++) {
		const field *f = &t->fields[i];
		char *at = (char *)out + f->offset;
		if (f->kind == F_STR)
			*(rg_str *)at = (rg_str){"", 0};
		else if (f->kind == F_STRUCT || f->kind == F_INLINE)
			zero(f->sub, at);
	}
}

static bool all_strings(const rg_json *v) {
	for (const rg_json *e = v->child; e; e = e->next)
		if (e->type != RG_JSON_STRING) return false;
	return true;
}

/* find looks key up among t's fields, and the fields of its inline structs; *at is where the
 * field lives in the struct at base. */
static const field *find(const rg_type_desc *t, rg_str key, char *base, char **at) {
	const field *found = NULL;
	for (size_t i = 0; i < t->nfields; i++) {
		const field *f = &t->fields[i];
		if (f->kind == F_INLINE) {
			char *sub_at;
			const field *g = find(f->sub, key, base + f->offset, &sub_at);
			if (g) found = g, *at = sub_at;
		} else if (f->name && rg_str_eq_c(key, f->name)) {
			found = f, *at = base + f->offset;
		}
	}
	return found;
}

static int decode_value(rg_call *c, const field *f, const rg_json *m, char *at, path *p);

static int decode(rg_call *c, const rg_type_desc *t, const rg_json *v, void *out, path *p) {
	if (!v || v->type == RG_JSON_NULL) return 0; /* as Go: null leaves the zero value */
	if (t->nfields == 1 && !t->fields[0].name) /* the whole object */
		return decode_value(c, &t->fields[0], v, (char *)out + t->fields[0].offset, p);
	if (v->type != RG_JSON_OBJECT) return type_error(c, p, "an object");
	for (const rg_json *m = v->child; m; m = m->next) {
		char *at;
		const field *f = find(t, m->key, out, &at);
		if (!f) continue; /* unknown members are ignored, as Go does */
		size_t mark = path_push(p, f->name);
		int rc = decode_value(c, f, m, at, p);
		p->n = mark;
		p->buf[mark] = 0;
		if (rc) return rc;
	}
	return 0;
}

static int decode_value(rg_call *c, const field *f, const rg_json *m, char *at, path *p) {
	if (m->type == RG_JSON_NULL) {
		if (f->kind != F_STR && f->kind != F_INT && f->kind != F_STRUCT)
			*(const rg_json **)at = NULL;
		return 0;
	}
	switch (f->kind) {
	case F_STR:
		if (m->type != RG_JSON_STRING) return type_error(c, p, "a string");
		*(rg_str *)at = m->s;
		return 0;
	case F_INT:
		if (!rg_json_int64(m, (int64_t *)at)) return type_error(c, p, "an integer");
		return 0;
	case F_STRMAP:
		if (m->type != RG_JSON_OBJECT || !all_strings(m))
			return type_error(c, p, "an object of strings");
		*(const rg_json **)at = m;
		return 0;
	case F_ANYMAP:
		if (m->type != RG_JSON_OBJECT) return type_error(c, p, "an object");
		*(const rg_json **)at = m;
		return 0;
	case F_STRLIST:
		if (m->type != RG_JSON_ARRAY || !all_strings(m))
			return type_error(c, p, "an array of strings");
		*(const rg_json **)at = m;
		return 0;
	case F_STRUCT: return decode(c, f->sub, m, at, p);
	case F_INLINE: return 0; /* never looked up by name */
	}
	return 0;
}

int rg_decode(rg_call *c, const rg_type_desc *t, const rg_json *v, void *out) {
	path p = {{0}, 0};
	zero(t, out);
	return decode(c, t, v, out, &p);
}

/* ---- encoding ---------------------------------------------------------------------------- */

static void encode_fields(rg_buf *w, const rg_type_desc *t, const void *v);

void rg_encode(rg_buf *w, const rg_type_desc *t, const void *v) {
	if (t->nfields == 1 && !t->fields[0].name) { /* the whole object */
		const rg_json *j = *(const rg_json *const *)((const char *)v + t->fields[0].offset);
		if (j && j->type != RG_JSON_NULL) {
			rg_w_value(w, j);
		} else {
			rg_w_obj_begin(w);
			rg_w_obj_end(w);
		}
		return;
	}
	rg_w_obj_begin(w);
	encode_fields(w, t, v);
	rg_w_obj_end(w);
}

static void encode_fields(rg_buf *w, const rg_type_desc *t, const void *v) {
	for (size_t i = 0; i < t->nfields; i++) {
		const field *f = &t->fields[i];
		const char *at = (const char *)v + f->offset;
		switch (f->kind) {
		case F_STR: {
			rg_str s = *(const rg_str *)at;
			if (!s.p) s = (rg_str){"", 0};
			if (f->omitempty && s.n == 0) continue;
			rg_w_key(w, f->name);
			rg_w_str(w, s);
			break;
		}
		case F_INT: {
			int64_t x = *(const int64_t *)at;
			if (f->omitempty && x == 0) continue;
			rg_w_key(w, f->name);
			rg_w_int(w, x);
			break;
		}
		case F_STRMAP:
		case F_ANYMAP:
		case F_STRLIST: {
			const rg_json *j = *(const rg_json *const *)at;
			if (j && j->type == RG_JSON_NULL) j = NULL;
			if (f->omitempty && (!j || j->len == 0)) continue;
			rg_w_key(w, f->name);
			rg_w_value(w, j);
			break;
		}
		case F_STRUCT:
			rg_w_key(w, f->name);
			rg_encode(w, f->sub, at);
			break;
		case F_INLINE:
			encode_fields(w, f->sub, at);
			break;
		}
	}
}
