/* A growable byte buffer in pool memory, bounded (core). */
#include <string.h>

#include "llmp_buf.h"

void llmp_buf_init(llmp_buf_t *b, apr_pool_t *p, apr_size_t max)
{
    memset(b, 0, sizeof(*b));
    b->pool = p;
    b->max = max;
}

apr_status_t llmp_buf_reserve(llmp_buf_t *b, apr_size_t len)
{
    apr_size_t ncap;
    char *nb;

    if (len > b->max || b->len > b->max - len) return APR_ENOSPC;
    if (b->len + len + 1 <= b->cap) return APR_SUCCESS;
    /* doubling: the buffers left behind in the pool add up to less than
     * the last one */
    ncap = b->cap ? b->cap * 2 : (b->first ? b->first : 16384);
    while (ncap < b->len + len + 1) ncap *= 2;
    nb = apr_palloc(b->pool, ncap);
    if (!nb) return APR_ENOMEM;
    if (b->len) memcpy(nb, b->data, b->len);
    b->data = nb;
    b->cap = ncap;
    return APR_SUCCESS;
}

apr_status_t llmp_buf_append(llmp_buf_t *b, const char *data, apr_size_t len)
{
    if (b->len + len + 1 > b->cap) {
        apr_status_t rv = llmp_buf_reserve(b, len);
        if (rv != APR_SUCCESS) return rv;
    }
    else if (len > b->max || b->len > b->max - len) {
        return APR_ENOSPC;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return APR_SUCCESS;
}
