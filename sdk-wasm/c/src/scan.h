/* scan.h: the word-at-a-time string scans of the SDK's JSON parser and of the JavaScript
 * engine's JSON writer (adapters/js/quickjs/engine.c), not part of the SDK's API.
 *
 * Under the sandbox's termination check, which costs an exit to the host at every iteration of
 * a loop, a byte at a time is what makes a scan slow: these test 8 bytes at once, and find the
 * first byte that needs attention among them in one step. */
#ifndef REALMGATE_SCAN_H
#define REALMGATE_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* rg__special8 marks, in the high bit of each byte, the bytes of the 8 at x that are a quote, a
 * backslash, a control character or the byte also. Only its lowest mark is exact (a borrow can
 * also mark a byte above a marked one), which is all its callers use. */
static inline uint64_t rg__special8(uint64_t x, unsigned char also) {
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\'), a = x ^ (ones * also);
	return (((q - ones) & ~q) | ((b - ones) & ~b) | ((a - ones) & ~a) | ((x - ones * 0x20) & ~x)) & highs;
}

static inline uint64_t rg__load8(const unsigned char *p) {
	uint64_t x;
	memcpy(&x, p, 8);
	return x;
}

/* rg__plain32 says whether none of the 32 bytes at p is special (see rg__special8). */
static inline bool rg__plain32(const unsigned char *p, unsigned char also) {
	return (rg__special8(rg__load8(p), also) | rg__special8(rg__load8(p + 8), also) |
	        rg__special8(rg__load8(p + 16), also) | rg__special8(rg__load8(p + 24), also)) == 0;
}

/* rg__plain_prefix counts the bytes at p, at most 8 and at most n, before the first special one
 * (see rg__special8), in one step: fewer than 8 bytes are tested as 8 padded with plain ones, so
 * that a short string never reads past its end (wasm is little-endian: the first byte in memory
 * is the lowest). */
static inline size_t rg__plain_prefix(const unsigned char *p, size_t n, unsigned char also) {
	uint64_t x = 0x6161616161616161u;
	if (n >= 8) x = rg__load8(p);
	else memcpy(&x, p, n);
	uint64_t m = rg__special8(x, also);
	size_t k = m ? (size_t)__builtin_ctzll(m) >> 3 : 8;
	return k < n ? k : n;
}

#endif
