/*
 * json.c: the SDK's JSON reader and writer.
 *
 * Written here rather than vendored: adapters only need a DOM for inputs of at most the host's
 * MaxInput bytes and a streaming writer, and a few hundred lines we can bound (depth, memory,
 * no reads past the end) and fuzz through the wasm module (sdk-wasm/sdktest FuzzCJSON) are
 * easier to trust than a general library with its own allocator and number handling. Numbers
 * keep their JSON text, so nothing is lost to floating point on the way through.
 */
#include <string.h>

#include "internal.h"
#include "scan.h"

/* ---- parser ------------------------------------------------------------------------------ */

typedef struct parser {
	rg_call *c;
	const unsigned char *p, *end;
	int depth;
	const char *err;
} parser;

static void skip_ws(parser *ps) {
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static rg_json *node(parser *ps, rg_type t) {
	rg_json *v = rg_alloc(ps->c, sizeof *v);
	if (!v) {
		ps->err = "out of memory";
		return NULL;
	}
	v->type = t;
	v->s = (rg_str){"", 0};
	v->key = (rg_str){"", 0};
	return v;
}

static int hexval(unsigned char ch) {
	if (ch >= '0' && ch <= '9') return ch - '0';
	if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
	return -1;
}

static bool hex4(const unsigned char *p, const unsigned char *end, uint32_t *out) {
	if (end - p < 4) return false;
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(p[i]);
		if (h < 0) return false;
		v = v << 4 | (uint32_t)h;
	}
	*out = v;
	return true;
}

size_t rg__utf8_put(char *dst, uint32_t r) {
	if (r < 0x80) {
		dst[0] = (char)r;
		return 1;
	}
	if (r < 0x800) {
		dst[0] = (char)(0xC0 | r >> 6);
		dst[1] = (char)(0x80 | (r & 0x3F));
		return 2;
	}
	if (r < 0x10000) {
		dst[0] = (char)(0xE0 | r >> 12);
		dst[1] = (char)(0x80 | (r >> 6 & 0x3F));
		dst[2] = (char)(0x80 | (r & 0x3F));
		return 3;
	}
	dst[0] = (char)(0xF0 | r >> 18);
	dst[1] = (char)(0x80 | (r >> 12 & 0x3F));
	dst[2] = (char)(0x80 | (r >> 6 & 0x3F));
	dst[3] = (char)(0x80 | (r & 0x3F));
	return 4;
}

/* parse_string reads a string starting at the opening quote. Escapes are decoded; a lone
 * surrogate becomes U+FFFD, as in Go. Raw bytes are kept as they are (the writer repairs
 * invalid UTF-8 on the way out). */
static bool parse_string(parser *ps, rg_str *out) {
	const unsigned char *p = ps->p + 1, *start = p;
	size_t esc = 0;
	/* One iteration per 32 plain bytes, per run of up to 8, or per special byte: a short
	 * string, such as most keys, takes one. */
	for (;;) {
		size_t avail = (size_t)(ps->end - p);
		if (avail >= 32 && rg__plain32(p, '"')) {
			p += 32;
			continue;
		}
		size_t k = rg__plain_prefix(p, avail, '"');
		p += k;
		if (k == 8) continue;
		if (p >= ps->end) {
			ps->err = "unterminated string";
			return false;
		}
		if (*p == '"') break;
		if (*p < 0x20) {
			ps->err = "control character in string";
			return false;
		}
		if (*p == '\\') {
			esc++;
			p++;
			if (p >= ps->end) {
				ps->err = "unterminated string";
				return false;
			}
		}
		p++;
	}
	size_t raw = (size_t)(p - start);
	/* Decoded text is never longer than the raw text: \uXXXX (6 bytes) gives at most 3, and
	 * a surrogate pair (12 bytes) gives 4. */
	char *dst = rg_alloc(ps->c, raw + 1);
	if (!dst) {
		ps->err = "out of memory";
		return false;
	}
	if (esc == 0) {
		memcpy(dst, start, raw);
		*out = (rg_str){dst, raw};
		ps->p = p + 1;
		return true;
	}
	size_t n = 0;
	for (const unsigned char *q = start; q < p;) {
		if (*q != '\\') {
			dst[n++] = (char)*q++;
			continue;
		}
		q++;
		unsigned char e = *q++;
		switch (e) {
		case '"': dst[n++] = '"'; break;
		case '\\': dst[n++] = '\\'; break;
		case '/': dst[n++] = '/'; break;
		case 'b': dst[n++] = '\b'; break;
		case 'f': dst[n++] = '\f'; break;
		case 'n': dst[n++] = '\n'; break;
		case 'r': dst[n++] = '\r'; break;
		case 't': dst[n++] = '\t'; break;
		case 'u': {
			uint32_t r;
			if (!hex4(q, p, &r)) {
				ps->err = "bad \\u escape";
				return false;
			}
			q += 4;
			if (r >= 0xD800 && r < 0xDC00) {
				uint32_t lo;
				if (p - q >= 6 && q[0] == '\\' && q[1] == 'u' && hex4(q + 2, p, &lo) &&
				    lo >= 0xDC00 && lo < 0xE000) {
					r = 0x10000 + ((r - 0xD800) << 10) + (lo - 0xDC00);
					q += 6;
				} else {
					r = 0xFFFD;
				}
			} else if (r >= 0xDC00 && r < 0xE000) {
				r = 0xFFFD;
			}
			n += rg__utf8_put(dst + n, r);
			break;
		}
		default: ps->err = "bad escape in string"; return false;
		}
	}
	dst[n] = 0;
	*out = (rg_str){dst, n};
	ps->p = p + 1;
	return true;
}

static bool is_digit(unsigned char ch) { return ch >= '0' && ch <= '9'; }

static rg_json *parse_number(parser *ps) {
	const unsigned char *p = ps->p, *start = p;
	if (p < ps->end && *p == '-') p++;
	if (p >= ps->end || !is_digit(*p)) goto bad;
	if (*p == '0') {
		p++;
	} else {
		while (p < ps->end && is_digit(*p)) p++;
	}
	if (p < ps->end && *p == '.') {
		p++;
		if (p >= ps->end || !is_digit(*p)) goto bad;
		while (p < ps->end && is_digit(*p)) p++;
	}
	if (p < ps->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < ps->end && (*p == '+' || *p == '-')) p++;
		if (p >= ps->end || !is_digit(*p)) goto bad;
		while (p < ps->end && is_digit(*p)) p++;
	}
	rg_json *v = node(ps, RG_JSON_NUMBER);
	if (!v) return NULL;
	size_t n = (size_t)(p - start);
	char *dst = rg_alloc(ps->c, n + 1);
	if (!dst) {
		ps->err = "out of memory";
		return NULL;
	}
	memcpy(dst, start, n);
	v->s = (rg_str){dst, n};
	ps->p = p;
	return v;
bad:
	ps->err = "bad number";
	return NULL;
}

static bool literal(parser *ps, const char *word) {
	size_t n = strlen(word);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) {
		ps->err = "unexpected character";
		return false;
	}
	ps->p += n;
	return true;
}

static void append(rg_json *parent, rg_json *v) {
	if (parent->last)
		parent->last->next = v;
	else
		parent->child = v;
	parent->last = v;
	parent->len++;
}

static rg_json *parse_value(parser *ps);

static rg_json *parse_container(parser *ps, bool obj) {
	if (++ps->depth > RG_JSON_MAX_DEPTH) {
		ps->err = "nesting too deep";
		return NULL;
	}
	rg_json *v = node(ps, obj ? RG_JSON_OBJECT : RG_JSON_ARRAY);
	if (!v) return NULL;
	ps->p++; /* [ or { */
	skip_ws(ps);
	unsigned char close = obj ? '}' : ']';
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		ps->depth--;
		return v;
	}
	for (;;) {
		rg_str key = {"", 0};
		if (obj) {
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != '"') {
				ps->err = "want a member name";
				return NULL;
			}
			if (!parse_string(ps, &key)) return NULL;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				ps->err = "want ':'";
				return NULL;
			}
			ps->p++;
		}
		rg_json *el = parse_value(ps);
		if (!el) return NULL;
		el->key = key;
		append(v, el);
		skip_ws(ps);
		if (ps->p >= ps->end) {
			ps->err = obj ? "unterminated object" : "unterminated array";
			return NULL;
		}
		if (*ps->p == ',') {
			ps->p++;
			continue;
		}
		if (*ps->p == close) {
			ps->p++;
			ps->depth--;
			return v;
		}
		ps->err = obj ? "want ',' or '}'" : "want ',' or ']'";
		return NULL;
	}
}

static rg_json *parse_value(parser *ps) {
	skip_ws(ps);
	if (ps->p >= ps->end) {
		ps->err = "unexpected end of input";
		return NULL;
	}
	rg_json *v;
	switch (*ps->p) {
	case '{': return parse_container(ps, true);
	case '[': return parse_container(ps, false);
	case '"':
		v = node(ps, RG_JSON_STRING);
		if (!v || !parse_string(ps, &v->s)) return NULL;
		return v;
	case 't':
		if (!literal(ps, "true")) return NULL;
		v = node(ps, RG_JSON_BOOL);
		if (v) v->b = true;
		return v;
	case 'f':
		if (!literal(ps, "false")) return NULL;
		return node(ps, RG_JSON_BOOL);
	case 'n':
		if (!literal(ps, "null")) return NULL;
		return node(ps, RG_JSON_NULL);
	default:
		if (*ps->p == '-' || is_digit(*ps->p)) return parse_number(ps);
		ps->err = "unexpected character";
		return NULL;
	}
}

rg_json *rg_json_parse(rg_call *c, const char *p, size_t n, const char **err) {
	parser ps = {c, (const unsigned char *)p, (const unsigned char *)p + n, 0, NULL};
	rg_json *v = parse_value(&ps);
	if (v) {
		skip_ws(&ps);
		if (ps.p != ps.end) {
			ps.err = "data after the value";
			v = NULL;
		}
	}
	if (!v && err) *err = ps.err ? ps.err : "invalid JSON";
	return v;
}

const rg_json *rg_json_get(const rg_json *obj, const char *key) {
	if (!obj || obj->type != RG_JSON_OBJECT) return NULL;
	const rg_json *found = NULL;
	for (const rg_json *m = obj->child; m; m = m->next)
		if (rg_str_eq_c(m->key, key)) found = m;
	return found;
}

rg_str rg_json_get_str(const rg_json *obj, const char *key) {
	const rg_json *v = rg_json_get(obj, key);
	if (v && v->type == RG_JSON_STRING) return v->s;
	return (rg_str){"", 0};
}

bool rg_json_int64(const rg_json *v, int64_t *out) {
	if (!v || v->type != RG_JSON_NUMBER || v->s.n == 0) return false;
	const char *p = v->s.p, *end = p + v->s.n;
	bool neg = *p == '-';
	if (neg) p++;
	if (p == end) return false;
	uint64_t acc = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9') return false;
		uint64_t d = (uint64_t)(*p - '0');
		if (acc > (limit - d) / 10) return false;
		acc = acc * 10 + d;
	}
	*out = neg ? (int64_t)(0 - acc) : (int64_t)acc;
	return true;
}

rg_json *rg_json_new(rg_call *c, rg_type t) {
	rg_json *v = rg_alloc(c, sizeof *v);
	if (!v) return NULL;
	v->type = t;
	v->s = (rg_str){"", 0};
	v->key = (rg_str){"", 0};
	return v;
}

rg_json *rg_json_new_str(rg_call *c, rg_str s) {
	rg_json *v = rg_json_new(c, RG_JSON_STRING);
	if (v) v->s = s;
	return v;
}

rg_json *rg_json_new_int(rg_call *c, int64_t x) {
	rg_json *v = rg_json_new(c, RG_JSON_NUMBER);
	char *buf = rg_alloc(c, 24);
	if (!v || !buf) return NULL;
	char tmp[24];
	size_t n = 0;
	uint64_t u = x < 0 ? 0 - (uint64_t)x : (uint64_t)x;
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	size_t k = 0;
	if (x < 0) buf[k++] = '-';
	while (n) buf[k++] = tmp[--n];
	v->s = (rg_str){buf, k};
	return v;
}

int rg_json_add(rg_call *c, rg_json *container, const char *key, rg_json *val) {
	(void)c;
	if (!container || !val) return -1;
	if (container->type == RG_JSON_OBJECT) {
		if (!key) return -1;
		val->key = rg_cstr(key);
	} else if (container->type != RG_JSON_ARRAY) {
		return -1;
	}
	val->next = NULL;
	append(container, val);
	return 0;
}

/* ---- writer ------------------------------------------------------------------------------ */

static void put(rg_buf *w, const void *p, size_t n) {
	if (w->err) return;
	if (n > (size_t)-1 - w->n - 1) {
		w->err = true;
		return;
	}
	if (w->n + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		while (cap < w->n + n + 1) {
			if (cap > (size_t)-1 / 2) {
				w->err = true;
				return;
			}
			cap *= 2;
		}
		char *np = rg__realloc(w->p, cap);
		if (!np) {
			w->err = true;
			return;
		}
		w->p = np;
		w->cap = cap;
	}
	memcpy(w->p + w->n, p, n);
	w->n += n;
	w->p[w->n] = 0;
}

static void putc_(rg_buf *w, char ch) { put(w, &ch, 1); }

/* before_value places the comma before a value and checks that a value may go here. */
static void before_value(rg_buf *w) {
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth > 0 && w->is_obj[w->depth]) {
		w->err = true; /* a value in an object needs a key first */
		return;
	}
	if (w->depth == 0 && w->started[0]) {
		w->err = true; /* one top-level value */
		return;
	}
	if (w->started[w->depth]) putc_(w, ',');
	w->started[w->depth] = 1;
}

static void open_(rg_buf *w, bool obj) {
	before_value(w);
	if (w->depth >= RG_JSON_MAX_DEPTH) {
		w->err = true;
		return;
	}
	putc_(w, obj ? '{' : '[');
	w->depth++;
	w->started[w->depth] = 0;
	w->is_obj[w->depth] = obj;
}

static void close_(rg_buf *w, bool obj) {
	if (w->depth == 0 || w->is_obj[w->depth] != obj || w->after_key) {
		w->err = true;
		return;
	}
	w->depth--;
	putc_(w, obj ? '}' : ']');
}

void rg_w_obj_begin(rg_buf *w) { open_(w, true); }
void rg_w_obj_end(rg_buf *w) { close_(w, true); }
void rg_w_arr_begin(rg_buf *w) { open_(w, false); }
void rg_w_arr_end(rg_buf *w) { close_(w, false); }

size_t rg__utf8_len(const unsigned char *p, size_t n) {
	unsigned char c0 = p[0];
	size_t need;
	uint32_t min, r;
	if (c0 < 0x80) return 1;
	if (c0 >= 0xC2 && c0 <= 0xDF) {
		need = 2;
		min = 0x80;
		r = c0 & 0x1F;
	} else if (c0 >= 0xE0 && c0 <= 0xEF) {
		need = 3;
		min = 0x800;
		r = c0 & 0x0F;
	} else if (c0 >= 0xF0 && c0 <= 0xF4) {
		need = 4;
		min = 0x10000;
		r = c0 & 0x07;
	} else {
		return 0;
	}
	if (n < need) return 0;
	for (size_t i = 1; i < need; i++) {
		if ((p[i] & 0xC0) != 0x80) return 0;
		r = r << 6 | (p[i] & 0x3F);
	}
	if (r < min || r > 0x10FFFF || (r >= 0xD800 && r < 0xE000)) return 0;
	return need;
}

static void put_string(rg_buf *w, rg_str s) {
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s.p, *end = p + s.n;
	putc_(w, '"');
	const unsigned char *run = p;
	while (p < end) {
		unsigned char ch = *p;
		if (ch >= 0x20 && ch != '"' && ch != '\\' && ch < 0x80) {
			p++;
			continue;
		}
		if (ch >= 0x80) {
			size_t k = rg__utf8_len(p, (size_t)(end - p));
			if (k) {
				p += k;
				continue;
			}
		}
		put(w, run, (size_t)(p - run));
		switch (ch) {
		case '"': put(w, "\\\"", 2); break;
		case '\\': put(w, "\\\\", 2); break;
		case '\n': put(w, "\\n", 2); break;
		case '\r': put(w, "\\r", 2); break;
		case '\t': put(w, "\\t", 2); break;
		default:
			if (ch < 0x20) {
				char e[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
				put(w, e, 6);
			} else {
				put(w, "\xEF\xBF\xBD", 3); /* invalid UTF-8 byte */
			}
		}
		p++;
		run = p;
	}
	put(w, run, (size_t)(p - run));
	putc_(w, '"');
}

void rg_w_key_str(rg_buf *w, rg_str key) {
	if (w->depth == 0 || !w->is_obj[w->depth] || w->after_key) {
		w->err = true;
		return;
	}
	if (w->started[w->depth]) putc_(w, ',');
	w->started[w->depth] = 1;
	put_string(w, key);
	putc_(w, ':');
	w->after_key = true;
}

void rg_w_key(rg_buf *w, const char *key) { rg_w_key_str(w, rg_cstr(key)); }

void rg_w_str(rg_buf *w, rg_str s) {
	before_value(w);
	put_string(w, s);
}

void rg_w_cstr(rg_buf *w, const char *s) { rg_w_str(w, rg_cstr(s)); }

void rg_w_int(rg_buf *w, int64_t v) {
	char tmp[24];
	size_t n = 0;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0) tmp[n++] = '-';
	char out[24];
	for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
	before_value(w);
	put(w, out, n);
}

void rg_w_bool(rg_buf *w, bool v) {
	before_value(w);
	if (v)
		put(w, "true", 4);
	else
		put(w, "false", 5);
}

void rg_w_null(rg_buf *w) {
	before_value(w);
	put(w, "null", 4);
}

void rg_w_raw(rg_buf *w, rg_str json) {
	before_value(w);
	put(w, json.p, json.n);
}

/* rg_w_value writes a tree; its depth is bounded by the writer's own depth limit, and trees
 * come from the parser or from rg_json_add, so the recursion is bounded too. */
void rg_w_value(rg_buf *w, const rg_json *v) {
	if (w->err) return;
	if (!v) {
		rg_w_null(w);
		return;
	}
	switch (v->type) {
	case RG_JSON_NULL: rg_w_null(w); return;
	case RG_JSON_BOOL: rg_w_bool(w, v->b); return;
	case RG_JSON_NUMBER:
		before_value(w);
		put(w, v->s.p, v->s.n);
		return;
	case RG_JSON_STRING: rg_w_str(w, v->s); return;
	case RG_JSON_ARRAY:
		rg_w_arr_begin(w);
		for (const rg_json *e = v->child; e && !w->err; e = e->next) rg_w_value(w, e);
		rg_w_arr_end(w);
		return;
	case RG_JSON_OBJECT:
		rg_w_obj_begin(w);
		for (const rg_json *m = v->child; m && !w->err; m = m->next) {
			rg_w_key_str(w, m->key);
			rg_w_value(w, m);
		}
		rg_w_obj_end(w);
		return;
	}
	w->err = true;
}

void rg_buf_reset(rg_buf *w) {
	char *p = w->p;
	size_t cap = w->cap;
	memset(w, 0, sizeof *w);
	w->p = p;
	w->cap = cap;
	if (p) p[0] = 0;
}

void rg_buf_release(rg_buf *w) {
	rg__free(w->p);
	memset(w, 0, sizeof *w);
}
