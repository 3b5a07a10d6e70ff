/* A growable byte buffer in pool memory, bounded (core). From 1 MB on
 * (on Linux) the bytes are an anonymous mapping that grows in place and is
 * unmapped by a cleanup of the pool: data is valid until the pool is
 * cleared, and moves when the buffer grows. */
#ifndef LLMP_BUF_H
#define LLMP_BUF_H

#include <apr_pools.h>
#include <apr_errno.h>

typedef struct llmp_buf {
    apr_pool_t *pool;
    char *data;            /* NUL terminated once anything was appended */
    apr_size_t len, cap;
    apr_size_t max;        /* appending beyond max bytes fails */
    apr_size_t first;      /* size of the first allocation; 0: 16 KB */
    void *map;             /* the mapping, once the buffer is big */
} llmp_buf_t;

void llmp_buf_init(llmp_buf_t *b, apr_pool_t *p, apr_size_t max);
/* Copy len bytes to the end; APR_ENOSPC (and nothing appended) when the
 * result would exceed max. */
apr_status_t llmp_buf_append(llmp_buf_t *b, const char *data, apr_size_t len);
/* Make room for len more bytes and a NUL after them (the capacity at least
 * doubles when it grows); APR_ENOSPC when len more would exceed max. The
 * caller may then write up to len bytes at data + len, and must keep the
 * NUL after what it keeps. The capacity never exceeds max + 1. */
apr_status_t llmp_buf_reserve(llmp_buf_t *b, apr_size_t len);

#endif
