// json.ts: the SDK's JSON reader and writer.
//
// Hand-written rather than taken from npm (json-as): adapters need a small DOM for inputs the
// host bounds by MaxInput and a streaming writer, not code generated per class by a compiler
// transform. Parsing works on the UTF-8 bytes the host wrote (no UTF-16 round trip of the whole
// input), depth is bounded by MAX_DEPTH, nothing is read past the end, and numbers keep their
// JSON text so nothing is lost to floating point. The parser is fuzzed through the compiled
// module against Go's encoding/json (sdk-wasm/sdktest FuzzASJSON).

/** MAX_DEPTH bounds the nesting the parser and the writer accept. */
export const MAX_DEPTH: i32 = 128;

export enum Kind {
  Null = 0,
  Bool = 1,
  Number = 2,
  String = 3,
  Array = 4,
  Object = 5,
}

/** Value is one JSON value. Objects keep their members in order; get() returns the last of
 * repeated members, as Go does. */
export class Value {
  kind: Kind = Kind.Null;
  bool: bool = false;
  /** A string's text, or a number's JSON text. */
  text: string = "";
  /** Elements of an array, values of an object's members. */
  items: Array<Value> | null = null;
  /** Names of an object's members. */
  keys: Array<string> | null = null;

  static newNull(): Value {
    return new Value();
  }
  static newBool(b: bool): Value {
    const v = new Value();
    v.kind = Kind.Bool;
    v.bool = b;
    return v;
  }
  static newString(s: string): Value {
    const v = new Value();
    v.kind = Kind.String;
    v.text = s;
    return v;
  }
  static newInt(i: i64): Value {
    const v = new Value();
    v.kind = Kind.Number;
    v.text = i.toString();
    return v;
  }
  static newArray(): Value {
    const v = new Value();
    v.kind = Kind.Array;
    v.items = new Array<Value>();
    return v;
  }
  static newObject(): Value {
    const v = new Value();
    v.kind = Kind.Object;
    v.items = new Array<Value>();
    v.keys = new Array<string>();
    return v;
  }

  get length(): i32 {
    const items = this.items;
    return items === null ? 0 : items.length;
  }

  /** get returns the member key of an object (the last when repeated), or null. */
  get(key: string): Value | null {
    if (this.kind != Kind.Object) return null;
    const keys = this.keys!;
    for (let i = keys.length - 1; i >= 0; i--) {
      if (keys[i] == key) return this.items![i];
    }
    return null;
  }

  /** getString returns the string member key, or "". */
  getString(key: string): string {
    const v = this.get(key);
    if (v === null || v.kind != Kind.String) return "";
    return v.text;
  }

  /** set appends a member to an object. */
  set(key: string, v: Value): Value {
    if (this.kind == Kind.Object) {
      this.keys!.push(key);
      this.items!.push(v);
    }
    return this;
  }

  /** push appends an element to an array. */
  push(v: Value): Value {
    if (this.kind == Kind.Array) this.items!.push(v);
    return this;
  }

  /** asI64 converts an integer number (no fraction or exponent) that fits; ok() says if it did. */
  asI64(): i64 {
    intOK = false;
    if (this.kind != Kind.Number) return 0;
    return parseI64(this.text);
  }
}

let intOK = false;

/** intConverted reports whether the last Value.asI64 or parseI64 converted its input. */
export function intConverted(): bool {
  return intOK;
}

/** parseI64 parses an optionally negative run of digits without overflow. */
export function parseI64(s: string): i64 {
  intOK = false;
  const n = s.length;
  let i = 0;
  let neg = false;
  if (n > 0 && s.charCodeAt(0) == 45) {
    neg = true;
    i = 1;
  }
  if (i == n) return 0;
  const limit: u64 = neg ? <u64>9223372036854775808 : <u64>9223372036854775807;
  let acc: u64 = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return 0;
    const d = <u64>(c - 48);
    if (acc > (limit - d) / 10) return 0;
    acc = acc * 10 + d;
  }
  intOK = true;
  return neg ? <i64>(0 - acc) : <i64>acc;
}

// ---- parser ------------------------------------------------------------------------------

/** The reason the last parse failed. */
export let parseError: string = "";

let p: usize = 0;
let end: usize = 0;
let depth: i32 = 0;

/** parse parses n bytes of UTF-8 at ptr; null (and parseError) when they are not one JSON
 * value. */
export function parse(ptr: usize, n: usize): Value | null {
  p = ptr;
  end = ptr + n;
  depth = 0;
  parseError = "";
  const v = parseValue();
  if (v === null) return null;
  skipWS();
  if (p != end) {
    parseError = "data after the value";
    return null;
  }
  return v;
}

/** parseString parses JSON text held in an AssemblyScript string. */
export function parseString(s: string): Value | null {
  const b = String.UTF8.encode(s);
  const ptr = changetype<usize>(b);
  __pin(ptr); // parsing allocates; keep the bytes from being collected meanwhile
  const v = parse(ptr, <usize>b.byteLength);
  __unpin(ptr);
  return v;
}

function skipWS(): void {
  while (p < end) {
    const c = load<u8>(p);
    if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
    p++;
  }
}

function parseValue(): Value | null {
  skipWS();
  if (p >= end) {
    parseError = "unexpected end of input";
    return null;
  }
  const c = load<u8>(p);
  if (c == 0x7b) return parseContainer(true); // {
  if (c == 0x5b) return parseContainer(false); // [
  if (c == 0x22) {
    const s = parseStr();
    if (s === null) return null;
    return Value.newString(s);
  }
  if (c == 0x74) return literal("true") ? Value.newBool(true) : null;
  if (c == 0x66) return literal("false") ? Value.newBool(false) : null;
  if (c == 0x6e) return literal("null") ? Value.newNull() : null;
  if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return parseNumber();
  parseError = "unexpected character";
  return null;
}

function literal(word: string): bool {
  const n = <usize>word.length;
  if (end - p < n) {
    parseError = "unexpected character";
    return false;
  }
  for (let i: usize = 0; i < n; i++) {
    if (<u32>load<u8>(p + i) != <u32>word.charCodeAt(<i32>i)) {
      parseError = "unexpected character";
      return false;
    }
  }
  p += n;
  return true;
}

function isDigit(c: u8): bool {
  return c >= 0x30 && c <= 0x39;
}

function parseNumber(): Value | null {
  const start = p;
  if (p < end && load<u8>(p) == 0x2d) p++;
  if (p >= end || !isDigit(load<u8>(p))) return badNumber();
  if (load<u8>(p) == 0x30) {
    p++;
  } else {
    while (p < end && isDigit(load<u8>(p))) p++;
  }
  if (p < end && load<u8>(p) == 0x2e) {
    p++;
    if (p >= end || !isDigit(load<u8>(p))) return badNumber();
    while (p < end && isDigit(load<u8>(p))) p++;
  }
  if (p < end && (load<u8>(p) == 0x65 || load<u8>(p) == 0x45)) {
    p++;
    if (p < end && (load<u8>(p) == 0x2b || load<u8>(p) == 0x2d)) p++;
    if (p >= end || !isDigit(load<u8>(p))) return badNumber();
    while (p < end && isDigit(load<u8>(p))) p++;
  }
  const v = new Value();
  v.kind = Kind.Number;
  v.text = String.UTF8.decodeUnsafe(start, p - start);
  return v;
}

function badNumber(): Value | null {
  parseError = "bad number";
  return null;
}

function hexVal(c: u8): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** hex4 reads four hex digits at q (below lim), or returns -1. */
function hex4(q: usize, lim: usize): i32 {
  if (lim - q < 4) return -1;
  let v = 0;
  for (let i: usize = 0; i < 4; i++) {
    const h = hexVal(load<u8>(q + i));
    if (h < 0) return -1;
    v = (v << 4) | h;
  }
  return v;
}

/** putUTF8 writes rune r at dst and returns the byte count. */
function putUTF8(dst: usize, r: u32): usize {
  if (r < 0x80) {
    store<u8>(dst, <u8>r);
    return 1;
  }
  if (r < 0x800) {
    store<u8>(dst, <u8>(0xc0 | (r >> 6)));
    store<u8>(dst + 1, <u8>(0x80 | (r & 0x3f)));
    return 2;
  }
  if (r < 0x10000) {
    store<u8>(dst, <u8>(0xe0 | (r >> 12)));
    store<u8>(dst + 1, <u8>(0x80 | ((r >> 6) & 0x3f)));
    store<u8>(dst + 2, <u8>(0x80 | (r & 0x3f)));
    return 3;
  }
  store<u8>(dst, <u8>(0xf0 | (r >> 18)));
  store<u8>(dst + 1, <u8>(0x80 | ((r >> 12) & 0x3f)));
  store<u8>(dst + 2, <u8>(0x80 | ((r >> 6) & 0x3f)));
  store<u8>(dst + 3, <u8>(0x80 | (r & 0x3f)));
  return 4;
}

/** utf8Len returns the length of the valid UTF-8 sequence at q (n > 0 bytes available), or 0
 * for bytes that are not valid UTF-8 (overlong forms and surrogates included). */
function utf8Len(q: usize, n: usize): usize {
  const c0 = <u32>load<u8>(q);
  if (c0 < 0x80) return 1;
  let need: usize;
  let min: u32;
  let r: u32;
  if (c0 >= 0xc2 && c0 <= 0xdf) {
    need = 2;
    min = 0x80;
    r = c0 & 0x1f;
  } else if (c0 >= 0xe0 && c0 <= 0xef) {
    need = 3;
    min = 0x800;
    r = c0 & 0x0f;
  } else if (c0 >= 0xf0 && c0 <= 0xf4) {
    need = 4;
    min = 0x10000;
    r = c0 & 0x07;
  } else {
    return 0;
  }
  if (n < need) return 0;
  for (let i: usize = 1; i < need; i++) {
    const c = <u32>load<u8>(q + i);
    if ((c & 0xc0) != 0x80) return 0;
    r = (r << 6) | (c & 0x3f);
  }
  if (r < min || r > 0x10ffff || (r >= 0xd800 && r < 0xe000)) return 0;
  return need;
}

/** decodeUTF8 turns n bytes at q into a string, each byte that is not valid UTF-8 becoming
 * U+FFFD, as Go's decoder does (AssemblyScript's own decoder drops or merges them). */
function decodeUTF8(q: usize, n: usize): string {
  const stop = q + n;
  let bad = 0;
  for (let r = q; r < stop; ) {
    const k = utf8Len(r, stop - r);
    if (k == 0) {
      bad++;
      r++;
    } else {
      r += k;
    }
  }
  if (bad == 0) return String.UTF8.decodeUnsafe(q, n);
  const buf = heap.alloc(n + <usize>bad * 2);
  let o: usize = 0;
  for (let r = q; r < stop; ) {
    const k = utf8Len(r, stop - r);
    if (k == 0) {
      store<u8>(buf + o, 0xef);
      store<u8>(buf + o + 1, 0xbf);
      store<u8>(buf + o + 2, 0xbd);
      o += 3;
      r++;
    } else {
      memory.copy(buf + o, r, k);
      o += k;
      r += k;
    }
  }
  const s = String.UTF8.decodeUnsafe(buf, o);
  heap.free(buf);
  return s;
}

/** parseStr reads a string at the opening quote; escapes are decoded, a lone surrogate
 * becomes U+FFFD as in Go. */
function parseStr(): string | null {
  let q = p + 1;
  const start = q;
  let escapes = false;
  for (;;) {
    if (q >= end) {
      parseError = "unterminated string";
      return null;
    }
    const c = load<u8>(q);
    if (c == 0x22) break;
    if (c < 0x20) {
      parseError = "control character in string";
      return null;
    }
    if (c == 0x5c) {
      escapes = true;
      q++;
      if (q >= end) {
        parseError = "unterminated string";
        return null;
      }
    }
    q++;
  }
  const close = q;
  p = close + 1;
  if (!escapes) return decodeUTF8(start, close - start);
  // Decoded text is never longer than the raw text.
  const buf = heap.alloc(close - start + 1);
  let n: usize = 0;
  q = start;
  while (q < close) {
    const c = load<u8>(q);
    if (c != 0x5c) {
      store<u8>(buf + n, c);
      n++;
      q++;
      continue;
    }
    const e = load<u8>(q + 1);
    q += 2;
    let out: i32 = -1;
    if (e == 0x22) out = 0x22;
    else if (e == 0x5c) out = 0x5c;
    else if (e == 0x2f) out = 0x2f;
    else if (e == 0x62) out = 0x08;
    else if (e == 0x66) out = 0x0c;
    else if (e == 0x6e) out = 0x0a;
    else if (e == 0x72) out = 0x0d;
    else if (e == 0x74) out = 0x09;
    else if (e == 0x75) {
      let r = hex4(q, close);
      if (r < 0) {
        heap.free(buf);
        parseError = "bad \\u escape";
        return null;
      }
      q += 4;
      if (r >= 0xd800 && r < 0xdc00) {
        const lo = close - q >= 6 && load<u8>(q) == 0x5c && load<u8>(q + 1) == 0x75 ? hex4(q + 2, close) : -1;
        if (lo >= 0xdc00 && lo < 0xe000) {
          r = 0x10000 + ((r - 0xd800) << 10) + (lo - 0xdc00);
          q += 6;
        } else {
          r = 0xfffd;
        }
      } else if (r >= 0xdc00 && r < 0xe000) {
        r = 0xfffd;
      }
      n += putUTF8(buf + n, <u32>r);
      continue;
    } else {
      heap.free(buf);
      parseError = "bad escape in string";
      return null;
    }
    store<u8>(buf + n, <u8>out);
    n++;
  }
  const s = decodeUTF8(buf, n);
  heap.free(buf);
  return s;
}

function parseContainer(obj: bool): Value | null {
  if (++depth > MAX_DEPTH) {
    parseError = "nesting too deep";
    return null;
  }
  const v = obj ? Value.newObject() : Value.newArray();
  p++;
  skipWS();
  const close: u8 = obj ? 0x7d : 0x5d;
  if (p < end && load<u8>(p) == close) {
    p++;
    depth--;
    return v;
  }
  for (;;) {
    let key = "";
    if (obj) {
      skipWS();
      if (p >= end || load<u8>(p) != 0x22) {
        parseError = "want a member name";
        return null;
      }
      const k = parseStr();
      if (k === null) return null;
      key = k;
      skipWS();
      if (p >= end || load<u8>(p) != 0x3a) {
        parseError = "want ':'";
        return null;
      }
      p++;
    }
    const el = parseValue();
    if (el === null) return null;
    if (obj) v.keys!.push(key);
    v.items!.push(el);
    skipWS();
    if (p >= end) {
      parseError = obj ? "unterminated object" : "unterminated array";
      return null;
    }
    const c = load<u8>(p);
    if (c == 0x2c) {
      p++;
      continue;
    }
    if (c == close) {
      p++;
      depth--;
      return v;
    }
    parseError = obj ? "want ',' or '}'" : "want ',' or ']'";
    return null;
  }
}

// ---- writer ------------------------------------------------------------------------------

const HEX = "0123456789abcdef";

/** Writer builds JSON text in raw heap memory, which the SDK hands to the host as a result
 * without a copy. Commas and colons are placed for you; errors (nesting too deep, a value
 * where a key belongs) stick and fail the call. Strings are written as UTF-8; a lone surrogate
 * becomes U+FFFD. */
export class Writer {
  ptr: usize = 0;
  len: usize = 0;
  cap: usize = 0;
  depth: i32 = 0;
  afterKey: bool = false;
  err: bool = false;
  started: StaticArray<bool> = new StaticArray<bool>(MAX_DEPTH + 1);
  isObj: StaticArray<bool> = new StaticArray<bool>(MAX_DEPTH + 1);

  /** release frees the buffer. */
  release(): void {
    if (this.ptr != 0) heap.free(this.ptr);
    this.ptr = 0;
    this.len = 0;
    this.cap = 0;
  }

  /** toString returns the text written so far. */
  toString(): string {
    return String.UTF8.decodeUnsafe(this.ptr, this.len);
  }

  private reserve(n: usize): void {
    if (this.len + n <= this.cap) return;
    let cap = this.cap == 0 ? <usize>256 : this.cap;
    while (cap < this.len + n) cap *= 2;
    this.ptr = this.ptr == 0 ? heap.alloc(cap) : heap.realloc(this.ptr, cap);
    this.cap = cap;
  }

  private byte(b: u8): void {
    this.reserve(1);
    store<u8>(this.ptr + this.len, b);
    this.len++;
  }

  /** bytes appends n raw bytes. */
  bytes(src: usize, n: usize): void {
    this.reserve(n);
    memory.copy(this.ptr + this.len, src, n);
    this.len += n;
  }

  private ascii(s: string): void {
    const n = s.length;
    this.reserve(<usize>n);
    for (let i = 0; i < n; i++) store<u8>(this.ptr + this.len + <usize>i, <u8>s.charCodeAt(i));
    this.len += <usize>n;
  }

  private beforeValue(): void {
    if (this.afterKey) {
      this.afterKey = false;
      return;
    }
    const d = this.depth;
    if (d > 0 && this.isObj[d]) {
      this.err = true;
      return;
    }
    if (d == 0 && this.started[0]) {
      this.err = true;
      return;
    }
    if (this.started[d]) this.byte(0x2c);
    this.started[d] = true;
  }

  private open(obj: bool): void {
    this.beforeValue();
    if (this.depth >= MAX_DEPTH) {
      this.err = true;
      return;
    }
    this.byte(obj ? 0x7b : 0x5b);
    this.depth++;
    this.started[this.depth] = false;
    this.isObj[this.depth] = obj;
  }

  private close(obj: bool): void {
    if (this.depth == 0 || this.isObj[this.depth] != obj || this.afterKey) {
      this.err = true;
      return;
    }
    this.depth--;
    this.byte(obj ? 0x7d : 0x5d);
  }

  objBegin(): void {
    this.open(true);
  }
  objEnd(): void {
    this.close(true);
  }
  arrBegin(): void {
    this.open(false);
  }
  arrEnd(): void {
    this.close(false);
  }

  key(k: string): void {
    const d = this.depth;
    if (d == 0 || !this.isObj[d] || this.afterKey) {
      this.err = true;
      return;
    }
    if (this.started[d]) this.byte(0x2c);
    this.started[d] = true;
    this.quoted(k);
    this.byte(0x3a);
    this.afterKey = true;
  }

  str(s: string): void {
    this.beforeValue();
    this.quoted(s);
  }

  int(i: i64): void {
    this.beforeValue();
    this.ascii(i.toString());
  }

  boolean(b: bool): void {
    this.beforeValue();
    this.ascii(b ? "true" : "false");
  }

  nul(): void {
    this.beforeValue();
    this.ascii("null");
  }

  /** raw appends n bytes of JSON text as one value; the host checks the output. */
  raw(src: usize, n: usize): void {
    this.beforeValue();
    this.bytes(src, n);
  }

  /** value writes a tree; null writes null. */
  value(v: Value | null): void {
    if (this.err) return;
    if (v === null) {
      this.nul();
      return;
    }
    switch (v.kind) {
      case Kind.Null:
        this.nul();
        return;
      case Kind.Bool:
        this.boolean(v.bool);
        return;
      case Kind.Number:
        this.beforeValue();
        this.ascii(v.text);
        return;
      case Kind.String:
        this.str(v.text);
        return;
      case Kind.Array: {
        this.arrBegin();
        const items = v.items!;
        for (let i = 0; i < items.length && !this.err; i++) this.value(items[i]);
        this.arrEnd();
        return;
      }
      case Kind.Object: {
        this.objBegin();
        const items = v.items!;
        const keys = v.keys!;
        for (let i = 0; i < items.length && !this.err; i++) {
          this.key(keys[i]);
          this.value(items[i]);
        }
        this.objEnd();
        return;
      }
    }
    this.err = true;
  }

  private quoted(s: string): void {
    const n = s.length;
    this.reserve(<usize>n * 6 + 2);
    let o = this.ptr + this.len;
    store<u8>(o++, 0x22);
    for (let i = 0; i < n; i++) {
      let c = <u32>s.charCodeAt(i);
      if (c < 0x80) {
        if (c == 0x22 || c == 0x5c) {
          store<u8>(o++, 0x5c);
          store<u8>(o++, <u8>c);
        } else if (c == 0x0a) {
          store<u8>(o++, 0x5c);
          store<u8>(o++, 0x6e);
        } else if (c == 0x0d) {
          store<u8>(o++, 0x5c);
          store<u8>(o++, 0x72);
        } else if (c == 0x09) {
          store<u8>(o++, 0x5c);
          store<u8>(o++, 0x74);
        } else if (c < 0x20) {
          store<u8>(o++, 0x5c);
          store<u8>(o++, 0x75);
          store<u8>(o++, 0x30);
          store<u8>(o++, 0x30);
          store<u8>(o++, <u8>HEX.charCodeAt(c >> 4));
          store<u8>(o++, <u8>HEX.charCodeAt(c & 15));
        } else {
          store<u8>(o++, <u8>c);
        }
        continue;
      }
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
        const lo = <u32>s.charCodeAt(i + 1);
        if (lo >= 0xdc00 && lo < 0xe000) {
          c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
          i++;
        } else {
          c = 0xfffd;
        }
      } else if (c >= 0xd800 && c < 0xe000) {
        c = 0xfffd;
      }
      o += putUTF8(o, c);
    }
    store<u8>(o++, 0x22);
    this.len = o - this.ptr;
  }
}
