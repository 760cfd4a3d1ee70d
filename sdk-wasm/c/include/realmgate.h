/*
 * realmgate.h: the C guest SDK for Realmgate wasm adapters (ABI version 1, see ../ABI.md).
 *
 * An adapter author writes handlers and exports them with REALMGATE_PROCEDURE (raw JSON in and
 * out) or with the REALMGATE_PKI_* macros (the typed PKI-bridge shapes of adapters/pki.go). The
 * SDK provides the ABI exports (realmgate_abi_version, realmgate_alloc, realmgate_free), wraps the
 * host functions (fail, log, config, http, pki, result) and carries a small JSON reader and writer.
 *
 * Memory: everything a handler gets from the SDK (the parsed input, decoded strings, the
 * configuration, HTTP responses, values made with rg_json_new_*) lives in a per-call arena that
 * the SDK releases when the procedure returns. Handlers never free anything.
 *
 * Strings are rg_str: a pointer and a length. The bytes are NUL-terminated for convenience, but
 * JSON strings may contain "\u0000", so compare with rg_str_eq / rg_str_eq_c, never strcmp:
 * a common name "alice\u0000x" must not pass as "alice".
 *
 * Build with: clang --target=wasm32-wasi -mexec-model=reactor (see build.sh).
 */
#ifndef REALMGATE_H
#define REALMGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* RG_ABI_VERSION is the ABI version this SDK implements. */
#define RG_ABI_VERSION 1

/* RG_JSON_MAX_DEPTH bounds the nesting of JSON the SDK parses or writes. */
#define RG_JSON_MAX_DEPTH 128

/* ---- strings ---------------------------------------------------------------------------- */

typedef struct rg_str {
	const char *p; /* NUL-terminated; may contain NULs; never NULL in values from the SDK */
	size_t n;
} rg_str;

/* RG_STR makes an rg_str from a string literal. */
#define RG_STR(lit) ((rg_str){(lit), sizeof(lit) - 1})

rg_str rg_cstr(const char *s);                 /* s may be NULL: the empty string */
bool rg_str_eq(rg_str a, rg_str b);            /* byte-for-byte equality */
bool rg_str_eq_c(rg_str a, const char *b);     /* a equals the C string b */
bool rg_str_eq_const(rg_str a, rg_str b);      /* constant-time in the length of a: for secrets */

/* ---- calls ------------------------------------------------------------------------------ */

typedef struct rg_call rg_call;
typedef struct rg_buf rg_buf;
typedef struct rg_json rg_json;

/* rg_handler is a procedure: it reads in, writes its output with the rg_w_* functions on
 * rg_out(c), and returns 0; or it returns rg_fail(c, ...) (which is -1). A handler that writes
 * nothing returns {}. */
typedef int (*rg_handler)(rg_call *c, const rg_json *in);

/* REALMGATE_PROCEDURE exports handler as the procedure name (an identifier). */
#define REALMGATE_PROCEDURE(name, handler)                                                       \
	__attribute__((export_name("realmgate_proc_" #name))) uint64_t realmgate_proc_##name(    \
	    const uint8_t *ptr, uint32_t len) {                                                  \
		return rg_dispatch(ptr, len, (handler));                                         \
	}

/* rg_dispatch runs one call; the REALMGATE_* macros call it. */
uint64_t rg_dispatch(const uint8_t *ptr, uint32_t len, rg_handler h);

rg_str rg_input(rg_call *c);  /* the raw input JSON */
rg_buf *rg_out(rg_call *c);   /* the output writer */
void *rg_alloc(rg_call *c, size_t n); /* zeroed arena memory, released after the call; NULL on OOM */

/* rg_fail records msg as the call's failure message and returns -1, so handlers can write
 * "return rg_fail(c, ...)". The message reaches the caller: keep secrets out of it. */
int rg_fail(rg_call *c, const char *msg);
int rg_fail_str(rg_call *c, rg_str msg);
int rg_failf(rg_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- logging ---------------------------------------------------------------------------- */

enum { RG_DEBUG = -4, RG_INFO = 0, RG_WARN = 4, RG_ERROR = 8 };

/* rg_log writes one record with message msg. rg_log_attrs adds string attributes given as
 * key, value pairs ending with NULL: rg_log_attrs(RG_INFO, "issued", "cn", cn.p, NULL). */
void rg_log(int level, const char *msg);
void rg_log_str(int level, rg_str msg);
void rg_log_attrs(int level, const char *msg, ...) __attribute__((sentinel));

/* ---- JSON values ------------------------------------------------------------------------ */

typedef enum rg_type {
	RG_JSON_NULL,
	RG_JSON_BOOL,
	RG_JSON_NUMBER,
	RG_JSON_STRING,
	RG_JSON_ARRAY,
	RG_JSON_OBJECT
} rg_type;

struct rg_json {
	rg_type type;
	bool b;       /* RG_JSON_BOOL */
	rg_str s;     /* RG_JSON_STRING: decoded UTF-8; RG_JSON_NUMBER: the number's JSON text */
	rg_str key;   /* member name when the value is an object member */
	rg_json *child, *last; /* first and last element or member */
	rg_json *next;         /* next sibling */
	size_t len;            /* element or member count */
};

/* rg_json_parse parses n bytes at p into the call's arena. On error it returns NULL and sets
 * *err (if err is not NULL) to a static description. Input is bounded by RG_JSON_MAX_DEPTH and
 * by memory: nothing is read past p+n. */
rg_json *rg_json_parse(rg_call *c, const char *p, size_t n, const char **err);

/* rg_json_get returns the member key of obj (the last one when repeated, as Go does), or NULL
 * when obj is not an object or lacks it. */
const rg_json *rg_json_get(const rg_json *obj, const char *key);
/* rg_json_get_str returns the string member key of obj, or the empty string. */
rg_str rg_json_get_str(const rg_json *obj, const char *key);
/* rg_json_int64 converts an integer number (no fraction, no exponent) without overflow. */
bool rg_json_int64(const rg_json *v, int64_t *out);

/* Building values (arena memory); rg_json_add appends val to an array (key NULL) or object. */
rg_json *rg_json_new(rg_call *c, rg_type t);
rg_json *rg_json_new_str(rg_call *c, rg_str s);
rg_json *rg_json_new_int(rg_call *c, int64_t v);
int rg_json_add(rg_call *c, rg_json *container, const char *key, rg_json *val);

/* ---- JSON writing ----------------------------------------------------------------------- */

/* rg_buf is a growable JSON writer. Commas and colons are placed for you. Errors (out of
 * memory, nesting too deep, a key outside an object) stick and fail the call. Strings are
 * escaped; invalid UTF-8 becomes U+FFFD, as Go's encoder does. */
struct rg_buf {
	char *p;
	size_t n, cap;
	int depth;
	bool after_key, err;
	uint8_t started[RG_JSON_MAX_DEPTH + 1]; /* a value was written at this depth */
	uint8_t is_obj[RG_JSON_MAX_DEPTH + 1];
};

void rg_w_obj_begin(rg_buf *w);
void rg_w_obj_end(rg_buf *w);
void rg_w_arr_begin(rg_buf *w);
void rg_w_arr_end(rg_buf *w);
void rg_w_key(rg_buf *w, const char *key);
void rg_w_key_str(rg_buf *w, rg_str key);
void rg_w_str(rg_buf *w, rg_str s);
void rg_w_cstr(rg_buf *w, const char *s);
void rg_w_int(rg_buf *w, int64_t v);
void rg_w_bool(rg_buf *w, bool v);
void rg_w_null(rg_buf *w);
void rg_w_value(rg_buf *w, const rg_json *v); /* NULL writes null */
/* rg_w_raw appends already-encoded JSON text as one value; the host checks the output. */
void rg_w_raw(rg_buf *w, rg_str json);
void rg_buf_reset(rg_buf *w);
void rg_buf_release(rg_buf *w);

/* ---- host services ---------------------------------------------------------------------- */

/* rg_config returns the adapter's configuration object (every setting plus "adapter"), or
 * NULL (and fails the call) if the host sent something unreadable. */
const rg_json *rg_config(rg_call *c);
/* rg_config_get returns one setting, or the empty string. */
rg_str rg_config_get(rg_call *c, const char *key);

typedef struct rg_header {
	const char *name, *value;
} rg_header;

typedef struct rg_http_request {
	const char *method; /* "GET" when NULL */
	const char *url;
	const rg_header *headers;
	size_t nheaders;
	rg_str body;  /* sent as "body" when valid UTF-8, else as "bodyBase64" */
} rg_http_request;

typedef struct rg_http_response {
	int status;
	const rg_json *headers; /* object of strings, or NULL */
	rg_str body;            /* decoded from "bodyBase64" when the host sent that */
} rg_http_response;

/* rg_http performs one request through the host. It returns 0 with *resp filled, or fails the
 * call (-1) with the host's error ("not allowed", a timeout, ...). Any status is a success. */
int rg_http(rg_call *c, const rg_http_request *req, rg_http_response *resp);

/* ---- host PKI (../ABI.md, "Host PKI") ---------------------------------------------------- */

/* The host parses CSRs and signs certificate templates with a key it holds, which never enters
 * the module's memory. The adapter needs <capability name="pki" ca="..."/> in its <backend>;
 * without it every call below fails the procedure with the host's reason, after "pki: ". */

/* rg_pki sends one request (a JSON object with "op": "parseCSR", "sign" or "verify") and sets
 * *answer to the host's answer object. It returns 0, or fails the call (-1) when the host
 * refused. */
int rg_pki(rg_call *c, rg_str request, const rg_json **answer);

typedef struct rg_parsed_csr {
	rg_str dn, cn;
	rg_str key_algorithm; /* "EC", "RSA", "Ed25519" */
	rg_str thumbprint;    /* RFC 7638 JWK thumbprint of the key, base64url */
	rg_str spki_sha256;   /* SHA-256 of the SubjectPublicKeyInfo, base64 */
	const rg_json *object; /* the whole answer: names, extensions, attributes */
} rg_parsed_csr;

/* rg_pki_parse_csr has the host parse the CSR (base64 DER) and verify its signature. */
int rg_pki_parse_csr(rg_call *c, rg_str csr_base64, rg_parsed_csr *out);

typedef struct rg_cert_template {
	rg_str csr;                         /* base64 DER: the certified key is the CSR's */
	rg_str common_name;                 /* the subject's CN */
	const rg_json *additional_subject;  /* {"O": "Example", ...} or NULL */
	int validity_days;                  /* 0: the host's default within the grant */
	const char *const *key_usage;       /* e.g. {"digitalSignature"}; NULL: that default */
	size_t nkey_usage;
	const char *const *ext_key_usage;   /* e.g. {"clientAuth"}; NULL: that default */
	size_t next_key_usage;
	bool is_ca;                         /* refused unless the grant allows CA certificates */
} rg_cert_template;

typedef struct rg_signed_cert {
	rg_str certificate_base64; /* DER, base64 */
	rg_str serial_number;      /* lower-case hex, chosen by the host */
	int64_t not_before, not_after;
} rg_signed_cert;

/* rg_pki_sign has the host sign t with the adapter's host-held key. */
int rg_pki_sign(rg_call *c, const rg_cert_template *t, rg_signed_cert *out);

/* ---- base64 (standard alphabet, padded) -------------------------------------------------- */

rg_str rg_base64_encode(rg_call *c, rg_str in);
/* rg_base64_decode returns false on malformed input. */
bool rg_base64_decode(rg_call *c, rg_str in, rg_str *out);

/* ---- single use (../ABI.md, "Single use") ----------------------------------------------- */

/* Results of rg_once. Negative: nothing was marked, and the guest must refuse what the key
 * guards (it cannot tell a first use from a repeated one). */
#define RG_ONCE_FIRST 1          /* the key was not used: it is now */
#define RG_ONCE_USED 0           /* the key was used before */
#define RG_ONCE_UNAVAILABLE (-1) /* the host's single-use store did not answer, or there is none */
#define RG_ONCE_BAD_ARGUMENT (-2) /* key empty or over RG_ONCE_MAX_KEY bytes, TTL out of range */
#define RG_ONCE_TOO_MANY (-3)    /* more than RG_ONCE_MAX_CALLS calls in this procedure call */

#define RG_ONCE_MAX_KEY 1024                   /* bytes */
#define RG_ONCE_MIN_TTL 1                      /* seconds */
#define RG_ONCE_MAX_TTL (400LL * 24 * 60 * 60) /* seconds: 400 days */
#define RG_ONCE_MAX_CALLS 16

/* rg_once marks key used for ttl_seconds in the host's single-use store, which every instance
 * of the adapter and every daemon of the deployment's store share, across restarts: of any
 * number of concurrent calls with one key exactly one gets RG_ONCE_FIRST. Keys belong to the
 * adapter and the host keeps only their SHA-256, so a key may be a secret (a one-time code).
 * After the TTL the key may be forgotten: give it at least the lifetime of what it guards.
 * Returns one of RG_ONCE_*; check everything else first and mark last. */
int rg_once(rg_str key, int64_t ttl_seconds);

/* rg_once_error is a message for a negative result of rg_once. */
const char *rg_once_error(int result);

/* ---- PKI bridge (mirrors adapters/pki.go field for field) -------------------------------- */

#define RG_YES "YES"
#define RG_NO "NO"
#define RG_NO_USE_DEPENDENT_REALM_ONLY "NO_USE_DEPENDENT_REALM_ONLY"

/* Maps and lists keep their JSON form: the init input, additionalSubject and
 * additionalAttributes are objects of strings, attributes and clientData objects of anything,
 * dnsNames and emails arrays of strings (the decoder checks those element types). NULL means
 * absent. Build an object to answer with rg_json_new and rg_json_add. */

typedef struct rg_init_input { /* InitInput: the realm's parameters, one flat object */
	const rg_json *parameters;
} rg_init_input;

typedef struct rg_user_identity { /* UserIdentity */
	rg_str user_name, display_name;
	const rg_json *attributes;
} rg_user_identity;

typedef struct rg_identity_input { /* IdentityInput */
	rg_str device_id;
	rg_user_identity user_identity;
	rg_str app_id;
	const rg_json *client_data;
} rg_identity_input;

typedef struct rg_valid { /* Valid */
	rg_str valid;
} rg_valid;

typedef struct rg_csr_requirements { /* CSRRequirements */
	rg_str common_name;
	const rg_json *additional_subject, *additional_attributes;
} rg_csr_requirements;

typedef struct rg_key_info { /* KeyInfo */
	rg_str base64, algorithm;
} rg_key_info;

typedef struct rg_sig_info { /* SigInfo */
	rg_str base64, algorithm;
} rg_sig_info;

typedef struct rg_csr_info { /* CSRInfo: what the host parsed from the CSR */
	rg_str dn, cn;
	rg_key_info public_key;
	rg_sig_info signature;
	const rg_json *dns_names, *emails;
} rg_csr_info;

typedef struct rg_csr_input { /* CSRInput */
	rg_str device_id;
	rg_str csr; /* base64 DER */
	rg_user_identity user_identity;
	rg_str app_id;
	rg_csr_info csr_info;
	const rg_json *client_data;
} rg_csr_input;

typedef struct rg_generated_certificate { /* GeneratedCertificate */
	rg_str certificate_base64;
} rg_generated_certificate;

typedef struct rg_issuer { /* Issuer */
	rg_str dn, cn, unique_id;
} rg_issuer;

typedef struct rg_validity { /* Validity, Unix seconds */
	int64_t not_before, not_after;
} rg_validity;

typedef struct rg_certificate { /* Certificate */
	rg_key_info public_key;
	rg_sig_info signature;
	rg_str subject_unique_id;
	int64_t version;
	rg_issuer issuer;
	rg_str dn, cn;
	rg_validity valid;
	rg_str serial_number, base64;
} rg_certificate;

typedef struct rg_certificate_input { /* CertificateInput: the certificate object's members */
	rg_certificate certificate;       /* inline: they are the input's own members */
	const rg_json *client_data;
} rg_certificate_input;

typedef struct rg_identity_from_certificate { /* IdentityFromCertificate */
	rg_str user_name, display_name;
	const rg_json *attributes;
	rg_str app_id, device_id;
} rg_identity_from_certificate;

/* A type descriptor drives decoding and encoding of one of the structs above. */
typedef struct rg_type_desc rg_type_desc;
extern const rg_type_desc rg_t_init_input, rg_t_user_identity, rg_t_identity_input, rg_t_valid,
    rg_t_csr_requirements, rg_t_key_info, rg_t_sig_info, rg_t_csr_info, rg_t_csr_input,
    rg_t_generated_certificate, rg_t_issuer, rg_t_validity, rg_t_certificate,
    rg_t_certificate_input, rg_t_identity_from_certificate;

/* rg_type_by_name finds a descriptor by its Go type name ("CSRInput"), or NULL. */
const rg_type_desc *rg_type_by_name(rg_str name);
/* rg_type_size is the size of the struct t describes. */
size_t rg_type_size(const rg_type_desc *t);
/* rg_decode fills out (a struct of type t) from v; on a type mismatch it fails the call with
 * the field's path ("csrInfo.publicKey.algorithm: want a string") and returns -1. */
int rg_decode(rg_call *c, const rg_type_desc *t, const rg_json *v, void *out);
/* rg_encode writes the struct at v as JSON, leaving out empty omitempty fields as Go does. */
void rg_encode(rg_buf *w, const rg_type_desc *t, const void *v);

/* Typed PKI-bridge procedures: fn gets the decoded input and fills a zeroed output; it returns
 * 0, or rg_fail(c, ...). name is the procedure name the realm configuration refers to. */
#define RG__TYPED(name, fn, IN, in_desc, OUT, out_desc)                                          \
	static int rg__typed_##name(rg_call *c, const rg_json *j) {                              \
		IN in_;                                                                          \
		OUT out_ = {0};                                                                  \
		if (rg_decode(c, &(in_desc), j, &in_) != 0) return -1;                           \
		if ((fn)(c, &in_, &out_) != 0) return -1;                                        \
		rg_encode(rg_out(c), &(out_desc), &out_);                                        \
		return 0;                                                                        \
	}                                                                                        \
	REALMGATE_PROCEDURE(name, rg__typed_##name)

/* int fn(rg_call *, const rg_init_input *); the output is {}. */
#define REALMGATE_PKI_INIT(name, fn)                                                             \
	static int rg__init_##name(rg_call *c, const rg_json *j) {                               \
		rg_init_input in_;                                                               \
		if (rg_decode(c, &rg_t_init_input, j, &in_) != 0) return -1;                     \
		if ((fn)(c, &in_) != 0) return -1;                                               \
		rg_w_obj_begin(rg_out(c));                                                       \
		rg_w_obj_end(rg_out(c));                                                         \
		return 0;                                                                        \
	}                                                                                        \
	REALMGATE_PROCEDURE(name, rg__init_##name)
/* int fn(rg_call *, const rg_identity_input *, rg_valid *) */
#define REALMGATE_PKI_VALIDATE_IDENTITY(name, fn)                                                \
	RG__TYPED(name, fn, rg_identity_input, rg_t_identity_input, rg_valid, rg_t_valid)
/* int fn(rg_call *, const rg_identity_input *, rg_csr_requirements *) */
#define REALMGATE_PKI_CSR_REQUIREMENTS(name, fn)                                                 \
	RG__TYPED(name, fn, rg_identity_input, rg_t_identity_input, rg_csr_requirements,         \
		  rg_t_csr_requirements)
/* int fn(rg_call *, const rg_csr_input *, rg_valid *) */
#define REALMGATE_PKI_VALIDATE_CSR(name, fn)                                                     \
	RG__TYPED(name, fn, rg_csr_input, rg_t_csr_input, rg_valid, rg_t_valid)
/* int fn(rg_call *, const rg_csr_input *, rg_generated_certificate *) */
#define REALMGATE_PKI_GENERATE_CERTIFICATE(name, fn)                                             \
	RG__TYPED(name, fn, rg_csr_input, rg_t_csr_input, rg_generated_certificate,              \
		  rg_t_generated_certificate)
/* int fn(rg_call *, const rg_certificate_input *, rg_identity_from_certificate *) */
#define REALMGATE_PKI_IDENTITY_FROM_CERTIFICATE(name, fn)                                        \
	RG__TYPED(name, fn, rg_certificate_input, rg_t_certificate_input,                        \
		  rg_identity_from_certificate, rg_t_identity_from_certificate)
/* int fn(rg_call *, const rg_certificate_input *, rg_valid *) */
#define REALMGATE_PKI_VALIDATE_CERTIFICATE(name, fn)                                             \
	RG__TYPED(name, fn, rg_certificate_input, rg_t_certificate_input, rg_valid, rg_t_valid)

#ifdef __cplusplus
}
#endif
#endif /* REALMGATE_H */
