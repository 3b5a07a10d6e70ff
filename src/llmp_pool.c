/* Pools of duplicate entries, passive health and retries: the decisions
 * (core; see include/llmp_pool.h). */
#include <apr_date.h>
#include <apr_lib.h>
#include <stdlib.h>
#include <string.h>

#include "llmp_pool.h"

apr_interval_time_t llmp_pool_backoff(apr_interval_time_t base,
                                      unsigned failures)
{
    apr_interval_time_t t = base;

    if (base <= 0) return 0;
    if (base >= LLMP_POOL_BACKOFF_MAX) return base;
    while (failures > 1 && t < LLMP_POOL_BACKOFF_MAX) {
        t *= 2;
        failures--;
    }
    return t > LLMP_POOL_BACKOFF_MAX ? LLMP_POOL_BACKOFF_MAX : t;
}

const char *llmp_pool_failure(const llmp_pool_call_t *c)
{
    if (c->sent || c->local_error) return NULL;
    switch (c->outcome) {
    case LLMP_HTTP_CONNECT:
        return "connect";
    case LLMP_HTTP_TIMEOUT:
        /* before the first byte of the answer only */
        return c->status ? NULL : "timeout";
    case LLMP_HTTP_ABORTED:
        return NULL;
    default:
        break;
    }
    switch (c->status) {
    case 429: return "http-429";
    case 500: return "http-500";
    case 502: return "http-502";
    case 503: return "http-503";
    case 504: return "http-504";
    case 529: return "http-529";
    default: break;
    }
    /* a 2xx stream that broke (or ended) before its first event: nothing
     * of it was generated as far as anyone can tell */
    if (c->stream && !c->events && !c->stream_done)
        return "stream-broken";
    if (c->outcome == LLMP_HTTP_FAILED && !c->status) return "failed";
    return NULL;
}

apr_interval_time_t llmp_pool_retry_after(const char *v, apr_time_t now)
{
    const char *c;
    apr_time_t t;

    if (!v) return -1;
    while (*v == ' ' || *v == '\t') v++;
    if (!*v) return -1;
    for (c = v; apr_isdigit(*c); c++)
        ;
    if (c != v && (!*c || *c == ' ')) {
        if (c - v > 9) return apr_time_from_sec(86400);
        return apr_time_from_sec(atol(v));
    }
    t = apr_date_parse_http(v);
    if (t == APR_DATE_BAD) return -1;
    return t > now ? t - now : 0;
}

int llmp_pool_order(const apr_time_t *until, int n, unsigned start,
                    apr_time_t now, int *order, int *healthy)
{
    int i, k = 0, h;

    if (n <= 0) {
        *healthy = 0;
        return 0;
    }
    for (i = 0; i < n; i++) {
        int j = (int)((start + (unsigned)i) % (unsigned)n);
        if (until[j] <= now) order[k++] = j;
    }
    h = k;
    *healthy = h;
    if (h) return h;
    /* every member is in back-off: the one whose back-off ends first is
     * the best bet (insertion sort: pools are small) */
    for (i = 0; i < n; i++) {
        int j = k;
        while (j > 0 && until[order[j - 1]] > until[i]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
        k++;
    }
    return k;
}

apr_uint64_t llmp_pool_hash(const char *s)
{
    apr_uint64_t h = APR_UINT64_C(14695981039346656037);

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= APR_UINT64_C(1099511628211);
    }
    return h;
}
