/* Pools of duplicate entries, passive health and retries: the decisions,
 * without httpd (core). The glue (src/mod_llmproxy_pool.c) keeps the
 * back-off table in shared memory and runs the calls. */
#ifndef LLMP_POOL_H
#define LLMP_POOL_H

#include <apr_pools.h>
#include <apr_time.h>
#include "llmp_http.h"

/* The longest back-off of a member that keeps failing. */
#define LLMP_POOL_BACKOFF_MAX   apr_time_from_sec(600)

/* How long a member stays in back-off after its failures-th failure in a
 * row (1 for the first): base, doubled for each further failure, at most
 * LLMP_POOL_BACKOFF_MAX (and at least base when base is larger). */
apr_interval_time_t llmp_pool_backoff(apr_interval_time_t base,
                                      unsigned failures);

/* What one backend call did, as far as retrying is concerned. */
typedef struct llmp_pool_call {
    llmp_http_outcome_e outcome;   /* the transfer */
    long status;                   /* the backend's HTTP status, 0: none */
    int sent;                      /* a byte went to the client */
    int stream;                    /* a stream was being relayed (2xx SSE) */
    apr_size_t events;             /* backend stream events received */
    int stream_done;               /* the stream's end came */
    int local_error;               /* the call stopped for a reason of this
                                      server's (a limit, a client gone) */
} llmp_pool_call_t;

/* Why a call failed in a way that puts its member in back-off and allows
 * another call ("connect", "timeout", "http-503", "stream-broken", ...),
 * or NULL: it succeeded, or failed in a way that is the request's own
 * (any 4xx but 429) or happened after the client got a byte. */
const char *llmp_pool_failure(const llmp_pool_call_t *c);

/* The seconds of a Retry-After value (delta-seconds or an HTTP date,
 * against now), or -1 when there is none or it cannot be read. */
apr_interval_time_t llmp_pool_retry_after(const char *value, apr_time_t now);

/* The order in which a request tries the n members of a pool whose
 * back-off ends at until[i] (0: never failed): the members not in back-off
 * at now in round-robin order from start % n; the ones in back-off only
 * when no member is out of it (then by the end of their back-off, the
 * soonest first). Writes the indexes to order (n slots) and returns how
 * many it wrote; *healthy says how many of them are out of back-off. */
int llmp_pool_order(const apr_time_t *until, int n, unsigned start,
                    apr_time_t now, int *order, int *healthy);

/* A 64-bit FNV-1a hash of s (the key of a member in the shared table). */
apr_uint64_t llmp_pool_hash(const char *s);

#endif
