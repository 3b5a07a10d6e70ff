/* API keys (core, no httpd header): the key file of LLMProxyKeyFile and
 * the llmproxy-keys command. One line per key:
 *     user <SHA-256 of the key, 64 hex digits> [comment]
 * '#' starts a comment line; blank lines are ignored. Only hashes are
 * stored: a key is shown once, when llmproxy-keys adds it. */
#ifndef LLMP_KEYS_H
#define LLMP_KEYS_H

#include <apr_pools.h>
#include <apr_hash.h>
#include <apr_tables.h>

/* The AuthType of a <Location> whose clients send a key. */
#define LLMP_KEYS_AUTH_TYPE   "llmproxy-key"
/* Every key llmproxy-keys makes starts with this. */
#define LLMP_KEYS_PREFIX      "sk-llmp-"
#define LLMP_KEYS_DIGEST_LEN  32           /* SHA-256 */
#define LLMP_KEYS_MAX_USER    256          /* bytes of a user name */
#define LLMP_KEYS_MAX_KEY     1024         /* longer is never a key */
#define LLMP_KEYS_MAX_FILE    (64 << 20)   /* largest key file read */

typedef struct llmp_key_entry {
    const char *user;
    const char *comment;                   /* NULL: none */
    unsigned char digest[LLMP_KEYS_DIGEST_LEN];
    int line;                              /* 1-based */
} llmp_key_entry_t;

typedef struct llmp_keys {
    apr_hash_t *by_digest;                 /* 32 bytes -> llmp_key_entry_t */
    apr_array_header_t *entries;           /* llmp_key_entry_t *, in order */
} llmp_keys_t;

/* Parse a key file's text (len bytes, any NUL is an error) into pool p:
 * NULL and *out, or why the file is refused ("line N: ..."; never a
 * line's text, which could be a key pasted by mistake). A file with a
 * bad line is refused as a whole, so that a broken file lets no one in. */
const char *llmp_keys_parse(apr_pool_t *p, const char *text, apr_size_t len,
                            llmp_keys_t **out);

/* The entry of the key (len bytes), or NULL. */
const llmp_key_entry_t *llmp_keys_lookup(const llmp_keys_t *k,
                                         const char *key, apr_size_t len);

/* The key a client sent: "Authorization: Bearer <key>" (either header may
 * be NULL), else the x-api-key header's value; NULL when there is none.
 * Points into the header; *len is its length (surrounding blanks left
 * out). */
const char *llmp_keys_from_headers(const char *authorization,
                                   const char *x_api_key, apr_size_t *len);

/* 1 when name may be a user of the file: 1 to LLMP_KEYS_MAX_USER bytes,
 * no blank, no control character, not starting with '#'. */
int llmp_keys_user_valid(const char *name);
/* 1 when text may be a comment: no control character (a tab is fine). */
int llmp_keys_comment_valid(const char *text);

/* SHA-256 of data: 1, or 0 when libcrypto failed. */
int llmp_keys_digest(const char *data, apr_size_t len,
                     unsigned char out[LLMP_KEYS_DIGEST_LEN]);
/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void llmp_keys_hex(const unsigned char *d, apr_size_t n, char *out);

/* A new key from n >= 16 random bytes (LLMP_KEYS_PREFIX and the
 * unpadded base64url of them), or NULL when no random bytes could be
 * had. */
char *llmp_keys_generate(apr_pool_t *p, apr_size_t n);

/* The file's text without the key lines of user (comment lines and other
 * users' lines kept as they are): the number of lines removed, the new
 * text in *out (pool p, NUL-terminated) and its length in *outlen. */
int llmp_keys_remove_user(apr_pool_t *p, const char *text, apr_size_t len,
                          const char *user, char **out, apr_size_t *outlen);

#endif
