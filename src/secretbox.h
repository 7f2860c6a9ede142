/* Authenticated encryption of small secrets at rest (identity-provider client
 * secrets, refresh tokens, the sign-in cookie keys) with AES-256-GCM under
 * one master key.
 *
 * The master key is 32 bytes given as 64 hex digits or as base64 (standard or
 * URL alphabet, padding optional). It comes from the file named by [oidc]
 * master_key_file or from the environment variable IDGATE_OIDC_MASTER_KEY,
 * never from the database. A sealed box is the text "v1." followed by the
 * unpadded base64url encoding of nonce (12 random bytes), ciphertext and the
 * 16-byte tag. The associated data binds a box to its purpose (for example
 * "idp-secret:" + account id) so a box copied to another record fails to open.
 */
#ifndef IDGATE_SECRETBOX_H
#define IDGATE_SECRETBOX_H

#include <stddef.h>
#include <stdint.h>

struct conf;

#define SECRETBOX_KEY_LEN 32
#define SECRETBOX_NONCE_LEN 12
#define SECRETBOX_TAG_LEN 16
#define SECRETBOX_PREFIX "v1."

/* Environment variable that carries the master key itself. */
#define SECRETBOX_ENV "IDGATE_OIDC_MASTER_KEY"

#define SECRETBOX_OK 0
#define SECRETBOX_ERR_NOKEY (-1)     /* no master key configured */
#define SECRETBOX_ERR_BADKEY (-2)    /* the key text is not 32 bytes of hex or base64 */
#define SECRETBOX_ERR_FORMAT (-3)    /* the box is not "v1." + base64url of a long enough blob */
#define SECRETBOX_ERR_AUTH (-4)      /* wrong key, wrong associated data or altered box */
#define SECRETBOX_ERR_NOMEM (-5)
#define SECRETBOX_ERR_CRYPTO (-6)    /* OpenSSL or the random source failed */
#define SECRETBOX_ERR_IO (-7)        /* the key file cannot be read */

typedef struct secretbox_key {
    uint8_t bytes[SECRETBOX_KEY_LEN];
} secretbox_key;

/* Static English text for an error code. */
const char *secretbox_strerror(int err);

/* Parses key text (surrounding whitespace ignored) into `out`. Returns 0 or
 * SECRETBOX_ERR_BADKEY. */
int secretbox_key_parse(const char *text, secretbox_key *out);

/* Loads the master key: the environment variable SECRETBOX_ENV when set, else
 * the file named by [oidc] master_key_file. On failure returns an error and
 * writes a sentence an operator can act on into `err` (which names the file
 * and the variable, never key material). */
int secretbox_key_load(struct conf *c, secretbox_key *out, char *err, size_t errlen);

/* Encrypts `len` bytes of `plain` with associated data `aad` (NUL-terminated,
 * may be ""). On success `*out` is a malloc'd NUL-terminated box the caller
 * frees. */
int secretbox_seal(const secretbox_key *key, const char *aad, const void *plain, size_t len,
                   char **out);

/* Decrypts a box made by secretbox_seal with the same `aad`. On success `*out`
 * is a malloc'd buffer of `*outlen` bytes followed by a NUL, so text secrets
 * can be used as strings. The caller releases it with secretbox_wipe. */
int secretbox_open(const secretbox_key *key, const char *aad, const char *box, uint8_t **out,
                   size_t *outlen);

/* Overwrites and frees a buffer returned by secretbox_open. NULL is allowed. */
void secretbox_wipe(void *buf, size_t len);

#endif
