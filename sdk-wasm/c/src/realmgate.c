/*
 * realmgate.c: the ABI glue (exports, dispatch, per-call arena) and the host-function wrappers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- host functions (import module "realmgate") ----------------------------------------- */

#define RG_IMPORT(name) __attribute__((import_module("realmgate"), import_name(name)))

RG_IMPORT("fail") void rg__host_fail(const char *p, uint32_t n);
RG_IMPORT("log") void rg__host_log(int32_t level, const char *p, uint32_t n);
RG_IMPORT("config") int32_t rg__host_config(void);
RG_IMPORT("http") int32_t rg__host_http(const char *p, uint32_t n);
RG_IMPORT("result") int32_t rg__host_result(char *p, uint32_t n);
RG_IMPORT("pki") int32_t rg__host_pki(const char *p, uint32_t n);

/* ---- exports ----------------------------------------------------------------------------- */

__attribute__((export_name("realmgate_abi_version"))) int32_t realmgate_abi_version(void) {
	return RG_ABI_VERSION;
}

__attribute__((export_name("realmgate_alloc"))) void *realmgate_alloc(uint32_t size) {
	return malloc(size ? size : 1);
}

__attribute__((export_name("realmgate_free"))) void realmgate_free(void *p, uint32_t size) {
	(void)size;
	free(p);
}

void *rg__realloc(void *p, size_t n) { return realloc(p, n); }
void rg__free(void *p) { free(p); }

/* ---- strings ----------------------------------------------------------------------------- */

rg_str rg_cstr(const char *s) {
	if (!s) return (rg_str){"", 0};
	return (rg_str){s, strlen(s)};
}

bool rg_str_eq(rg_str a, rg_str b) { return a.n == b.n && memcmp(a.p, b.p, a.n) == 0; }

bool rg_str_eq_c(rg_str a, const char *b) { return rg_str_eq(a, rg_cstr(b)); }

bool rg_str_eq_const(rg_str a, rg_str b) {
	unsigned char d = a.n != b.n;
	for (size_t i = 0; i < a.n; i++) {
		unsigned char y = i < b.n ? (unsigned char)b.p[i] : 0;
		d |= (unsigned char)a.p[i] ^ y;
	}
	return d == 0;
}

/* ---- the call and its arena -------------------------------------------------------------- */

typedef struct block {
	struct block *next;
	size_t used, cap;
} block;

#define BLOCK_SIZE (64 * 1024)

struct rg_call {
	rg_str input;
	rg_buf out;
	block *arena;
	rg_json *config;
	bool failed;
};

/* An instance runs one call at a time, so one call state is enough. */
static rg_call the_call;

void *rg_alloc(rg_call *c, size_t n) {
	n = (n + 7) & ~(size_t)7;
	if (n == 0) n = 8;
	block *b = c->arena;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > BLOCK_SIZE ? n : BLOCK_SIZE;
		if (cap > (size_t)-1 - sizeof(block)) return NULL;
		block *nb = malloc(sizeof(block) + cap);
		if (!nb) return NULL;
		nb->used = 0;
		nb->cap = cap;
		if (b && n > BLOCK_SIZE) {
			/* a large allocation gets its own block behind the current one */
			nb->next = b->next;
			b->next = nb;
		} else {
			nb->next = b;
			c->arena = nb;
		}
		b = nb;
	}
	void *p = (char *)(b + 1) + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

static void arena_release(rg_call *c) {
	for (block *b = c->arena; b;) {
		block *next = b->next;
		free(b);
		b = next;
	}
	c->arena = NULL;
}

rg_str rg_input(rg_call *c) { return c->input; }
rg_buf *rg_out(rg_call *c) { return &c->out; }

int rg_fail_str(rg_call *c, rg_str msg) {
	c->failed = true;
	if (msg.n == 0) msg = RG_STR("the procedure failed");
	rg__host_fail(msg.p, (uint32_t)msg.n);
	return -1;
}

int rg_fail(rg_call *c, const char *msg) { return rg_fail_str(c, rg_cstr(msg)); }

int rg_failf(rg_call *c, const char *fmt, ...) {
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0) return rg_fail(c, fmt);
	return rg_fail_str(c, (rg_str){buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1});
}

/* fail2 fails with prefix + detail without pulling printf into every module. */
static int fail2(rg_call *c, const char *prefix, const char *detail) {
	size_t a = strlen(prefix), b = strlen(detail);
	char *m = rg_alloc(c, a + b + 1);
	if (!m) return rg_fail(c, prefix);
	memcpy(m, prefix, a);
	memcpy(m + a, detail, b);
	return rg_fail_str(c, (rg_str){m, a + b});
}

uint64_t rg_dispatch(const uint8_t *ptr, uint32_t len, rg_handler h) {
	rg_call *c = &the_call;
	memset(c, 0, sizeof *c);
	c->input = (rg_str){(const char *)ptr, len};
	uint64_t result = 0;
	const char *err = NULL;
	rg_json *in = rg_json_parse(c, (const char *)ptr, len, &err);
	if (!in) {
		fail2(c, "input is not valid JSON: ", err);
	} else if (h(c, in) != 0 || c->failed) {
		if (!c->failed) rg_fail(c, "the procedure failed");
	} else {
		if (c->out.n == 0 && !c->out.err && c->out.depth == 0) {
			rg_w_obj_begin(&c->out);
			rg_w_obj_end(&c->out);
		}
		if (c->out.err || c->out.depth != 0 || c->out.after_key) {
			rg_fail(c, "output: the procedure wrote malformed JSON or ran out of memory");
		} else {
			result = (uint64_t)(uintptr_t)c->out.p << 32 | (uint64_t)c->out.n;
			c->out.p = NULL; /* the host frees it with realmgate_free */
		}
	}
	rg_buf_release(&c->out);
	arena_release(c);
	c->config = NULL;
	return result;
}

/* ---- logging ----------------------------------------------------------------------------- */

static void log_buf(int level, rg_buf *w) {
	if (!w->err) rg__host_log(level, w->p, (uint32_t)w->n);
	rg_buf_release(w);
}

void rg_log_str(int level, rg_str msg) {
	/* Always a JSON object: plain text that happens to look like JSON would be read as one. */
	rg_buf w = {0};
	rg_w_obj_begin(&w);
	rg_w_key(&w, "msg");
	rg_w_str(&w, msg);
	rg_w_obj_end(&w);
	log_buf(level, &w);
}

void rg_log(int level, const char *msg) { rg_log_str(level, rg_cstr(msg)); }

void rg_log_attrs(int level, const char *msg, ...) {
	rg_buf w = {0};
	rg_w_obj_begin(&w);
	rg_w_key(&w, "msg");
	rg_w_cstr(&w, msg);
	va_list ap;
	va_start(ap, msg);
	for (;;) {
		const char *k = va_arg(ap, const char *);
		if (!k) break;
		const char *v = va_arg(ap, const char *);
		rg_w_key(&w, k);
		rg_w_cstr(&w, v);
	}
	va_end(ap);
	rg_w_obj_end(&w);
	log_buf(level, &w);
}

/* ---- host results ------------------------------------------------------------------------ */

/* take_result copies the host's pending result of n bytes into the arena. */
static bool take_result(rg_call *c, int32_t n, rg_str *out) {
	if (n < 0) return false;
	char *buf = rg_alloc(c, (size_t)n + 1);
	if (!buf) return false;
	int32_t got = rg__host_result(buf, (uint32_t)n);
	if (got < 0 || got > n) return false;
	*out = (rg_str){buf, (size_t)got};
	return true;
}

const rg_json *rg_config(rg_call *c) {
	if (c->config) return c->config;
	rg_str raw;
	const char *err = NULL;
	if (!take_result(c, rg__host_config(), &raw)) {
		rg_fail(c, "config: the host returned no configuration");
		return NULL;
	}
	rg_json *v = rg_json_parse(c, raw.p, raw.n, &err);
	if (!v || v->type != RG_JSON_OBJECT) {
		fail2(c, "config: not a JSON object: ", err ? err : "wrong type");
		return NULL;
	}
	c->config = v;
	return v;
}

rg_str rg_config_get(rg_call *c, const char *key) {
	return rg_json_get_str(rg_config(c), key);
}

/* ---- outbound HTTP ----------------------------------------------------------------------- */

static bool valid_utf8(rg_str s) {
	const unsigned char *p = (const unsigned char *)s.p, *end = p + s.n;
	while (p < end) {
		size_t k = rg__utf8_len(p, (size_t)(end - p));
		if (!k) return false;
		p += k;
	}
	return true;
}

int rg_http(rg_call *c, const rg_http_request *req, rg_http_response *resp) {
	memset(resp, 0, sizeof *resp);
	resp->body = (rg_str){"", 0};
	rg_buf w = {0};
	rg_w_obj_begin(&w);
	rg_w_key(&w, "method");
	rg_w_cstr(&w, req->method ? req->method : "GET");
	rg_w_key(&w, "url");
	rg_w_cstr(&w, req->url);
	if (req->nheaders) {
		rg_w_key(&w, "headers");
		rg_w_obj_begin(&w);
		for (size_t i = 0; i < req->nheaders; i++) {
			rg_w_key(&w, req->headers[i].name);
			rg_w_cstr(&w, req->headers[i].value);
		}
		rg_w_obj_end(&w);
	}
	if (req->body.n) {
		if (valid_utf8(req->body)) {
			rg_w_key(&w, "body");
			rg_w_str(&w, req->body);
		} else {
			rg_w_key(&w, "bodyBase64");
			rg_w_str(&w, rg_base64_encode(c, req->body));
		}
	}
	rg_w_obj_end(&w);
	if (w.err) {
		rg_buf_release(&w);
		return rg_fail(c, "http: out of memory building the request");
	}
	int32_t n = rg__host_http(w.p, (uint32_t)w.n);
	rg_buf_release(&w);
	rg_str raw;
	const char *err = NULL;
	if (!take_result(c, n, &raw)) return rg_fail(c, "http: the host returned no response");
	rg_json *v = rg_json_parse(c, raw.p, raw.n, &err);
	if (!v || v->type != RG_JSON_OBJECT) return rg_fail(c, "http: unreadable response");
	const rg_json *e = rg_json_get(v, "error");
	if (e && e->type == RG_JSON_STRING) return fail2(c, "http: ", e->s.p);
	int64_t status = 0;
	if (!rg_json_int64(rg_json_get(v, "status"), &status))
		return rg_fail(c, "http: response without a status");
	resp->status = (int)status;
	const rg_json *h = rg_json_get(v, "headers");
	resp->headers = (h && h->type == RG_JSON_OBJECT) ? h : NULL;
	const rg_json *b64 = rg_json_get(v, "bodyBase64");
	if (b64 && b64->type == RG_JSON_STRING) {
		if (!rg_base64_decode(c, b64->s, &resp->body))
			return rg_fail(c, "http: bad bodyBase64 in the response");
	} else {
		resp->body = rg_json_get_str(v, "body");
	}
	return 0;
}

/* ---- host PKI ---------------------------------------------------------------------------- */

int rg_pki(rg_call *c, rg_str request, const rg_json **answer) {
	*answer = NULL;
	int32_t n = rg__host_pki(request.p, (uint32_t)request.n);
	rg_str raw;
	const char *err = NULL;
	if (!take_result(c, n, &raw)) return rg_fail(c, "pki: the host returned no answer");
	rg_json *v = rg_json_parse(c, raw.p, raw.n, &err);
	if (!v || v->type != RG_JSON_OBJECT) return rg_fail(c, "pki: unreadable answer");
	const rg_json *e = rg_json_get(v, "error");
	if (e && e->type == RG_JSON_STRING) return fail2(c, "pki: ", e->s.p);
	*answer = v;
	return 0;
}

/* pki_request sends the request in w (released here) to rg_pki. */
static int pki_request(rg_call *c, rg_buf *w, const rg_json **answer) {
	if (w->err) {
		rg_buf_release(w);
		return rg_fail(c, "pki: out of memory building the request");
	}
	int rc = rg_pki(c, (rg_str){w->p, w->n}, answer);
	rg_buf_release(w);
	return rc;
}

int rg_pki_parse_csr(rg_call *c, rg_str csr_base64, rg_parsed_csr *out) {
	memset(out, 0, sizeof *out);
	rg_buf w = {0};
	rg_w_obj_begin(&w);
	rg_w_key(&w, "op");
	rg_w_cstr(&w, "parseCSR");
	rg_w_key(&w, "csr");
	rg_w_str(&w, csr_base64);
	rg_w_obj_end(&w);
	const rg_json *v;
	if (pki_request(c, &w, &v) != 0) return -1;
	const rg_json *key = rg_json_get(v, "publicKey");
	out->dn = rg_json_get_str(v, "dn");
	out->cn = rg_json_get_str(v, "cn");
	out->key_algorithm = rg_json_get_str(key, "algorithm");
	out->thumbprint = rg_json_get_str(key, "thumbprint");
	out->spki_sha256 = rg_json_get_str(key, "spkiSha256");
	out->object = v;
	return 0;
}

static void w_names(rg_buf *w, const char *key, const char *const *names, size_t n) {
	if (!names) return;
	rg_w_key(w, key);
	rg_w_arr_begin(w);
	for (size_t i = 0; i < n; i++) rg_w_cstr(w, names[i]);
	rg_w_arr_end(w);
}

int rg_pki_sign(rg_call *c, const rg_cert_template *t, rg_signed_cert *out) {
	memset(out, 0, sizeof *out);
	rg_buf w = {0};
	rg_w_obj_begin(&w);
	rg_w_key(&w, "op");
	rg_w_cstr(&w, "sign");
	rg_w_key(&w, "csr");
	rg_w_str(&w, t->csr);
	rg_w_key(&w, "subject");
	rg_w_obj_begin(&w);
	rg_w_key(&w, "commonName");
	rg_w_str(&w, t->common_name);
	if (t->additional_subject) {
		rg_w_key(&w, "additionalSubject");
		rg_w_value(&w, t->additional_subject);
	}
	rg_w_obj_end(&w);
	if (t->validity_days) {
		rg_w_key(&w, "validityDays");
		rg_w_int(&w, t->validity_days);
	}
	w_names(&w, "keyUsage", t->key_usage, t->nkey_usage);
	w_names(&w, "extKeyUsage", t->ext_key_usage, t->next_key_usage);
	if (t->is_ca) {
		rg_w_key(&w, "isCA");
		rg_w_bool(&w, true);
	}
	rg_w_obj_end(&w);
	const rg_json *v;
	if (pki_request(c, &w, &v) != 0) return -1;
	out->certificate_base64 = rg_json_get_str(v, "certificateBase64");
	out->serial_number = rg_json_get_str(v, "serialNumber");
	rg_json_int64(rg_json_get(v, "notBefore"), &out->not_before);
	rg_json_int64(rg_json_get(v, "notAfter"), &out->not_after);
	if (!out->certificate_base64.n) return rg_fail(c, "pki: the host's answer has no certificate");
	return 0;
}

/* ---- base64 ------------------------------------------------------------------------------ */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

rg_str rg_base64_encode(rg_call *c, rg_str in) {
	if (in.n > (size_t)-1 / 2) return (rg_str){"", 0};
	size_t n = (in.n + 2) / 3 * 4;
	char *out = rg_alloc(c, n + 1);
	if (!out) return (rg_str){"", 0};
	const unsigned char *p = (const unsigned char *)in.p;
	size_t i = 0, o = 0;
	for (; i + 2 < in.n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64[v >> 18];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = b64[v >> 6 & 63];
		out[o++] = b64[v & 63];
	}
	if (i < in.n) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < in.n ? (uint32_t)p[i + 1] << 8 : 0);
		out[o++] = b64[v >> 18];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < in.n ? b64[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	return (rg_str){out, o};
}

static int b64val(unsigned char ch) {
	if (ch >= 'A' && ch <= 'Z') return ch - 'A';
	if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9') return ch - '0' + 52;
	if (ch == '+') return 62;
	if (ch == '/') return 63;
	return -1;
}

bool rg_base64_decode(rg_call *c, rg_str in, rg_str *out) {
	if (in.n % 4 != 0) return false;
	char *dst = rg_alloc(c, in.n / 4 * 3 + 1);
	if (!dst) return false;
	const unsigned char *p = (const unsigned char *)in.p;
	size_t o = 0;
	for (size_t i = 0; i < in.n; i += 4) {
		bool last = i + 4 == in.n;
		int a = b64val(p[i]), b = b64val(p[i + 1]);
		int cc = (last && p[i + 2] == '=') ? -2 : b64val(p[i + 2]);
		int d = (last && p[i + 3] == '=') ? -2 : b64val(p[i + 3]);
		if (a < 0 || b < 0 || cc == -1 || d == -1 || (cc == -2 && d != -2)) return false;
		uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12;
		dst[o++] = (char)(v >> 16);
		if (cc >= 0) {
			v |= (uint32_t)cc << 6;
			dst[o++] = (char)(v >> 8 & 0xFF);
			if (d >= 0) dst[o++] = (char)((v | (uint32_t)d) & 0xFF);
		}
	}
	*out = (rg_str){dst, o};
	return true;
}

/* ---- single use (realmgate.once, an addition to ABI version 1) --------------------------- */

/* Declared here, not with the other imports, so that only a module that calls rg_once imports
 * it: the linker drops the import with the unused function. */
RG_IMPORT("once") int32_t rg__host_once(const char *p, uint32_t n, int64_t ttl_seconds);

int rg_once(rg_str key, int64_t ttl_seconds) {
	/* An empty key is refused by the host; a NULL pointer of length 0 is as good as any. */
	return (int)rg__host_once(key.p, (uint32_t)key.n, ttl_seconds);
}

const char *rg_once_error(int result) {
	switch (result) {
	case RG_ONCE_UNAVAILABLE:
		return "once: the host's single-use store is not available";
	case RG_ONCE_BAD_ARGUMENT:
		return "once: the key must have 1 to 1024 bytes and the TTL be 1 second to 400 days";
	case RG_ONCE_TOO_MANY:
		return "once: too many calls in one procedure call";
	}
	return result < 0 ? "once: the host's single-use store is not available" : "";
}
