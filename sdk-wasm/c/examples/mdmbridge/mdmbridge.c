/*
 * mdmbridge.c: a Realmgate PKI bridge, written with the C SDK, that admits a device to
 * certificate enrollment with a one-time activation code from a mobile-device-management
 * system (Worklight's MDM scenario: the client sends "activationCode" with its answer).
 *
 * The codes come from the adapter's setting "codes", a JSON array of
 *   {"code": "...", "deviceId": "...", "expiresAt": 1767225599 | "2025-12-31T23:59:59Z"}
 * validateIdentity answers YES once per code: for the device the code was issued to, before its
 * expiry (Unix seconds or an RFC 3339 UTC time, read against the WASI wall clock). A reused,
 * expired or unknown code, another device's code, or none at all is NO.
 *
 * Which codes are used is kept by the host (realmgate.once, rg_once): the daemon's durable
 * store, shared by every instance of the adapter and every daemon of the deployment's store,
 * across restarts, so single use holds with any number of instances: see README.md. An
 * instance also remembers the codes it saw used, which spares the store a write for them.
 * Nothing here traps on any input (fuzzed by sdk-wasm/sdktest's FuzzMDMBridge).
 *
 * The bridge does not issue certificates: the realm names another adapter's
 * generateCertificate (for example the CFSSL bridge's).
 */
#include <realmgate.h>
#include <realmgate_conformance.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Bounds of the "codes" setting. */
#define MAX_CODES 10000
#define MAX_FIELD 256 /* bytes of a code or a device id */
/* A redeemed code stays used in the host's store until its expiry and this margin, so that a
 * daemon whose clock runs behind still finds it used while it would accept the code. */
#define USED_MARGIN 3600 /* seconds */

/* ---- core conformance procedures --------------------------------------------------------- */

/* echo, fail, config and log come from conformance/realmgate_conformance.c; config answers the
 * activation codes (secrets) as "<redacted>". */
const char *rg_conformance_redacted[] = {"codes", NULL};

/* ---- the activation codes ---------------------------------------------------------------- */

typedef struct code {
	rg_str code, device; /* malloc'd copies: they outlive the call that loaded them */
	int64_t expires_at;  /* Unix seconds; the code is valid while now < expires_at */
	bool used;          /* seen used by this instance; the host's store is the authority */
} code;

/* The instance's state: the codes of the setting, loaded on first use, and which are used.
 * An instance serves one call at a time, so no locking. */
static code *codes;
static size_t ncodes;
static bool loaded;

static void free_codes(code *cs, size_t n) {
	for (size_t i = 0; i < n; i++) {
		free((void *)cs[i].code.p);
		free((void *)cs[i].device.p);
	}
	free(cs);
}

static bool copy_str(rg_str s, rg_str *out) {
	char *p = malloc(s.n + 1);
	if (!p) return false;
	memcpy(p, s.p, s.n);
	p[s.n] = 0;
	*out = (rg_str){p, s.n};
	return true;
}

static bool is_digits(const char *p, size_t n) {
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9') return false;
	return true;
}

static int64_t digits(const char *p, size_t n) {
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) v = v * 10 + (p[i] - '0');
	return v;
}

/* days_from_civil is the number of days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(int64_t y, int64_t m) {
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : days[m - 1];
}

/* parse_utc reads exactly "YYYY-MM-DDTHH:MM:SSZ" (RFC 3339 in UTC, years 1970 to 9999, no
 * fraction, no offset, no leap second) into Unix seconds. */
static bool parse_utc(rg_str s, int64_t *out) {
	const char *p = s.p;
	if (s.n != 20 || p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':' || p[16] != ':' ||
	    p[19] != 'Z')
		return false;
	if (!is_digits(p, 4) || !is_digits(p + 5, 2) || !is_digits(p + 8, 2) || !is_digits(p + 11, 2) ||
	    !is_digits(p + 14, 2) || !is_digits(p + 17, 2))
		return false;
	int64_t y = digits(p, 4), mo = digits(p + 5, 2), d = digits(p + 8, 2);
	int64_t h = digits(p + 11, 2), mi = digits(p + 14, 2), se = digits(p + 17, 2);
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59)
		return false;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	return true;
}

/* by_code orders codes by length, then bytes, to find repeats. */
static int by_code(const void *a, const void *b) {
	const code *x = *(const code *const *)a, *y = *(const code *const *)b;
	if (x->code.n != y->code.n) return x->code.n < y->code.n ? -1 : 1;
	return memcmp(x->code.p, y->code.p, x->code.n);
}

/* field reads a string member of 1 to MAX_FIELD bytes. */
static int field(rg_call *c, const rg_json *e, size_t i, const char *name, rg_str *out) {
	const rg_json *v = rg_json_get(e, name);
	if (!v || v->type != RG_JSON_STRING)
		return rg_failf(c, "setting codes: element %zu: %s: want a string", i, name);
	if (v->s.n == 0 || v->s.n > MAX_FIELD)
		return rg_failf(c, "setting codes: element %zu: %s: want 1 to %d bytes", i, name, MAX_FIELD);
	*out = v->s;
	return 0;
}

/* parse_codes reads the "codes" setting into a fresh array, or fails the call saying what is
 * wrong (never quoting a code: they are secrets). */
static int parse_codes(rg_call *c, code **out, size_t *nout) {
	rg_str raw = rg_config_get(c, "codes");
	if (raw.n == 0)
		return rg_fail(c, "setting codes: required: a JSON array of {\"code\", \"deviceId\", \"expiresAt\"}");
	const char *err = NULL;
	rg_json *list = rg_json_parse(c, raw.p, raw.n, &err);
	if (!list) return rg_failf(c, "setting codes: not JSON: %s", err ? err : "unreadable");
	if (list->type != RG_JSON_ARRAY) return rg_fail(c, "setting codes: want a JSON array");
	if (list->len > MAX_CODES) return rg_failf(c, "setting codes: more than %d codes", MAX_CODES);
	code *cs = calloc(list->len ? list->len : 1, sizeof *cs);
	code **sorted = calloc(list->len ? list->len : 1, sizeof *sorted);
	if (!cs || !sorted) {
		free(cs);
		free(sorted);
		return rg_fail(c, "setting codes: out of memory");
	}
	size_t n = 0;
	int rc = 0;
	for (const rg_json *e = list->child; e; e = e->next, n++) {
		if (e->type != RG_JSON_OBJECT) {
			rc = rg_failf(c, "setting codes: element %zu: want an object", n);
			break;
		}
		for (const rg_json *m = e->child; m; m = m->next) {
			if (!rg_str_eq_c(m->key, "code") && !rg_str_eq_c(m->key, "deviceId") && !rg_str_eq_c(m->key, "expiresAt")) {
				rc = rg_failf(c, "setting codes: element %zu: unknown member (want code, deviceId, expiresAt)", n);
				break;
			}
		}
		if (rc) break;
		rg_str cd, dev;
		if ((rc = field(c, e, n, "code", &cd)) || (rc = field(c, e, n, "deviceId", &dev))) break;
		const rg_json *x = rg_json_get(e, "expiresAt");
		int64_t exp = 0;
		bool ok = x && ((x->type == RG_JSON_NUMBER && rg_json_int64(x, &exp)) ||
				(x->type == RG_JSON_STRING && parse_utc(x->s, &exp)));
		if (!ok) {
			rc = rg_failf(c, "setting codes: element %zu: expiresAt: want Unix seconds or a UTC time such as 2025-12-31T23:59:59Z", n);
			break;
		}
		if (!copy_str(cd, &cs[n].code) || !copy_str(dev, &cs[n].device)) {
			n++; /* free what was copied */
			rc = rg_fail(c, "setting codes: out of memory");
			break;
		}
		cs[n].expires_at = exp;
		sorted[n] = &cs[n];
	}
	if (rc == 0 && n > 1) {
		qsort(sorted, n, sizeof *sorted, by_code);
		for (size_t i = 1; i < n; i++) {
			if (by_code(&sorted[i - 1], &sorted[i]) == 0) {
				rc = rg_failf(c, "setting codes: elements %zu and %zu have the same code",
					      (size_t)(sorted[i - 1] - cs), (size_t)(sorted[i] - cs));
				break;
			}
		}
	}
	free(sorted);
	if (rc) {
		free_codes(cs, n);
		return -1;
	}
	*out = cs;
	*nout = n;
	return 0;
}

/* load_codes reads the codes once per instance: settings do not change while a module runs. */
static int load_codes(rg_call *c) {
	if (loaded) return 0;
	if (parse_codes(c, &codes, &ncodes) != 0) return -1;
	loaded = true;
	char count[24];
	snprintf(count, sizeof count, "%zu", ncodes);
	/* Operators should see every fresh start of the state (see README.md). */
	rg_log_attrs(RG_INFO, "activation codes loaded", "codes", count, NULL);
	return 0;
}

/* now_unix reads the wall clock, which wasi-libc takes from WASI's clock_time_get. */
static bool now_unix(int64_t *out) {
	time_t t = time(NULL);
	if (t == (time_t)-1) return false;
	*out = (int64_t)t;
	return true;
}

/* find returns the index of the code equal to s, or ncodes. Every code is compared in
 * constant time and the scan does not stop at a match, so timing does not tell how much of a
 * guess was right nor where the code is. */
static size_t find(rg_str s) {
	size_t match = ncodes;
	for (size_t i = 0; i < ncodes; i++) {
		size_t mask = (size_t)0 - (size_t)rg_str_eq_const(s, codes[i].code);
		match = (match & ~mask) | (i & mask);
	}
	return match;
}

static int refuse(rg_valid *out, const char *reason, rg_str device) {
	rg_log_attrs(RG_INFO, "activation code refused", "reason", reason, "deviceId", device.p, NULL);
	out->valid = RG_STR(RG_NO);
	return 0;
}

/* ---- PKI bridge -------------------------------------------------------------------------- */

static int init(rg_call *c, const rg_init_input *in) {
	(void)c;
	(void)in;
	return 0;
}
REALMGATE_PKI_INIT(init, init)

/* validate_identity redeems the client's activation code for its device: YES once, NO for
 * anything else. A refusal does not use the code up: a wrong device or a typo must not let
 * anyone burn another device's code. The code is marked used in the host's single-use store
 * last, after every other check; when the store cannot answer the call fails (the client may
 * retry) and the code stays unused. A code that expires more than 400 days ahead (the longest
 * the host keeps a key) is refused: single use could not be promised for its whole life. */
static int validate_identity(rg_call *c, const rg_identity_input *in, rg_valid *out) {
	if (load_codes(c) != 0) return -1;
	rg_str device = in->device_id;
	const rg_json *ac = rg_json_get(in->client_data, "activationCode");
	if (!ac || ac->type != RG_JSON_STRING || ac->s.n == 0) return refuse(out, "no activation code", device);
	if (device.n == 0) return refuse(out, "no device id", device);
	int64_t now;
	if (!now_unix(&now)) return rg_fail(c, "validateIdentity: the clock is not available");
	size_t i = find(ac->s);
	if (i == ncodes) return refuse(out, "unknown code", device);
	code *k = &codes[i];
	if (!rg_str_eq(device, k->device)) return refuse(out, "code of another device", device);
	if (now >= k->expires_at) return refuse(out, "expired", device);
	if (k->used) return refuse(out, "already used", device);
	int64_t ttl = k->expires_at - now + USED_MARGIN;
	if (ttl > RG_ONCE_MAX_TTL) return refuse(out, "expires more than 400 days ahead", device);
	int r = rg_once(k->code, ttl);
	if (r < 0) return rg_failf(c, "validateIdentity: the activation code cannot be marked used: %s", rg_once_error(r));
	k->used = true;
	if (r == RG_ONCE_USED) return refuse(out, "already used", device);
	rg_log_attrs(RG_INFO, "activation code redeemed", "deviceId", device.p, "userName", in->user_identity.user_name.p, NULL);
	out->valid = RG_STR(RG_YES);
	return 0;
}
REALMGATE_PKI_VALIDATE_IDENTITY(validateIdentity, validate_identity)

/* csr_requirements asks for the user name as common name. */
static int csr_requirements(rg_call *c, const rg_identity_input *in, rg_csr_requirements *out) {
	if (in->user_identity.user_name.n == 0) return rg_fail(c, "getCSRRequirements: userIdentity has no userName");
	out->common_name = in->user_identity.user_name;
	return 0;
}
REALMGATE_PKI_CSR_REQUIREMENTS(getCSRRequirements, csr_requirements)

/* validate_csr accepts a CSR whose common name is the user name (the host has checked its
 * signature already). */
static int validate_csr(rg_call *c, const rg_csr_input *in, rg_valid *out) {
	(void)c;
	bool ok = in->user_identity.user_name.n && rg_str_eq(in->csr_info.cn, in->user_identity.user_name);
	out->valid = ok ? RG_STR(RG_YES) : RG_STR(RG_NO);
	return 0;
}
REALMGATE_PKI_VALIDATE_CSR(validateCSR, validate_csr)
