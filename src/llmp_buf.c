/* A growable byte buffer in pool memory, bounded (core). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE            /* mremap */
#endif
#include <string.h>
#include <unistd.h>

#include "llmp_buf.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

#if defined(__linux__) && defined(MREMAP_MAYMOVE)
/* From this size on, the buffer is an anonymous mapping that mremap
 * grows: the kernel moves pages instead of copying them, so a buffer of n
 * bytes costs n bytes of memory, not the 2n of doubling in a pool. */
#define BUF_MAP_MIN ((apr_size_t)1 << 20)

typedef struct buf_map {
    void *addr;
    apr_size_t size;
} buf_map_t;

static apr_status_t buf_unmap(void *data)
{
    buf_map_t *m = data;

    if (m->addr) munmap(m->addr, m->size);
    m->addr = NULL;
    return APR_SUCCESS;
}

static apr_status_t buf_map_grow(llmp_buf_t *b, apr_size_t ncap)
{
    buf_map_t *m = b->map;
    long pg = sysconf(_SC_PAGESIZE);
    apr_size_t size = ncap;
    void *na;

    if (pg > 0) size = (ncap + (apr_size_t)pg - 1) / (apr_size_t)pg
                       * (apr_size_t)pg;
    if (m) {
        na = mremap(m->addr, m->size, size, MREMAP_MAYMOVE);
        if (na == MAP_FAILED) return APR_ENOMEM;
    }
    else {
        na = mmap(NULL, size, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (na == MAP_FAILED) return APR_ENOMEM;
        m = apr_palloc(b->pool, sizeof(*m));
        m->addr = na;
        m->size = size;
        apr_pool_cleanup_register(b->pool, m, buf_unmap,
                                  apr_pool_cleanup_null);
        if (b->len) memcpy(na, b->data, b->len);
        b->map = m;
    }
    m->addr = na;
    m->size = size;
    b->data = na;
    b->cap = ncap;
    return APR_SUCCESS;
}
#endif

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
    /* never more than max allows: writers that check the capacity alone
     * stay within max */
    if (b->max < ncap - 1) ncap = b->max + 1;
#ifdef BUF_MAP_MIN
    if (ncap >= BUF_MAP_MIN) return buf_map_grow(b, ncap);
#endif
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
