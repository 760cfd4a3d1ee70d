/* internal.h: declarations shared by the SDK's source files, not part of its API. */
#ifndef REALMGATE_INTERNAL_H
#define REALMGATE_INTERNAL_H

#include "realmgate.h"

/* The buffer functions go through these so that an rg_buf's memory can be handed to the host
 * as a result (the host releases it with realmgate_free). */
void *rg__realloc(void *p, size_t n);
void rg__free(void *p);

/* rg__utf8_put writes rune r as UTF-8 at dst (room for 4 bytes) and returns the length. */
size_t rg__utf8_put(char *dst, uint32_t r);

/* rg__utf8_len returns the length of the valid UTF-8 sequence at p (n bytes available; n > 0),
 * or 0 when the bytes there are not valid UTF-8. */
size_t rg__utf8_len(const unsigned char *p, size_t n);

#endif
