/* SHA-256 (FIPS 180-4), incremental, for the identity of model files in traces. */
#ifndef XQ_STORE_SHA256_H
#define XQ_STORE_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ctx {
    uint32_t h[8];
    uint64_t total; /* bytes hashed so far */
    uint8_t block[64];
    size_t used; /* bytes waiting in block */
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t n);
/* Writes 64 lowercase hex digits and a terminating nul. */
void sha256_hex(sha256_ctx *c, char hex[65]);

#endif
