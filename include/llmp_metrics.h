/* Prometheus metrics of the gateway (core, no httpd header): the table in
 * shared memory that every child adds to, and its rendering in the
 * Prometheus text format 0.0.4.
 *
 * The table is one block of memory without pointers, laid out at start-up
 * for a fixed number of model slots and user slots (llmp_metrics_dims_t):
 * a model (with its provider) takes a free slot the first time it is
 * counted and keeps it; a model that finds no free slot (or whose name is
 * too long for one) is counted under model="other", provider="other". The
 * same for users (user="other"). Nothing is ever dropped. A request that
 * called no model (model "-", provider "-") and user "-" have a slot of
 * their own besides these, so they never take one from a model or user.
 *
 * Every update is an atomic operation (apr_atomic_*): no lock, safe for
 * processes and threads alike. A slot is claimed with a compare-and-swap
 * on its state word. */
#ifndef LLMP_METRICS_H
#define LLMP_METRICS_H

#include <apr_pools.h>
#include <apr_time.h>

/* The longest model name and provider name a slot holds (bytes, without
 * the NUL); longer ones are counted under "other". */
#define LLMP_METRICS_MODEL_MAX    127
#define LLMP_METRICS_PROVIDER_MAX 31
#define LLMP_METRICS_USER_MAX     63

typedef struct llmp_metrics_dims {
    int models;                    /* model slots, "other" not included */
    int users;                     /* user slots, "other" not included;
                                      0: no user label at all */
} llmp_metrics_dims_t;

typedef struct llmp_metrics llmp_metrics_t;

/* The bytes a table of these dimensions takes. */
apr_size_t llmp_metrics_size(const llmp_metrics_dims_t *d);

/* The table at mem (size bytes, from llmp_metrics_size): when mem already
 * holds a table of the same dimensions (a restart keeps the segment), it is
 * used as it is and *kept is 1; else it is laid out anew (zeroed). The
 * view is allocated from p. NULL when size is too small. */
llmp_metrics_t *llmp_metrics_open(apr_pool_t *p, void *mem, apr_size_t size,
                                  const llmp_metrics_dims_t *d, int *kept);

/* One finished request. */
typedef struct llmp_metrics_event {
    const char *model;             /* NULL or "": "-" */
    const char *provider;          /* NULL or "": "-" */
    const char *endpoint;          /* one of the handler's endpoint names
                                      (others: "unknown") */
    const char *user;              /* NULL or "": "-"; ignored without
                                      user slots */
    int status;                    /* HTTP status */
    int has_tokens;
    apr_int64_t prompt_tokens, completion_tokens, cached_tokens;
    double cost;
    double duration;               /* backend call, seconds; < 0: none */
    double ttft;                   /* time to first token, seconds; < 0:
                                      none */
    const char *limit;             /* NULL: not refused by a limit; else
                                      the limit that refused it,
                                      "what/period/scope" (the limits'
                                      names, llmp_limits.h); any other
                                      value is counted as "other" */
} llmp_metrics_event_t;

void llmp_metrics_add(llmp_metrics_t *m, const llmp_metrics_event_t *e);

/* llmproxy_active_streams += delta (+1 or -1). */
void llmp_metrics_streams(llmp_metrics_t *m, int delta);

/* The state of one model list source, for the llmproxy_model_list_*
 * metrics. */
typedef struct llmp_metrics_source {
    const char *url;               /* the source label (credentials and
                                      query removed by the renderer) */
    int has_list;
    int models;
    double age_seconds;            /* since the last successful fetch */
    apr_uint64_t failures;         /* failed fetches */
} llmp_metrics_source_t;

/* Values read at the scrape from other parts of the server. */
typedef struct llmp_metrics_extra {
    int pool_backoff;              /* pool members in back-off now */
    apr_uint64_t usagedb_failures; /* usage database rows not written */
} llmp_metrics_extra_t;

/* The whole exposition (HELP and TYPE lines, every series that is not
 * zero, label values escaped), in p. x may be NULL (zeros). */
char *llmp_metrics_render(apr_pool_t *p, llmp_metrics_t *m,
                          const llmp_metrics_source_t *src, int nsrc,
                          const llmp_metrics_extra_t *x, apr_size_t *len);

/* The histograms' upper bounds (seconds), +Inf not included. */
extern const double llmp_metrics_buckets[];
extern const int llmp_metrics_nbuckets;

#endif
