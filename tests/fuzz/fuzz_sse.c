/* Fuzz target: the SSE parser, fed the input in pieces whose sizes come
 * from the input itself. */
#include <stdint.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>
#include "llmp_sse.h"
#include "fuzz_common.h"

static apr_status_t on_event(void *baton, const char *event,
                             const char *data, apr_size_t len)
{
    size_t *total = baton;
    *total += len + strlen(event);
    return len == 5 && !memcmp(data, "abort", 5) ? APR_EGENERAL : APR_SUCCESS;
}

static apr_status_t on_comment(void *baton, const char *text, apr_size_t len)
{
    size_t *total = baton;
    *total += len + (len && text[0] == '!');
    return APR_SUCCESS;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    apr_pool_t *p;
    llmp_sse_parser_t *sp;
    size_t total = 0, step;

    if (!init) { apr_initialize(); init = 1; }
    apr_pool_create(&p, NULL);
    sp = llmp_sse_parser_create(p, 4096, on_event, &total);
    llmp_sse_set_comment_fn(sp, on_comment);
    step = size ? (size_t)(data[0] % 17) + 1 : 1;
    fuzz_feed_steps(sp, (const char *)data, size, step);
    llmp_sse_finish(sp);
    apr_pool_destroy(p);
    return 0;
}
