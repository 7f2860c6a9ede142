#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "conf.h"
#include "secretbox.h"

/* Maximum size of a key file in bytes. A key is at most 64 hex digits plus whitespace. */
#define KEY_FILE_MAX 512

const char *secretbox_strerror(int err)
{
    switch (err) {
    case SECRETBOX_OK:
        return "success";
    case SECRETBOX_ERR_NOKEY:
        return "no master key is configured";
    case SECRETBOX_ERR_BADKEY:
        return "the master key is not 32 bytes written as 64 hex digits or base64";
    case SECRETBOX_ERR_FORMAT:
        return "the encrypted value is malformed";
    case SECRETBOX_ERR_AUTH:
        return "the encrypted value cannot be decrypted with this master key";
    case SECRETBOX_ERR_NOMEM:
        return "out of memory";
    case SECRETBOX_ERR_CRYPTO:
        return "the cryptographic library failed";
    case SECRETBOX_ERR_IO:
        return "the master key file cannot be read";
    default:
        return "unknown error";
    }
}

void secretbox_wipe(void *buf, size_t len)
{
    if (buf == NULL)
        return;
    OPENSSL_cleanse(buf, len);
    free(buf);
}

/* Decodes base64 in either alphabet, with or without padding, into `out`
 * (at least 3 * len / 4 + 3 bytes). Returns the decoded length or -1. */
static int b64_decode_any(const char *in, size_t len, uint8_t *out)
{
    while (len > 0 && in[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return -1;
    size_t padded = (len + 3) / 4 * 4;
    char *tmp = malloc(padded + 1);
    if (tmp == NULL)
        return -1;
    for (size_t i = 0; i < len; i++) {
        char ch = in[i];
        if (ch == '-')
            ch = '+';
        else if (ch == '_')
            ch = '/';
        else if (!isalnum((unsigned char)ch) && ch != '+' && ch != '/') {
            free(tmp);
            return -1;
        }
        tmp[i] = ch;
    }
    memset(tmp + len, '=', padded - len);
    tmp[padded] = '\0';
    int n = EVP_DecodeBlock(out, (const unsigned char *)tmp, (int)padded);
    free(tmp);
    if (n < 0)
        return -1;
    /* EVP_DecodeBlock counts the bytes the padding stood for. */
    return n - (int)(padded - len);
}

static char *b64url_encode(const uint8_t *in, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (out == NULL)
        return NULL;
    int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    for (int i = 0; i < n; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    return out;
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = (char)tolower((unsigned char)ch);
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

int secretbox_key_parse(const char *text, secretbox_key *out)
{
    while (isspace((unsigned char)*text))
        text++;
    size_t len = strlen(text);
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;

    if (len == 2 * SECRETBOX_KEY_LEN) {
        for (size_t i = 0; i < SECRETBOX_KEY_LEN; i++) {
            int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
            if (hi < 0 || lo < 0)
                return SECRETBOX_ERR_BADKEY;
            out->bytes[i] = (uint8_t)(hi << 4 | lo);
        }
        return SECRETBOX_OK;
    }
    if (len < 43 || len > 44)
        return SECRETBOX_ERR_BADKEY;
    uint8_t buf[48];
    int n = b64_decode_any(text, len, buf);
    if (n != SECRETBOX_KEY_LEN) {
        OPENSSL_cleanse(buf, sizeof buf);
        return SECRETBOX_ERR_BADKEY;
    }
    memcpy(out->bytes, buf, SECRETBOX_KEY_LEN);
    OPENSSL_cleanse(buf, sizeof buf);
    return SECRETBOX_OK;
}

static int read_key_file(const char *path, secretbox_key *out, char *err, size_t errlen)
{
    char buf[KEY_FILE_MAX + 1];
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "cannot read the master key file %s: %s", path, strerror(errno));
        return SECRETBOX_ERR_IO;
    }
    size_t n = fread(buf, 1, KEY_FILE_MAX + 1, f);
    fclose(f);
    if (n > KEY_FILE_MAX) {
        snprintf(err, errlen, "the master key file %s is too long; it must hold only the key",
                 path);
        return SECRETBOX_ERR_BADKEY;
    }
    buf[n] = '\0';
    int rc = secretbox_key_parse(buf, out);
    OPENSSL_cleanse(buf, sizeof buf);
    if (rc != 0)
        snprintf(err, errlen, "the master key file %s: %s", path, secretbox_strerror(rc));
    return rc;
}

int secretbox_key_load(struct conf *c, secretbox_key *out, char *err, size_t errlen)
{
    const char *env = getenv(SECRETBOX_ENV);
    if (env != NULL && *env != '\0') {
        int rc = secretbox_key_parse(env, out);
        if (rc != 0)
            snprintf(err, errlen, "%s: %s", SECRETBOX_ENV, secretbox_strerror(rc));
        return rc;
    }
    const char *path = c != NULL ? conf_str(c, "oidc", "master_key_file", NULL) : NULL;
    if (path == NULL || *path == '\0') {
        snprintf(err, errlen,
                 "no master key: set [oidc] master_key_file to a file holding 32 random bytes "
                 "as hex or base64 (for example the output of `openssl rand -hex 32`), or set "
                 "the environment variable %s",
                 SECRETBOX_ENV);
        return SECRETBOX_ERR_NOKEY;
    }
    return read_key_file(path, out, err, errlen);
}

/* Runs AES-256-GCM in either direction over `in` into `out` (same length).
 * For decryption `tag` is read, for encryption it is written. */
static int gcm(int encrypt, const secretbox_key *key, const uint8_t *nonce, const char *aad,
               const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
    int rc = SECRETBOX_ERR_CRYPTO, n = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL)
        return SECRETBOX_ERR_NOMEM;
    if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key->bytes, nonce, encrypt) != 1)
        goto out;
    if (*aad != '\0' && EVP_CipherUpdate(ctx, NULL, &n, (const uint8_t *)aad, (int)strlen(aad)) != 1)
        goto out;
    if (len > 0 && EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1)
        goto out;
    if (!encrypt &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SECRETBOX_TAG_LEN, tag) != 1)
        goto out;
    if (EVP_CipherFinal_ex(ctx, out + len, &n) != 1) {
        rc = encrypt ? SECRETBOX_ERR_CRYPTO : SECRETBOX_ERR_AUTH;
        goto out;
    }
    if (encrypt && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SECRETBOX_TAG_LEN, tag) != 1)
        goto out;
    rc = SECRETBOX_OK;
out:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int secretbox_seal(const secretbox_key *key, const char *aad, const void *plain, size_t len,
                   char **out)
{
    int rc;
    size_t total = SECRETBOX_NONCE_LEN + len + SECRETBOX_TAG_LEN;
    uint8_t *blob = malloc(total);
    char *text = NULL;

    *out = NULL;
    if (blob == NULL || len > INT32_MAX)
        return SECRETBOX_ERR_NOMEM;
    if (RAND_bytes(blob, SECRETBOX_NONCE_LEN) != 1) {
        rc = SECRETBOX_ERR_CRYPTO;
        goto out;
    }
    rc = gcm(1, key, blob, aad ? aad : "", plain, len, blob + SECRETBOX_NONCE_LEN,
             blob + SECRETBOX_NONCE_LEN + len);
    if (rc != 0)
        goto out;
    char *enc = b64url_encode(blob, total);
    if (enc == NULL || (text = malloc(strlen(SECRETBOX_PREFIX) + strlen(enc) + 1)) == NULL) {
        free(enc);
        rc = SECRETBOX_ERR_NOMEM;
        goto out;
    }
    strcpy(text, SECRETBOX_PREFIX);
    strcat(text, enc);
    free(enc);
    *out = text;
out:
    OPENSSL_cleanse(blob, total);
    free(blob);
    return rc;
}

/* 1 when `text` is the one canonical encoding of the bytes (no padding, no
 * stray low bits in the last character), so every box has one spelling. */
static int is_canonical(const uint8_t *bytes, size_t len, const char *text)
{
    char *again = b64url_encode(bytes, len);
    int same = again != NULL && strcmp(again, text) == 0;
    free(again);
    return same;
}

int secretbox_open(const secretbox_key *key, const char *aad, const char *box, uint8_t **out,
                   size_t *outlen)
{
    size_t plen = strlen(SECRETBOX_PREFIX);
    *out = NULL;
    *outlen = 0;
    if (strncmp(box, SECRETBOX_PREFIX, plen) != 0)
        return SECRETBOX_ERR_FORMAT;
    box += plen;
    size_t blen = strlen(box);
    if (blen > 1 << 20)
        return SECRETBOX_ERR_FORMAT;
    uint8_t *blob = malloc(blen * 3 / 4 + 4);
    if (blob == NULL)
        return SECRETBOX_ERR_NOMEM;
    int n = b64_decode_any(box, blen, blob);
    if (n < SECRETBOX_NONCE_LEN + SECRETBOX_TAG_LEN || !is_canonical(blob, (size_t)n, box)) {
        free(blob);
        return SECRETBOX_ERR_FORMAT;
    }
    size_t len = (size_t)n - SECRETBOX_NONCE_LEN - SECRETBOX_TAG_LEN;
    uint8_t *plain = malloc(len + 1);
    if (plain == NULL) {
        free(blob);
        return SECRETBOX_ERR_NOMEM;
    }
    int rc = gcm(0, key, blob, aad ? aad : "", blob + SECRETBOX_NONCE_LEN, len, plain,
                 blob + SECRETBOX_NONCE_LEN + len);
    free(blob);
    if (rc != 0) {
        secretbox_wipe(plain, len + 1);
        return rc;
    }
    plain[len] = '\0';
    *out = plain;
    *outlen = len;
    return SECRETBOX_OK;
}
