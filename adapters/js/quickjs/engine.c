/*
 * engine.c: the JavaScript engine module of Realmgate's JavaScript adapters. QuickJS, embedded in
 * a C guest of the wasm ABI (sdk-wasm/c), runs an adapter's -impl.js under the same wazero
 * sandbox as any adapter module. The host hands the script over as data (the module's settings);
 * no JavaScript runs in the host process.
 *
 * The split: the WL API, the call dispatch and the per-session state are JavaScript, in the
 * prelude (prelude.js, compiled into this module by build.sh as rg_prelude). This file holds what
 * JavaScript cannot do itself, as a few natives that the prelude receives as the argument of its
 * outer function (they are never a global the adapter's script could reach):
 *
 *   settings          the module's configuration JSON (every setting, as text)
 *   host(op, json)    one call of a host function: "http", "pki", "invoke" or "sql"; the answer
 *                     as text, or the host's negative number when it gave none
 *   log(level, text)  one record in the daemon's log
 *   load(src, file)   compiles and runs the adapter's script as a global script
 *   globals()         a count of the properties ever added to the global object (the session
 *                     state's rescan of globals runs only when it changes)
 *
 * Procedures (the ABI's exports): load lists the script's functions, call runs one (the
 * prelude's dispatch), ping echoes its input without entering JavaScript. The input reaches the
 * prelude as a JavaScript value built in C from the SDK's parse (cheaper than JSON.parse).
 */
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quickjs.h"
#include "realmgate.h"
#include "scan.h" /* the C SDK's, from its src folder */

/* The SDK's imports (sdk-wasm/c/src/realmgate.c) and the two of contracts C2 and C3. */
#define RG_IMPORT(name) __attribute__((import_module("realmgate"), import_name(name)))
RG_IMPORT("config") int32_t rg__host_config(void);
RG_IMPORT("result") int32_t rg__host_result(char *p, uint32_t n);
RG_IMPORT("http") int32_t rg__host_http(const char *p, uint32_t n);
RG_IMPORT("pki") int32_t rg__host_pki(const char *p, uint32_t n);
RG_IMPORT("invoke") int32_t rg__host_invoke(const char *p, uint32_t n);
RG_IMPORT("sql") int32_t rg__host_sql(const char *p, uint32_t n);

extern const char rg_prelude[];
extern const size_t rg_prelude_len;

/* The engine's C stack, out of the module's shadow stack (build.sh: -z stack-size=1 MiB): a
 * runaway recursion is a RangeError well before it would reach the module's static data. */
#define JS_STACK_LIMIT (768 * 1024)

/* The JavaScript heap's default bound when the host passes none. */
#define DEFAULT_MEMORY_LIMIT (48u << 20)

/* MAX_MESSAGE bounds the message of an exception that fails a call. */
#define MAX_MESSAGE 2048

static JSRuntime *rt;
static JSContext *ctx;
static JSValue fn_load, fn_call, fn_finish; /* the prelude's procedures */
static JSAtom atom_toJSON, atom_length;      /* out_json's, made once: an atom from text is a hash */
static char *load_error;         /* why the script did not load, sticky for the instance */
static char script_file[256];

/* ---- reading the host's answers ------------------------------------------------------------ */

/* host_answer reads the pending result of a host function that returned n into a JS string; a
 * negative n (no answer) is returned as the number. */
static JSValue host_answer(JSContext *c, int32_t n) {
	if (n < 0) return JS_NewInt32(c, n);
	char *buf = malloc((size_t)n + 1);
	if (!buf) return JS_ThrowOutOfMemory(c);
	int32_t got = rg__host_result(buf, (uint32_t)n);
	if (got < 0) got = 0;
	if (got > n) got = n;
	JSValue s = JS_NewStringLen(c, buf, (size_t)got);
	free(buf);
	return s;
}

/* ---- natives -------------------------------------------------------------------------------- */

/* The SQL statements of WL.Server.createSQLStatement live here, in C, not in the prelude: a
 * script may replace the builtins the prelude's JavaScript uses (Array.prototype.push,
 * String.prototype.replace) before its first statement, but not this table. A statement is
 * created only while native_load runs the script's top level (script_loading), as Worklight
 * required, so that no text a call builds from its parameters reaches the database as SQL; a
 * call names a statement by its index, and the sql host function gets only texts from here.
 * native_host does not pass "sql" requests: native_sql writes them. */
#define SQL_MAX_STATEMENTS 4096
#define SQL_MAX_BYTES (1u << 20)
static bool script_loading, script_loaded;
static char *sql_texts[SQL_MAX_STATEMENTS];
static size_t sql_lens[SQL_MAX_STATEMENTS], sql_count, sql_bytes;
static JSValue native_sql_statement(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv);
static JSValue native_sql(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv);

static JSValue native_host(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv) {
	(void)this_val;
	if (argc < 2) return JS_ThrowTypeError(c, "host(op, json)");
	const char *op = JS_ToCString(c, argv[0]);
	if (!op) return JS_EXCEPTION;
	size_t n;
	const char *req = JS_ToCStringLen(c, &n, argv[1]);
	if (!req) {
		JS_FreeCString(c, op);
		return JS_EXCEPTION;
	}
	int32_t r;
	JSValue out = JS_UNDEFINED;
	if (strcmp(op, "http") == 0) {
		r = rg__host_http(req, (uint32_t)n);
	} else if (strcmp(op, "pki") == 0) {
		r = rg__host_pki(req, (uint32_t)n);
	} else if (strcmp(op, "invoke") == 0) {
		r = rg__host_invoke(req, (uint32_t)n);
	} else {
		out = JS_ThrowTypeError(c, "host: unknown operation %s", op);
	}
	JS_FreeCString(c, req);
	JS_FreeCString(c, op);
	if (JS_IsException(out)) return out;
	return host_answer(c, r);
}

static JSValue native_log(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv) {
	(void)this_val;
	int32_t level = 0;
	if (argc < 2 || JS_ToInt32(c, &level, argv[0])) return JS_EXCEPTION;
	size_t n;
	const char *msg = JS_ToCStringLen(c, &n, argv[1]);
	if (!msg) return JS_EXCEPTION;
	rg_log_str(level, (rg_str){msg, n});
	JS_FreeCString(c, msg);
	return JS_UNDEFINED;
}

/* rg_global_adds counts the properties ever added to the global object: build.sh has QuickJS's
 * add_property, where every property of an object begins, count those of the global object. */
unsigned int rg_global_adds;

/* native_globals returns rg_global_adds: the prelude looks for globals a call created (the
 * session state's rescan of globals) only when it changed, since a walk of the global object's
 * names costs more than the rest of a call. */
static JSValue native_globals(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv) {
	(void)this_val;
	(void)argc;
	(void)argv;
	return JS_NewFloat64(c, (double)rg_global_adds);
}

/* to_js builds the JavaScript value of a JSON value the SDK parsed (the call's input), as
 * JSON.parse would: members defined, never set, so that a "__proto__" member is data. */
static JSValue to_js(JSContext *c, const rg_json *v) {
	switch (v->type) {
	case RG_JSON_NULL: return JS_NULL;
	case RG_JSON_BOOL: return JS_NewBool(c, v->b);
	case RG_JSON_NUMBER: {
		char buf[64];
		size_t n = v->s.n < sizeof buf - 1 ? v->s.n : sizeof buf - 1;
		memcpy(buf, v->s.p, n);
		buf[n] = 0;
		return JS_NewFloat64(c, strtod(buf, NULL));
	}
	case RG_JSON_STRING: return JS_NewStringLen(c, v->s.p, v->s.n);
	case RG_JSON_ARRAY: {
		JSValue a = JS_NewArray(c);
		if (JS_IsException(a)) return a;
		uint32_t i = 0;
		for (const rg_json *e = v->child; e; e = e->next, i++) {
			JSValue x = to_js(c, e);
			if (JS_IsException(x) || JS_DefinePropertyValueUint32(c, a, i, x, JS_PROP_C_W_E) < 0) {
				JS_FreeValue(c, a);
				return JS_EXCEPTION;
			}
		}
		return a;
	}
	case RG_JSON_OBJECT: {
		JSValue o = JS_NewObject(c);
		if (JS_IsException(o)) return o;
		for (const rg_json *m = v->child; m; m = m->next) {
			JSValue x = to_js(c, m);
			if (JS_IsException(x)) {
				JS_FreeValue(c, o);
				return x;
			}
			JSAtom k = JS_NewAtomLen(c, m->key.p, m->key.n);
			int r = k == JS_ATOM_NULL ? -1 : JS_DefinePropertyValue(c, o, k, x, JS_PROP_C_W_E);
			if (k != JS_ATOM_NULL) JS_FreeAtom(c, k);
			else JS_FreeValue(c, x);
			if (r < 0) {
				JS_FreeValue(c, o);
				return JS_EXCEPTION;
			}
		}
		return o;
	}
	}
	return JS_NULL;
}

/* describe renders an exception as goja did, "Name: message at function (file:line:column)",
 * with the first frame in the adapter's script (else the first frame). The result is malloc'd. */
static char *describe(JSContext *c, JSValueConst exc) {
	const char *text = JS_ToCString(c, exc);
	if (!text) {
		JSValue e2 = JS_GetException(c); /* the exception of ToString itself */
		JS_FreeValue(c, e2);
	}
	const char *base = text ? text : "an exception that cannot be shown";
	char frame[512] = "";
	if (JS_IsError(c, exc)) {
		JSValue st = JS_GetPropertyStr(c, exc, "stack");
		const char *stack = JS_IsString(st) ? JS_ToCString(c, st) : NULL;
		if (stack) {
			const char *pick = NULL;
			char needle[270];
			size_t fl = strlen(script_file);
			if (fl > 0 && fl < sizeof needle - 4) {
				needle[0] = ' ';
				memcpy(needle + 1, script_file, fl);
				needle[fl + 1] = ':';
				needle[fl + 2] = 0;
				const char *p1 = strstr(stack, needle);
				needle[0] = '(';
				const char *p2 = strstr(stack, needle);
				const char *hit = p1 && (!p2 || p1 < p2) ? p1 : p2;
				if (hit) {
					pick = hit;
					while (pick > stack && pick[-1] != '\n') pick--;
				}
			}
			if (!pick) pick = stack;
			while (*pick == ' ') pick++;
			if (strncmp(pick, "at ", 3) == 0) pick += 3;
			size_t k = 0;
			while (pick[k] && pick[k] != '\n' && k < sizeof frame - 1) {
				frame[k] = pick[k];
				k++;
			}
			frame[k] = 0;
			JS_FreeCString(c, stack);
		}
		JS_FreeValue(c, st);
	}
	size_t bl = strlen(base), fl = strlen(frame);
	char *out = malloc(bl + fl + 5);
	if (out) {
		memcpy(out, base, bl);
		if (fl) {
			memcpy(out + bl, " at ", 4);
			memcpy(out + bl + 4, frame, fl);
		}
		out[bl + (fl ? fl + 4 : 0)] = 0;
		if (strlen(out) > MAX_MESSAGE) out[MAX_MESSAGE] = 0;
	}
	if (text) JS_FreeCString(c, text);
	return out;
}

/* with_prefix returns malloc'd prefix + msg, and frees msg. */
static char *with_prefix(const char *prefix, char *msg) {
	size_t a = strlen(prefix), b = msg ? strlen(msg) : 0;
	char *out = malloc(a + b + 1);
	if (out) {
		memcpy(out, prefix, a);
		if (msg) memcpy(out + a, msg, b);
		out[a + b] = 0;
	}
	free(msg);
	return out;
}

/* native_load compiles src as the global script file and runs it. A syntax error is thrown as
 * "file: SyntaxError: ... at file:line:column", a throw at the top level as "running file: ...". */
static JSValue native_load(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv) {
	(void)this_val;
	if (argc < 2) return JS_ThrowTypeError(c, "load(source, file)");
	if (script_loaded) return JS_ThrowTypeError(c, "load: the script is loaded once");
	script_loaded = true;
	size_t n;
	const char *file = JS_ToCString(c, argv[1]);
	if (!file) return JS_EXCEPTION;
	size_t fl = strlen(file);
	if (fl >= sizeof script_file) fl = sizeof script_file - 1;
	memcpy(script_file, file, fl);
	script_file[fl] = 0;
	const char *src = JS_ToCStringLen(c, &n, argv[0]);
	if (!src) {
		JS_FreeCString(c, file);
		return JS_EXCEPTION;
	}
	JSValue fn = JS_Eval(c, src, n, script_file, JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY);
	JS_FreeCString(c, src);
	JS_FreeCString(c, file);
	const char *prefix = NULL;
	JSValue r = JS_UNDEFINED;
	if (JS_IsException(fn)) {
		prefix = ": ";
	} else {
		script_loading = true;
		r = JS_EvalFunction(c, fn);
		script_loading = false;
		if (JS_IsException(r)) prefix = "running ";
	}
	if (!prefix) {
		JS_FreeValue(c, r);
		return JS_UNDEFINED;
	}
	JSValue exc = JS_GetException(c);
	char *msg = describe(c, exc);
	JS_FreeValue(c, exc);
	if (prefix[0] == ':') {
		char head[sizeof script_file + 3];
		strcpy(head, script_file);
		strcat(head, ": ");
		msg = with_prefix(head, msg);
	} else {
		char head[sizeof script_file + 10];
		strcpy(head, "running ");
		strcat(head, script_file);
		strcat(head, ": ");
		msg = with_prefix(head, msg);
	}
	/* A plain object, not an Error: the message is final and must not get another frame. */
	JSValue e = JS_NewObject(c);
	JS_SetPropertyStr(c, e, "realmgateLoadError", JS_NewString(c, msg ? msg : "the script does not load"));
	free(msg);
	return JS_Throw(c, e);
}

/* ---- the JavaScript heap -------------------------------------------------------------------- */

/* QuickJS's own allocator functions count nothing under wasm (its EMSCRIPTEN build has no
 * malloc_usable_size), so its memory limit would never be reached: these count what wasi-libc's
 * allocator really hands out, as QuickJS does on Linux. */
#define MALLOC_OVERHEAD 8

static size_t heap_usable_size(const void *p) { return p ? malloc_usable_size((void *)p) : 0; }

static void *heap_malloc(JSMallocState *s, size_t size) {
	if (s->malloc_size + size > s->malloc_limit) return NULL;
	void *p = malloc(size);
	if (!p) return NULL;
	s->malloc_count++;
	s->malloc_size += heap_usable_size(p) + MALLOC_OVERHEAD;
	return p;
}

static void heap_free(JSMallocState *s, void *p) {
	if (!p) return;
	s->malloc_count--;
	s->malloc_size -= heap_usable_size(p) + MALLOC_OVERHEAD;
	free(p);
}

static void *heap_realloc(JSMallocState *s, void *p, size_t size) {
	if (!p) return size ? heap_malloc(s, size) : NULL;
	size_t old = heap_usable_size(p);
	if (size == 0) {
		heap_free(s, p);
		return NULL;
	}
	if (s->malloc_size + size - old > s->malloc_limit) return NULL;
	void *q = realloc(p, size);
	if (!q) return NULL;
	s->malloc_size += heap_usable_size(q) - old;
	return q;
}

static const JSMallocFunctions heap_functions = {heap_malloc, heap_free, heap_realloc, heap_usable_size};

/* ---- the instance's engine ---------------------------------------------------------------- */

/* memory_limit reads realmgate.js.memory-limit from the configuration JSON text. */
static size_t memory_limit(const char *cfg, size_t n) {
	static const char key[] = "\"realmgate.js.memory-limit\":\"";
	const char *p = NULL;
	for (size_t i = 0; i + sizeof key - 1 <= n; i++) {
		if (memcmp(cfg + i, key, sizeof key - 1) == 0) {
			p = cfg + i + sizeof key - 1;
			break;
		}
	}
	if (!p) return DEFAULT_MEMORY_LIMIT;
	size_t v = 0;
	for (; p < cfg + n && *p >= '0' && *p <= '9'; p++) v = v * 10 + (size_t)(*p - '0');
	return v ? v : DEFAULT_MEMORY_LIMIT;
}

static int fail_exception(rg_call *c, const char *prefix, char **saved);

/* setup_failed fails the call with the pending exception and keeps its message as the
 * instance's load error. */
static int setup_failed(rg_call *c, const char *prefix) {
	char *saved = NULL;
	int r = fail_exception(c, prefix, &saved);
	if (!load_error) load_error = saved ? saved : strdup("the JavaScript engine did not start");
	else free(saved);
	return r;
}

/* engine_get sets up the runtime, the prelude and the adapter's script once per instance, at its
 * first call; a script that does not load fails every call of the instance the same way. */
static int engine_get(rg_call *c) {
	if (load_error) return rg_fail(c, load_error);
	if (ctx) return 0;
	int32_t n = rg__host_config();
	if (n < 0) return rg_fail(c, "the host passed no configuration");
	char *cfg = malloc((size_t)n + 1);
	if (!cfg) return rg_fail(c, "out of memory reading the configuration");
	rg__host_result(cfg, (uint32_t)n);
	cfg[n] = 0;

	rt = JS_NewRuntime2(&heap_functions, NULL);
	if (!rt) {
		free(cfg);
		return rg_fail(c, "out of memory starting the JavaScript engine");
	}
	JS_SetMemoryLimit(rt, memory_limit(cfg, (size_t)n));
	JS_SetMaxStackSize(rt, JS_STACK_LIMIT);
	ctx = JS_NewContext(rt);
	if (!ctx) {
		free(cfg);
		return rg_fail(c, "out of memory starting the JavaScript engine");
	}
	JSValue native = JS_NewObject(ctx);
	JS_SetPropertyStr(ctx, native, "settings", JS_NewStringLen(ctx, cfg, (size_t)n));
	free(cfg);
	JS_SetPropertyStr(ctx, native, "host", JS_NewCFunction(ctx, native_host, "host", 2));
	JS_SetPropertyStr(ctx, native, "log", JS_NewCFunction(ctx, native_log, "log", 2));
	JS_SetPropertyStr(ctx, native, "load", JS_NewCFunction(ctx, native_load, "load", 2));
	JS_SetPropertyStr(ctx, native, "globals", JS_NewCFunction(ctx, native_globals, "globals", 0));
	JS_SetPropertyStr(ctx, native, "sqlStatement", JS_NewCFunction(ctx, native_sql_statement, "sqlStatement", 1));
	JS_SetPropertyStr(ctx, native, "sql", JS_NewCFunction(ctx, native_sql, "sql", 3));

	JSValue outer = JS_Eval(ctx, rg_prelude, rg_prelude_len, "<realmgate>", JS_EVAL_TYPE_GLOBAL);
	if (JS_IsException(outer)) {
		JS_FreeValue(ctx, native);
		return setup_failed(c, "the engine's prelude: ");
	}
	JSValue procs = JS_Call(ctx, outer, JS_UNDEFINED, 1, (JSValueConst *)&native);
	JS_FreeValue(ctx, outer);
	JS_FreeValue(ctx, native);
	if (JS_IsException(procs)) return setup_failed(c, "");
	fn_load = JS_GetPropertyStr(ctx, procs, "load");
	fn_call = JS_GetPropertyStr(ctx, procs, "call");
	fn_finish = JS_GetPropertyStr(ctx, procs, "finish");
	atom_toJSON = JS_NewAtom(ctx, "toJSON");
	atom_length = JS_NewAtom(ctx, "length");
	JS_FreeValue(ctx, procs);
	return 0;
}

/* trap_out_of_memory ends a call whose JavaScript ran out of its heap as the sandbox ends one
 * that ran out of memory: a growth past the instance's cap, refused, then a trap. The host
 * reports adapter_out_of_memory and discards the instance. */
static void trap_out_of_memory(void) {
	size_t have = __builtin_wasm_memory_size(0);
	if (have < 65536) __builtin_wasm_memory_grow(0, 65536 - have);
	__builtin_trap();
}

static int is_out_of_memory(JSValueConst exc) {
	if (!JS_IsError(ctx, exc)) return 0;
	JSValue m = JS_GetPropertyStr(ctx, exc, "message");
	const char *s = JS_IsString(m) ? JS_ToCString(ctx, m) : NULL;
	int oom = s && strcmp(s, "out of memory") == 0;
	if (s) JS_FreeCString(ctx, s);
	JS_FreeValue(ctx, m);
	return oom;
}

/* fail_exception fails the call with the pending exception; saved, when not NULL, gets a copy
 * of the message. */
static int fail_exception(rg_call *c, const char *prefix, char **saved) {
	JSValue exc = JS_GetException(ctx);
	if (JS_IsObject(exc)) {
		JSValue le = JS_GetPropertyStr(ctx, exc, "realmgateLoadError");
		if (JS_IsString(le)) {
			const char *s = JS_ToCString(ctx, le);
			load_error = strdup(s ? s : "the script does not load");
			if (s) JS_FreeCString(ctx, s);
			JS_FreeValue(ctx, le);
			JS_FreeValue(ctx, exc);
			return rg_fail(c, load_error);
		}
		JS_FreeValue(ctx, le);
	}
	if (is_out_of_memory(exc)) trap_out_of_memory();
	char *msg = with_prefix(prefix, describe(ctx, exc));
	JS_FreeValue(ctx, exc);
	if (!msg) trap_out_of_memory();
	int r = rg_fail(c, msg);
	if (saved) *saved = msg;
	else free(msg);
	return r;
}

/* ---- the result's JSON --------------------------------------------------------------------- */

/* A call's result is most often plain data (objects, arrays, strings, numbers), and
 * JSON.stringify's quoting, a character at a time, costs a large share of a warm call. out_json
 * writes such a value as JSON.stringify would, straight into the output; anything else (a
 * toJSON method, a Date, a Proxy, a string with a lone surrogate, a BigInt, nesting deep enough
 * to be a cycle) makes it give up, and the prelude's JSON.stringify writes the whole result
 * (a getter met before it gave up then runs twice, as it would for two JSON.stringify calls). */

typedef struct outbuf {
	char *p;
	size_t n, cap;
	bool err;
} outbuf;

/* ob_put appends to the buffer, which starts at 16 KiB, more than most results need: growing it
 * copies it with wasi-libc's memcpy, a loop, and every loop iteration costs an exit to the host
 * under the sandbox's termination check. */
static void ob_put(outbuf *b, const char *p, size_t n) {
	if (b->err) return;
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		while (cap < b->n + n) cap *= 2;
		char *q = realloc(b->p, cap);
		if (!q) {
			b->err = true;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

#define OB_LIT(b, lit) ob_put((b), (lit), sizeof(lit) - 1)

/* ob_quote writes a UTF-8 string as a JSON string, escaping as JSON.stringify does. It fails
 * (returns 1) on a lone surrogate, which JSON.stringify writes as an escape. */
static int ob_quote(outbuf *b, const char *s, size_t n) {
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	ob_put(b, "\"", 1);
	size_t run = 0;
	/* One iteration per 32 plain bytes, per run of up to 8, or per byte that needs attention. */
	for (size_t i = 0; i < n; i++) {
		if (n - i >= 32 && rg__plain32(u + i, 0xED)) {
			i += 31;
			continue;
		}
		size_t k = rg__plain_prefix(u + i, n - i, 0xED);
		if (k == 8 || i + k >= n) {
			i += k - 1;
			continue;
		}
		i += k;
		unsigned char ch = u[i];
		if (ch >= 0x20 && ch != '"' && ch != '\\' && ch != 0xED) continue;
		if (ch == 0xED && i + 1 < n && u[i + 1] >= 0xA0) return 1; /* a surrogate on its own */
		if (ch == 0xED) continue;
		ob_put(b, s + run, i - run);
		run = i + 1;
		char e[6] = {'\\', 0, 0, 0, 0, 0};
		switch (ch) {
		case '"': e[1] = '"'; ob_put(b, e, 2); break;
		case '\\': e[1] = '\\'; ob_put(b, e, 2); break;
		case '\b': e[1] = 'b'; ob_put(b, e, 2); break;
		case '\f': e[1] = 'f'; ob_put(b, e, 2); break;
		case '\n': e[1] = 'n'; ob_put(b, e, 2); break;
		case '\r': e[1] = 'r'; ob_put(b, e, 2); break;
		case '\t': e[1] = 't'; ob_put(b, e, 2); break;
		default:
			e[1] = 'u';
			e[2] = '0';
			e[3] = '0';
			e[4] = hex[ch >> 4];
			e[5] = hex[ch & 15];
			ob_put(b, e, 6);
		}
	}
	ob_put(b, s + run, n - run);
	ob_put(b, "\"", 1);
	return 0;
}

static int ob_string(outbuf *b, JSValueConst v) {
	size_t n;
	const char *s = JS_ToCStringLen(ctx, &n, v);
	if (!s) return -1;
	int r = ob_quote(b, s, n);
	JS_FreeCString(ctx, s);
	return r;
}

/* skipped says whether JSON.stringify leaves v out (undefined, a function, a symbol). */
static bool skipped(JSValueConst v) {
	int tag = JS_VALUE_GET_TAG(v);
	return tag == JS_TAG_UNDEFINED || tag == JS_TAG_SYMBOL || (tag == JS_TAG_OBJECT && JS_IsFunction(ctx, v));
}

/* out_json writes v; 0 written, 1 give up (the caller falls back), -1 an exception. */
static int out_json(outbuf *b, JSValueConst v, int depth) {
	if (depth > 64) return 1;
	switch (JS_VALUE_GET_TAG(v)) {
	case JS_TAG_NULL: OB_LIT(b, "null"); return 0;
	case JS_TAG_BOOL: if (JS_VALUE_GET_BOOL(v)) OB_LIT(b, "true"); else OB_LIT(b, "false"); return 0;
	case JS_TAG_INT: {
		char buf[16];
		int k = snprintf(buf, sizeof buf, "%d", JS_VALUE_GET_INT(v));
		ob_put(b, buf, (size_t)k);
		return 0;
	}
	case JS_TAG_FLOAT64: {
		double d = JS_VALUE_GET_FLOAT64(v);
		if (d != d || d - d != 0) {
			OB_LIT(b, "null"); /* NaN, Infinity */
			return 0;
		}
		size_t n;
		const char *s = JS_ToCStringLen(ctx, &n, v); /* JavaScript's number format */
		if (!s) return -1;
		ob_put(b, s, n);
		JS_FreeCString(ctx, s);
		return 0;
	}
	case JS_TAG_STRING:
	case JS_TAG_STRING_ROPE:
		return ob_string(b, v);
	case JS_TAG_OBJECT: break;
	default: return 1;
	}
	JSClassID cls = JS_GetClassID(v);
	if (cls != 1 /* JS_CLASS_OBJECT */ && cls != 2 /* JS_CLASS_ARRAY */) return 1;
	JSValue tj = JS_GetProperty(ctx, v, atom_toJSON);
	if (JS_IsException(tj)) return -1;
	bool has_tj = !JS_IsUndefined(tj);
	JS_FreeValue(ctx, tj);
	if (has_tj) return 1;
	if (cls == 2) {
		int64_t len;
		JSValue lv = JS_GetProperty(ctx, v, atom_length);
		if (JS_IsException(lv) || JS_ToInt64(ctx, &len, lv)) {
			JS_FreeValue(ctx, lv);
			return -1;
		}
		JS_FreeValue(ctx, lv);
		if (len < 0 || len > 0xffffffffLL) return 1;
		OB_LIT(b, "[");
		for (uint32_t i = 0; i < (uint32_t)len; i++) {
			if (i > 0) OB_LIT(b, ",");
			JSValue e = JS_GetPropertyUint32(ctx, v, i);
			if (JS_IsException(e)) return -1;
			int r = 0;
			if (skipped(e)) OB_LIT(b, "null");
			else r = out_json(b, e, depth + 1);
			JS_FreeValue(ctx, e);
			if (r != 0) return r;
		}
		OB_LIT(b, "]");
		return 0;
	}
	JSPropertyEnum *tab;
	uint32_t len;
	if (JS_GetOwnPropertyNames(ctx, &tab, &len, v, JS_GPN_STRING_MASK | JS_GPN_ENUM_ONLY) < 0) return -1;
	int r = 0;
	bool first = true;
	OB_LIT(b, "{");
	for (uint32_t i = 0; i < len && r == 0; i++) {
		JSValue e = JS_GetProperty(ctx, v, tab[i].atom);
		if (JS_IsException(e)) {
			r = -1;
			break;
		}
		if (!skipped(e)) {
			if (!first) OB_LIT(b, ",");
			first = false;
			JSValue k = JS_AtomToString(ctx, tab[i].atom);
			r = JS_IsException(k) ? -1 : ob_string(b, k);
			JS_FreeValue(ctx, k);
			if (r == 0) {
				OB_LIT(b, ":");
				r = out_json(b, e, depth + 1);
			}
		}
		JS_FreeValue(ctx, e);
	}
	for (uint32_t i = 0; i < len; i++) JS_FreeAtom(ctx, tab[i].atom);
	js_free(ctx, tab);
	if (r == 0) OB_LIT(b, "}");
	return r;
}

/* write_answer writes the prelude's answer: a JSON text, or [result, state] for the output
 * {"result": JSON of result, "state": state}, which the prelude's finish writes when out_json
 * gives up. */
/* native_sql_statement(text) keeps text as a statement and returns its index; only while the
 * script's top level runs. */
static JSValue native_sql_statement(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv) {
	(void)this_val;
	if (!script_loading) {
		return JS_ThrowTypeError(c, "create statements at the script's top level, as Worklight required: a statement created during a "
		                            "call could carry the caller's data as SQL (pass values as parameters of invokeSQLStatement)");
	}
	if (argc < 1) return JS_ThrowTypeError(c, "no SQL text");
	size_t n;
	const char *text = JS_ToCStringLen(c, &n, argv[0]);
	if (!text) return JS_EXCEPTION;
	if (sql_count == SQL_MAX_STATEMENTS || n > SQL_MAX_BYTES - sql_bytes) {
		JS_FreeCString(c, text);
		return JS_ThrowRangeError(c, "more than %d statements or %u bytes of SQL text", SQL_MAX_STATEMENTS, SQL_MAX_BYTES);
	}
	char *copy = malloc(n + 1);
	if (!copy) {
		JS_FreeCString(c, text);
		return JS_ThrowOutOfMemory(c);
	}
	memcpy(copy, text, n + 1);
	JS_FreeCString(c, text);
	sql_texts[sql_count] = copy;
	sql_lens[sql_count] = n;
	sql_bytes += n;
	return JS_NewInt32(c, (int32_t)sql_count++);
}

/* native_sql(kind, key, parameters) asks the host's data source: kind 0 runs statement number
 * key of the table above, kind 1 the stored procedure named key; parameters is an array of
 * plain values, written here, so that nothing the script passes can change the request's
 * shape. It returns the host's answer as native_host does. */
static JSValue native_sql(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv) {
	(void)this_val;
	int32_t kind;
	if (argc < 3 || JS_ToInt32(c, &kind, argv[0])) return JS_ThrowTypeError(c, "sql(kind, key, parameters)");
	if (!JS_IsArray(c, argv[2])) return JS_ThrowTypeError(c, "the parameters are not an array");
	outbuf b = {0};
	OB_LIT(&b, "{\"parameters\":");
	int w = out_json(&b, argv[2], 1);
	if (w != 0) {
		free(b.p);
		return w < 0 ? JS_EXCEPTION : JS_ThrowTypeError(c, "the parameters are not plain JSON values (strings, numbers, booleans, null, arrays, objects)");
	}
	if (kind == 0) {
		int32_t i;
		if (!JS_IsNumber(argv[1]) || JS_ToInt32(c, &i, argv[1]) || i < 0 || (size_t)i >= sql_count) {
			free(b.p);
			return JS_ThrowTypeError(c, "preparedStatement is not a statement of WL.Server.createSQLStatement");
		}
		OB_LIT(&b, ",\"statement\":");
		w = ob_quote(&b, sql_texts[i], sql_lens[i]);
	} else {
		size_t n;
		const char *name = JS_ToCStringLen(c, &n, argv[1]);
		if (!name) {
			free(b.p);
			return JS_EXCEPTION;
		}
		OB_LIT(&b, ",\"procedure\":");
		w = ob_quote(&b, name, n);
		JS_FreeCString(c, name);
	}
	OB_LIT(&b, "}");
	if (w != 0 || b.err) {
		free(b.p);
		return b.err ? JS_ThrowOutOfMemory(c) : JS_ThrowTypeError(c, "the SQL text or procedure name holds a lone surrogate");
	}
	int32_t r = rg__host_sql(b.p, (uint32_t)b.n);
	free(b.p);
	return host_answer(c, r);
}

static int write_answer(rg_call *c, JSValue r) {
	if (JS_IsString(r)) {
		size_t n;
		const char *s = JS_ToCStringLen(ctx, &n, r);
		JS_FreeValue(ctx, r);
		if (!s) return fail_exception(c, "", NULL);
		rg_w_raw(rg_out(c), (rg_str){s, n});
		JS_FreeCString(ctx, s);
		return 0;
	}
	JSValue res = JS_GetPropertyUint32(ctx, r, 0);
	JSValue st = JS_GetPropertyUint32(ctx, r, 1);
	outbuf b = {0};
	OB_LIT(&b, "{\"result\":");
	int fast = out_json(&b, res, 0);
	if (fast == 0) {
		size_t n;
		const char *s = JS_ToCStringLen(ctx, &n, st);
		if (!s) {
			fast = -1;
		} else {
			OB_LIT(&b, ",\"state\":");
			ob_put(&b, s, n);
			OB_LIT(&b, "}");
			JS_FreeCString(ctx, s);
		}
	}
	JS_FreeValue(ctx, res);
	JS_FreeValue(ctx, st);
	if (fast == 0 && !b.err) {
		rg_w_raw(rg_out(c), (rg_str){b.p, b.n});
		free(b.p);
		JS_FreeValue(ctx, r);
		return 0;
	}
	free(b.p);
	if (fast < 0) {
		/* The exception (a getter that threw, memory) is the prelude's to report. */
		JSValue e = JS_GetException(ctx);
		JS_FreeValue(ctx, e);
	}
	JSValue text = JS_Call(ctx, fn_finish, JS_UNDEFINED, 1, (JSValueConst *)&r);
	JS_FreeValue(ctx, r);
	if (JS_IsException(text)) return fail_exception(c, "", NULL);
	return write_answer(c, text);
}

/* run calls one of the prelude's procedures with the input as a JavaScript value and writes its
 * answer (a JSON text) as the output. */
static int run(rg_call *c, JSValueConst fn, const rg_json *in) {
	if (engine_get(c) != 0) return -1;
	JS_UpdateStackTop(rt);
	JSValue arg = to_js(ctx, in);
	if (JS_IsException(arg)) return fail_exception(c, "", NULL);
	JSValue r = JS_Call(ctx, fn, JS_UNDEFINED, 1, (JSValueConst *)&arg);
	JS_FreeValue(ctx, arg);
	if (JS_IsException(r)) return fail_exception(c, "", NULL);
	return write_answer(c, r);
}

static int proc_load(rg_call *c, const rg_json *in) {
	if (engine_get(c) != 0) return -1;
	return run(c, fn_load, in);
}

static int proc_call(rg_call *c, const rg_json *in) {
	if (engine_get(c) != 0) return -1;
	return run(c, fn_call, in);
}

/* ping returns its input without entering JavaScript: the baseline of benchmarks. */
static int proc_ping(rg_call *c, const rg_json *in) {
	(void)in;
	rg_w_raw(rg_out(c), rg_input(c));
	return 0;
}

REALMGATE_PROCEDURE(load, proc_load)
REALMGATE_PROCEDURE(call, proc_call)
REALMGATE_PROCEDURE(ping, proc_ping)
