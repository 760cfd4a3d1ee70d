/*
 * realmgate_conformance.c: the four conformance procedures (see realmgate_conformance.h).
 * Compiling this file into a module exports echo, fail, config and log.
 */
#include "realmgate_conformance.h"

#include <stddef.h>

/* The empty list, unless the adapter defines its own. */
__attribute__((weak)) const char *rg_conformance_redacted[] = {NULL};

/* echo returns its input byte for byte (whitespace included), so it writes the raw input
 * rather than the parsed value. */
int rg_conformance_echo(rg_call *c, const rg_json *in) {
	(void)in;
	rg_w_raw(rg_out(c), rg_input(c));
	return 0;
}
REALMGATE_PROCEDURE(echo, rg_conformance_echo)

/* fail fails with the input's message. */
int rg_conformance_fail(rg_call *c, const rg_json *in) {
	const rg_json *m = rg_json_get(in, "message");
	if (!m || m->type != RG_JSON_STRING) return rg_fail(c, "fail: want {\"message\": string}");
	return rg_fail_str(c, m->s);
}
REALMGATE_PROCEDURE(fail, rg_conformance_fail)

static bool redacted(rg_str key) {
	for (const char **r = rg_conformance_redacted; *r; r++) {
		if (rg_str_eq_c(key, *r)) return true;
	}
	return false;
}

/* config returns the adapter's configuration, the redacted settings' values replaced. */
int rg_conformance_config(rg_call *c, const rg_json *in) {
	(void)in;
	const rg_json *cfg = rg_config(c);
	if (!cfg) return -1;
	if (!rg_conformance_redacted[0]) {
		rg_w_value(rg_out(c), cfg);
		return 0;
	}
	rg_buf *w = rg_out(c);
	rg_w_obj_begin(w);
	for (const rg_json *m = cfg->child; m; m = m->next) {
		rg_w_key_str(w, m->key);
		if (redacted(m->key)) rg_w_cstr(w, "<redacted>");
		else rg_w_value(w, m);
	}
	rg_w_obj_end(w);
	return 0;
}
REALMGATE_PROCEDURE(config, rg_conformance_config)

/* log writes one record at the input's level. */
int rg_conformance_log(rg_call *c, const rg_json *in) {
	rg_str level = rg_json_get_str(in, "level");
	int l;
	if (rg_str_eq_c(level, "debug")) l = RG_DEBUG;
	else if (rg_str_eq_c(level, "info") || level.n == 0) l = RG_INFO;
	else if (rg_str_eq_c(level, "warn")) l = RG_WARN;
	else if (rg_str_eq_c(level, "error")) l = RG_ERROR;
	else return rg_fail(c, "log: level must be debug, info, warn or error");
	rg_log_str(l, rg_json_get_str(in, "msg"));
	rg_buf *w = rg_out(c);
	rg_w_obj_begin(w);
	rg_w_key(w, "logged");
	rg_w_bool(w, true);
	rg_w_obj_end(w);
	return 0;
}
REALMGATE_PROCEDURE(log, rg_conformance_log)
