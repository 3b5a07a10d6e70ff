/* API keys (core): the key file's parser, lookups, the key a client sent,
 * new keys. No httpd header: shared by mod_llmproxy_keys.c and the
 * llmproxy-keys command (tools/llmproxy-keys.c). */
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <apr_strings.h>
#include <apr_lib.h>

#include "llmp_keys.h"

static int is_blank(char c) { return c == ' ' || c == '\t'; }

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int llmp_keys_user_valid(const char *name)
{
    apr_size_t n = 0;

    if (!name || !*name || *name == '#') return 0;
    for (; name[n]; n++) {
        unsigned char c = (unsigned char)name[n];
        if (c <= 0x20 || c == 0x7f) return 0;
    }
    return n <= LLMP_KEYS_MAX_USER;
}

int llmp_keys_comment_valid(const char *text)
{
    if (!text) return 1;
    for (; *text; text++) {
        unsigned char c = (unsigned char)*text;
        if ((c < 0x20 && c != '\t') || c == 0x7f) return 0;
    }
    return 1;
}

int llmp_keys_digest(const char *data, apr_size_t len,
                     unsigned char out[LLMP_KEYS_DIGEST_LEN])
{
    unsigned int n = 0;

    if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL)
        || n != LLMP_KEYS_DIGEST_LEN)
        return 0;
    return 1;
}

void llmp_keys_hex(const unsigned char *d, apr_size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    apr_size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[2 * n] = '\0';
}

/* One line (without its end of line): 0 skipped (blank, comment), 1 an
 * entry in *e, -1 an error (*why). */
static int parse_line(apr_pool_t *p, const char *s, apr_size_t n,
                      llmp_key_entry_t *e, const char **why)
{
    apr_size_t i = 0, u0, u1, h0, h1, j;

    while (n && (is_blank(s[n - 1]) || s[n - 1] == '\r')) n--;
    while (i < n && is_blank(s[i])) i++;
    if (i == n || s[i] == '#') return 0;
    for (j = i; j < n; j++) {
        unsigned char c = (unsigned char)s[j];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            *why = "a control character";
            return -1;
        }
    }
    u0 = i;
    while (i < n && !is_blank(s[i])) i++;
    u1 = i;
    while (i < n && is_blank(s[i])) i++;
    h0 = i;
    while (i < n && !is_blank(s[i])) i++;
    h1 = i;
    while (i < n && is_blank(s[i])) i++;
    if (u1 - u0 > LLMP_KEYS_MAX_USER) {
        *why = "the user name is too long";
        return -1;
    }
    if (h0 == h1) {
        *why = "no key hash after the user name";
        return -1;
    }
    if (h1 - h0 != 2 * LLMP_KEYS_DIGEST_LEN) {
        *why = "the key hash is not 64 hex digits (a SHA-256)";
        return -1;
    }
    for (j = 0; j < LLMP_KEYS_DIGEST_LEN; j++) {
        int hi = hexval(s[h0 + 2 * j]), lo = hexval(s[h0 + 2 * j + 1]);
        if (hi < 0 || lo < 0) {
            *why = "the key hash is not 64 hex digits (a SHA-256)";
            return -1;
        }
        e->digest[j] = (unsigned char)(hi << 4 | lo);
    }
    e->user = apr_pstrmemdup(p, s + u0, u1 - u0);
    e->comment = i < n ? apr_pstrmemdup(p, s + i, n - i) : NULL;
    return 1;
}

const char *llmp_keys_parse(apr_pool_t *p, const char *text, apr_size_t len,
                            llmp_keys_t **out)
{
    llmp_keys_t *k = apr_pcalloc(p, sizeof(*k));
    apr_size_t pos = 0;
    int line = 0;

    *out = NULL;
    if (len > LLMP_KEYS_MAX_FILE)
        return "the file is larger than 64M";
    if (len && memchr(text, '\0', len))
        return "the file holds a NUL byte";
    k->by_digest = apr_hash_make(p);
    k->entries = apr_array_make(p, 16, sizeof(llmp_key_entry_t *));
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        apr_size_t n = nl ? (apr_size_t)(nl - (text + pos)) : len - pos;
        llmp_key_entry_t e, *have;
        const char *why = NULL;
        int rc;

        line++;
        memset(&e, 0, sizeof(e));
        rc = parse_line(p, text + pos, n, &e, &why);
        pos += n + (nl ? 1 : 0);
        if (rc < 0)
            return apr_psprintf(p, "line %d: %s", line, why);
        if (!rc) continue;
        e.line = line;
        have = apr_hash_get(k->by_digest, e.digest, LLMP_KEYS_DIGEST_LEN);
        if (have) {
            if (strcmp(have->user, e.user))
                return apr_psprintf(p, "line %d: the same key as line %d, "
                                    "of another user", line, have->line);
            continue;
        }
        have = apr_pmemdup(p, &e, sizeof(e));
        apr_hash_set(k->by_digest, have->digest, LLMP_KEYS_DIGEST_LEN, have);
        APR_ARRAY_PUSH(k->entries, llmp_key_entry_t *) = have;
    }
    *out = k;
    return NULL;
}

const llmp_key_entry_t *llmp_keys_lookup(const llmp_keys_t *k,
                                         const char *key, apr_size_t len)
{
    unsigned char d[LLMP_KEYS_DIGEST_LEN];
    const llmp_key_entry_t *e;

    if (!k || !key || !len || len > LLMP_KEYS_MAX_KEY
        || !llmp_keys_digest(key, len, d))
        return NULL;
    /* the table is indexed by the digest of the key, not the key: what a
     * lookup's time depends on says nothing about the keys; the last
     * comparison takes the same time whatever the bytes */
    e = apr_hash_get(k->by_digest, d, LLMP_KEYS_DIGEST_LEN);
    if (!e || CRYPTO_memcmp(e->digest, d, LLMP_KEYS_DIGEST_LEN))
        return NULL;
    return e;
}

static const char *trimmed(const char *s, apr_size_t *len)
{
    apr_size_t n;

    while (is_blank(*s)) s++;
    n = strlen(s);
    while (n && is_blank(s[n - 1])) n--;
    *len = n;
    return n ? s : NULL;
}

const char *llmp_keys_from_headers(const char *authorization,
                                   const char *x_api_key, apr_size_t *len)
{
    const char *k;

    *len = 0;
    if (authorization) {
        while (is_blank(*authorization)) authorization++;
        if (!strncasecmp(authorization, "Bearer", 6)
            && is_blank(authorization[6])
            && (k = trimmed(authorization + 7, len)) != NULL)
            return k;
    }
    if (x_api_key && (k = trimmed(x_api_key, len)) != NULL)
        return k;
    *len = 0;
    return NULL;
}

char *llmp_keys_generate(apr_pool_t *p, apr_size_t n)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                              "0123456789-_";
    unsigned char *raw;
    char *key, *o;
    apr_size_t i, plen = sizeof(LLMP_KEYS_PREFIX) - 1;

    if (n < 16 || n > 256) return NULL;
    raw = apr_palloc(p, n);
    if (RAND_bytes(raw, (int)n) != 1) return NULL;
    key = apr_palloc(p, plen + (n * 4 + 2) / 3 + 1);
    memcpy(key, LLMP_KEYS_PREFIX, plen);
    o = key + plen;
    for (i = 0; i + 2 < n; i += 3) {
        unsigned long v = (unsigned long)raw[i] << 16 | raw[i + 1] << 8
                          | raw[i + 2];
        *o++ = b64[v >> 18 & 63];
        *o++ = b64[v >> 12 & 63];
        *o++ = b64[v >> 6 & 63];
        *o++ = b64[v & 63];
    }
    if (n - i == 1) {
        unsigned long v = (unsigned long)raw[i] << 16;
        *o++ = b64[v >> 18 & 63];
        *o++ = b64[v >> 12 & 63];
    }
    else if (n - i == 2) {
        unsigned long v = (unsigned long)raw[i] << 16 | raw[i + 1] << 8;
        *o++ = b64[v >> 18 & 63];
        *o++ = b64[v >> 12 & 63];
        *o++ = b64[v >> 6 & 63];
    }
    *o = '\0';
    OPENSSL_cleanse(raw, n);
    return key;
}

int llmp_keys_remove_user(apr_pool_t *p, const char *text, apr_size_t len,
                          const char *user, char **out, apr_size_t *outlen)
{
    char *buf = apr_palloc(p, len + 1), *o = buf;
    apr_size_t pos = 0, ulen = strlen(user);
    int removed = 0;

    while (pos < len) {
        const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
        apr_size_t n = nl ? (apr_size_t)(nl - s) + 1 : len - pos, i = 0;

        while (i < n && is_blank(s[i])) i++;
        if (ulen && n - i >= ulen && !memcmp(s + i, user, ulen)
            && (i + ulen == n || is_blank(s[i + ulen])
                || s[i + ulen] == '\r' || s[i + ulen] == '\n')) {
            removed++;
        }
        else {
            memcpy(o, s, n);
            o += n;
        }
        pos += n;
    }
    *o = '\0';
    *out = buf;
    *outlen = (apr_size_t)(o - buf);
    return removed;
}
