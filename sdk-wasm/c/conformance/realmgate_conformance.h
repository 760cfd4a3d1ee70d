/*
 * realmgate_conformance.h: the four procedures every adapter of the host's conformance suite
 * implements (adapters/conformance), for adapters written with the C SDK:
 *
 *   echo    returns its input byte for byte
 *   fail    input {"message": string}: fails the call with that message
 *   config  returns the adapter's configuration (its settings and "adapter": its name), the
 *           values of the settings rg_conformance_redacted names replaced by "<redacted>"
 *   log     input {"msg": string, "level": "debug"|"info"|"warn"|"error"} (no level: info):
 *           writes one record through the host's log; output {"logged": true}
 *
 * Compiling realmgate_conformance.c into a module exports them (realmgate_proc_echo, ...), so
 * that the suite and `hostd adapter test` can check the module; this header is needed only to
 * name settings for config to redact, or to call the handlers from procedures of one's own.
 */
#ifndef REALMGATE_CONFORMANCE_H
#define REALMGATE_CONFORMANCE_H

#include <realmgate.h>

#ifdef __cplusplus
extern "C" {
#endif

/* rg_conformance_redacted lists, NULL-terminated, the settings whose values config answers as
 * "<redacted>": config answers whoever may call it, so an adapter that keeps secrets in its
 * settings defines it,
 *
 *   const char *rg_conformance_redacted[] = {"codes", NULL};
 *
 * Without a definition (a weak empty list stands in) config answers every setting. The list
 * is not const so that the compiler reads the adapter's rather than folding the weak one. */
extern const char *rg_conformance_redacted[];

/* The handlers of the four procedures. */
int rg_conformance_echo(rg_call *c, const rg_json *in);
int rg_conformance_fail(rg_call *c, const rg_json *in);
int rg_conformance_config(rg_call *c, const rg_json *in);
int rg_conformance_log(rg_call *c, const rg_json *in);

#ifdef __cplusplus
}
#endif

#endif
