/* Helpers shared by the fuzz targets (tests/fuzz/fuzz_*.c): a sink that
 * counts emitted bytes and the SSE feeding into a translator. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include "llmp_provider.h"
#include "llmp_sse.h"

/* llmp_emit_fn that adds each chunk's length to the size_t at baton. */
static inline apr_status_t fuzz_count_emit(void *baton, const char *data,
                                           apr_size_t len)
{
    size_t *total = baton;
    *total += len;
    return APR_SUCCESS;
}

/* Baton of fuzz_on_event: the translator a parsed SSE event goes to. */
typedef struct {
    const llmp_provider_ops_t *ops;
    llmp_xlate_t *x;
} fuzz_feed_t;

/* llmp_sse_event_fn: one event into ops->chat_stream_event; an error stops
 * the parser. */
static inline apr_status_t fuzz_on_event(void *baton, const char *event,
                                         const char *data, apr_size_t len)
{
    fuzz_feed_t *f = baton;
    return f->ops->chat_stream_event(f->x, event, data, len)
           ? APR_EGENERAL : APR_SUCCESS;
}

/* Feeds buf to the parser in pieces of step bytes (step > 0), stopping at
 * the first failure, whose status it returns. */
static inline apr_status_t fuzz_feed_steps(llmp_sse_parser_t *sp,
                                           const char *buf, size_t len,
                                           size_t step)
{
    size_t off = 0;

    while (off < len) {
        size_t n = len - off < step ? len - off : step;
        apr_status_t rv = llmp_sse_feed(sp, buf + off, n);
        if (rv != APR_SUCCESS) return rv;
        off += n;
    }
    return APR_SUCCESS;
}

#endif
