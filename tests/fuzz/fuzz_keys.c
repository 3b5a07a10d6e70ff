/* Fuzz target: the API key file's parser (src/llmp_keys.c), a lookup of
 * the input's first line as a key, the key of headers made of the input,
 * and the removal of a user's lines. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include "llmp_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    apr_pool_t *p;
    const char *in = (const char *)data, *nl, *k;
    llmp_keys_t *keys = NULL;
    const char *why;
    char *s, *out;
    apr_size_t n, outlen;
    int i, removed;

    if (!init) { apr_initialize(); init = 1; }
    apr_pool_create(&p, NULL);
    why = llmp_keys_parse(p, in, size, &keys);
    if ((why == NULL) != (keys != NULL)) abort();
    nl = memchr(in, '\n', size);
    n = nl ? (apr_size_t)(nl - in) : size;
    if (keys) {
        (void)llmp_keys_lookup(keys, in, n);
        for (i = 0; i < keys->entries->nelts; i++) {
            const llmp_key_entry_t *e = APR_ARRAY_IDX(keys->entries, i,
                                                      llmp_key_entry_t *);
            if (!llmp_keys_user_valid(e->user)) abort();
            if (!llmp_keys_comment_valid(e->comment)) abort();
        }
    }
    s = apr_pstrmemdup(p, in, n);
    k = llmp_keys_from_headers(s, s, &n);
    if (k && (!n || k < s || k + n > s + strlen(s))) abort();
    if (llmp_keys_user_valid(s)) {
        removed = llmp_keys_remove_user(p, in, size, s, &out, &outlen);
        if (outlen > size || strlen(out) > outlen) abort();
        /* what is left holds no key of s */
        if (removed && keys) {
            llmp_keys_t *left = NULL;
            if (!llmp_keys_parse(p, out, outlen, &left) && left) {
                for (i = 0; i < left->entries->nelts; i++) {
                    const llmp_key_entry_t *e = APR_ARRAY_IDX(
                        left->entries, i, llmp_key_entry_t *);
                    if (!strcmp(e->user, s)) abort();
                }
            }
        }
    }
    apr_pool_destroy(p);
    return 0;
}
