/* The HTTP client: the only part of mod_llmproxy that calls libcurl (core).
 *
 * A per-process pool of easy handles keeps backend connections (and TLS
 * sessions) alive between requests; DNS and TLS sessions are shared between
 * handles. Every call is bounded by a connect timeout and either an overall
 * timeout or, for streams, a stall timeout. */
#ifndef LLMP_HTTP_H
#define LLMP_HTTP_H

#include <apr_pools.h>
#include <apr_errno.h>

typedef struct llmp_http_pool llmp_http_pool_t;

/* Once per process, before any thread or fork. */
apr_status_t llmp_http_global_init(const char **err);
void llmp_http_global_cleanup(void);
/* "libcurl/8.x OpenSSL/..." */
const char *llmp_http_version(void);

/* The CA bundle file and directory libcurl trusts by default (either may
 * be NULL), allocated from p. */
void llmp_http_default_ca(apr_pool_t *p, const char **file, const char **dir);

/* A pool of at most max_idle idle handles; destroyed with p. NULL when it
 * cannot be created (out of memory, no mutex). */
llmp_http_pool_t *llmp_http_pool_create(apr_pool_t *p, int max_idle);

typedef struct llmp_http_opts {
    long connect_timeout_ms;   /* time to connect (TCP + TLS) */
    long timeout_ms;           /* whole call; for a stream: longest silence */
    int stream;                /* timeout_ms is a stall timeout */
    const char *ca_file;       /* extra CA bundle, or NULL */
    int verify;                /* verify TLS peer and host (default 1) */
} llmp_http_opts_t;

/* Called once with the final status and Content-Type before the first
 * body byte (or at the end for an empty body). Non-zero aborts. */
typedef int llmp_http_head_fn(void *baton, long status,
                              const char *content_type);
/* Called with each piece of the body as it arrives; the data must be copied
 * out. Non-zero aborts the transfer. */
typedef int llmp_http_data_fn(void *baton, const char *buf, apr_size_t len);
/* Called about every second while the transfer runs, even when no data
 * flows. Non-zero aborts (the client went away). */
typedef int llmp_http_tick_fn(void *baton);

typedef struct llmp_http_req {
    const char *method;            /* "GET" or "POST" */
    const char *url;
    const char *const *headers;    /* "Name: value", NULL terminated */
    const char *body;              /* must live until the call returns */
    apr_size_t body_len;
    llmp_http_opts_t opts;
    llmp_http_head_fn *on_head;
    llmp_http_data_fn *on_data;
    llmp_http_tick_fn *on_tick;
    void *baton;
} llmp_http_req_t;

typedef enum {
    LLMP_HTTP_OK = 0,          /* a complete response was received */
    LLMP_HTTP_CONNECT,         /* could not resolve or connect */
    LLMP_HTTP_TIMEOUT,         /* timed out (connect, total or stall) */
    LLMP_HTTP_ABORTED,         /* a callback asked to stop */
    LLMP_HTTP_FAILED           /* reset, TLS or protocol error */
} llmp_http_outcome_e;

typedef struct llmp_http_result {
    llmp_http_outcome_e outcome;
    long status;               /* 0 if no response was received */
    const char *content_type;  /* or NULL */
    const char *error;         /* curl's description, never a header */
    int reused;                /* the connection was reused */
    int head_called;
    apr_interval_time_t retry_after; /* the answer's Retry-After (see
                                        CURLINFO_RETRY_AFTER), -1: none */
} llmp_http_result_t;

/* Perform one request. Returns APR_SUCCESS when res->outcome is
 * LLMP_HTTP_OK, APR_EGENERAL otherwise (see res). */
apr_status_t llmp_http_perform(llmp_http_pool_t *hp, const llmp_http_req_t *req,
                               llmp_http_result_t *res, apr_pool_t *p);

/* Buffered GET of at most max bytes (larger: outcome FAILED, error says so). */
apr_status_t llmp_http_get(llmp_http_pool_t *hp, const char *url,
                           const char *const *headers,
                           const llmp_http_opts_t *opts, apr_size_t max,
                           char **body, apr_size_t *len,
                           llmp_http_result_t *res, apr_pool_t *p);

#endif
