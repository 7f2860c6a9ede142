/* Small cryptographic helpers over OpenSSL: randomness, hashing, constant-
 * time comparison and encodings. */
#ifndef IDGATE_CRYPTO_H
#define IDGATE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/* Fills `buf` from the operating system's CSPRNG. Returns 0 or -1. */
int crypto_random(void *buf, size_t len);
/* Writes a new random (version 4) or time-ordered (version 7) UUID as 36
 * lowercase characters plus NUL into `out` (37 bytes). Returns 0 or -1. */
int crypto_uuid4(char out[37]);
int crypto_uuid7(char out[37]);
void crypto_sha256(const void *data, size_t len, uint8_t out[32]);
/* Writes into `out` the SipHash-2-4 (Aumasson and Bernstein) of `len` bytes
 * under the 16-byte `key`, with a 128-bit output. It is a keyed hash for
 * lookup tags, cheaper than OpenSSL's EVP_MAC for short inputs. */
void crypto_siphash128(const uint8_t key[16], const void *data, size_t len, uint8_t out[16]);
/* Compares in time that depends only on `len`. Returns 1 when equal. */
int crypto_equal(const void *a, const void *b, size_t len);
/* Encodings into malloc'd NUL-terminated strings; NULL when out of memory. */
char *crypto_hex(const void *data, size_t len);
char *crypto_b64url(const void *data, size_t len);
/* Decodes unpadded base64url; returns a malloc'd buffer and its length, or
 * NULL on invalid input. */
uint8_t *crypto_b64url_decode(const char *in, size_t inlen, size_t *outlen);
/* Random token of `nbytes` bytes as base64url with `prefix` before it. */
char *crypto_token(const char *prefix, size_t nbytes);

#endif
