/* A growable byte buffer in pool memory, bounded (core). */
#include <string.h>

#include "llmp_buf.h"

void llmp_buf_init(llmp_buf_t *b, apr_pool_t *p, apr_size_t max)
{
    memset(b, 0, sizeof(*b));
    b->pool = p;
    b->max = max;
}

apr_status_t llmp_buf_append(llmp_buf_t *b, const char *data, apr_size_t len)
{
    if (len > b->max || b->len > b->max - len) return APR_ENOSPC;
    if (b->len + len + 1 > b->cap) {
        apr_size_t ncap = b->cap ? b->cap * 2 : 16384;
        char *nb;
        while (ncap < b->len + len + 1) ncap *= 2;
        nb = apr_palloc(b->pool, ncap);
        if (b->len) memcpy(nb, b->data, b->len);
        b->data = nb;
        b->cap = ncap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return APR_SUCCESS;
}
