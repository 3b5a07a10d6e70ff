/* Prometheus metrics: the shared table and its text exposition. See
 * include/llmp_metrics.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_atomic.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include "llmp_metrics.h"
#include "llmp_buf.h"
#include "llmp_limits.h"

#define METRICS_MAGIC   0x504d4c4cU    /* "LLMP" */
#define METRICS_VERSION 2U

/* The endpoints the handler names (mod_llmproxy.c's endpoint_names). */
static const char *const endpoints[] = {
    "models", "model", "chat.completions", "embeddings",
    "images.generations", "completions", "health", "unknown",
    "responses", "response", "messages", "count_tokens"
};
#define N_ENDPOINTS ((int)(sizeof(endpoints) / sizeof(endpoints[0])))
#define EP_UNKNOWN  7

/* Statuses counted as themselves; any other is counted under its class
 * ("1xx" .. "5xx"). */
static const int status_codes[] = {
    200, 201, 204, 206, 301, 302, 304, 400, 401, 403, 404, 405, 408, 409,
    413, 415, 422, 429, 431, 499, 500, 501, 502, 503, 504
};
#define N_CODES   ((int)(sizeof(status_codes) / sizeof(status_codes[0])))
#define N_CLASSES 5
#define N_STATUSES (N_CODES + N_CLASSES)

/* Calls to a language model take from a fraction of a second (a short
 * answer, an embedding) to minutes (a long reasoning stream). */
const double llmp_metrics_buckets[] = {
    0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300
};
const int llmp_metrics_nbuckets =
    (int)(sizeof(llmp_metrics_buckets) / sizeof(llmp_metrics_buckets[0]));
#define N_BUCKETS ((int)(sizeof(llmp_metrics_buckets) \
                         / sizeof(llmp_metrics_buckets[0])))

/* The limits that refuse a request (llmp_limits.h): what x period x
 * scope, then "other" for a name outside these (the label set stays
 * bounded whatever the note says). */
#define N_LIM_WHAT   3
#define N_LIM_PERIOD 5
#define N_LIM_SCOPE  3
#define N_LIMITS     (N_LIM_WHAT * N_LIM_PERIOD * N_LIM_SCOPE + 1)
#define LIM_OTHER    (N_LIMITS - 1)

enum { TOK_PROMPT, TOK_COMPLETION, TOK_CACHED, N_TOK };
static const char *const tok_types[N_TOK] = { "prompt", "completion",
                                              "cached" };

/* Slot states */
#define SLOT_FREE    0U
#define SLOT_CLAIMED 1U                /* being written */
#define SLOT_READY   2U

typedef struct {
    apr_uint32_t magic, version;
    apr_uint32_t models, users;        /* the dimensions asked for */
    apr_uint32_t endpoints, statuses, buckets;
    volatile apr_uint32_t active_streams;
    apr_uint64_t size;
} metrics_hdr_t;

typedef struct {
    volatile apr_uint32_t state;
    char model[LLMP_METRICS_MODEL_MAX + 1];
    char provider[LLMP_METRICS_PROVIDER_MAX + 1];
    apr_uint32_t pad;
} model_slot_t;

typedef struct {
    volatile apr_uint32_t state;
    char name[LLMP_METRICS_USER_MAX + 1];
    apr_uint32_t pad;
} user_slot_t;

struct llmp_metrics {
    metrics_hdr_t *h;
    model_slot_t *ms;                  /* [M]: the last two are "-" and
                                          "other" */
    user_slot_t *us;                   /* [U] when has_users: the same */
    int M, U, has_users;
    volatile apr_uint64_t *req;        /* [M][U][E][S] */
    volatile apr_uint64_t *tok;        /* [M][U][N_TOK] */
    volatile apr_uint64_t *cost;       /* [M][U]: a double's bits */
    volatile apr_uint64_t *dur;        /* [M][B + 1]: per bucket (+Inf
                                          last), not cumulative */
    volatile apr_uint64_t *dur_sum;    /* [M]: a double's bits */
    volatile apr_uint64_t *ttft;
    volatile apr_uint64_t *ttft_sum;
    volatile apr_uint64_t *refusals;   /* [N_LIMITS] */
};

#define ALIGN8(n) (((n) + 7) & ~(apr_size_t)7)

static void layout(const llmp_metrics_dims_t *d, apr_size_t off[9],
                   int *M, int *U)
{
    apr_size_t o = ALIGN8(sizeof(metrics_hdr_t));
    /* the last two slots: "-" (no model, no user) and "other" */
    *M = d->models + 2;
    *U = d->users > 0 ? d->users + 2 : 1;
    off[0] = o;                              /* model slots */
    o += ALIGN8(sizeof(model_slot_t) * (apr_size_t)*M);
    off[1] = o;                              /* user slots */
    o += d->users > 0 ? ALIGN8(sizeof(user_slot_t) * (apr_size_t)*U) : 0;
    off[2] = o;                              /* requests */
    o += sizeof(apr_uint64_t) * (apr_size_t)*M * (apr_size_t)*U
         * N_ENDPOINTS * N_STATUSES;
    off[3] = o;                              /* tokens */
    o += sizeof(apr_uint64_t) * (apr_size_t)*M * (apr_size_t)*U * N_TOK;
    off[4] = o;                              /* cost */
    o += sizeof(apr_uint64_t) * (apr_size_t)*M * (apr_size_t)*U;
    off[5] = o;                              /* durations, sums */
    o += sizeof(apr_uint64_t) * (apr_size_t)*M * (N_BUCKETS + 2);
    off[6] = o;                              /* ttft, sums */
    o += sizeof(apr_uint64_t) * (apr_size_t)*M * (N_BUCKETS + 2);
    off[7] = o;                              /* limit refusals */
    o += sizeof(apr_uint64_t) * N_LIMITS;
    off[8] = o;                              /* the end */
}

apr_size_t llmp_metrics_size(const llmp_metrics_dims_t *d)
{
    apr_size_t off[9];
    int M, U;

    layout(d, off, &M, &U);
    return off[8];
}

llmp_metrics_t *llmp_metrics_open(apr_pool_t *p, void *mem, apr_size_t size,
                                  const llmp_metrics_dims_t *d, int *kept)
{
    apr_size_t off[9];
    llmp_metrics_t *m;
    char *base = mem;
    int M, U;

    if (d->models < 0 || d->users < 0) return NULL;
    layout(d, off, &M, &U);
    if (!mem || size < off[8]) return NULL;
    m = apr_pcalloc(p, sizeof(*m));
    m->h = (metrics_hdr_t *)base;
    m->ms = (model_slot_t *)(base + off[0]);
    m->us = d->users > 0 ? (user_slot_t *)(base + off[1]) : NULL;
    m->M = M;
    m->U = U;
    m->has_users = d->users > 0;
    m->req = (apr_uint64_t *)(base + off[2]);
    m->tok = (apr_uint64_t *)(base + off[3]);
    m->cost = (apr_uint64_t *)(base + off[4]);
    m->dur = (apr_uint64_t *)(base + off[5]);
    m->dur_sum = m->dur + (apr_size_t)M * (N_BUCKETS + 1);
    m->ttft = (apr_uint64_t *)(base + off[6]);
    m->ttft_sum = m->ttft + (apr_size_t)M * (N_BUCKETS + 1);
    m->refusals = (apr_uint64_t *)(base + off[7]);

    *kept = m->h->magic == METRICS_MAGIC && m->h->version == METRICS_VERSION
            && m->h->models == (apr_uint32_t)d->models
            && m->h->users == (apr_uint32_t)d->users
            && m->h->endpoints == N_ENDPOINTS
            && m->h->statuses == N_STATUSES
            && m->h->buckets == N_BUCKETS
            && m->h->size == (apr_uint64_t)off[8];
    if (*kept) return m;
    memset(base, 0, off[8]);
    m->h->version = METRICS_VERSION;
    m->h->models = (apr_uint32_t)d->models;
    m->h->users = (apr_uint32_t)d->users;
    m->h->endpoints = N_ENDPOINTS;
    m->h->statuses = N_STATUSES;
    m->h->buckets = N_BUCKETS;
    m->h->size = (apr_uint64_t)off[8];
    strcpy(m->ms[M - 2].model, "-");
    strcpy(m->ms[M - 2].provider, "-");
    m->ms[M - 2].state = SLOT_READY;
    strcpy(m->ms[M - 1].model, "other");
    strcpy(m->ms[M - 1].provider, "other");
    m->ms[M - 1].state = SLOT_READY;
    if (m->us) {
        strcpy(m->us[U - 2].name, "-");
        m->us[U - 2].state = SLOT_READY;
        strcpy(m->us[U - 1].name, "other");
        m->us[U - 1].state = SLOT_READY;
    }
    m->h->magic = METRICS_MAGIC;
    return m;
}

static apr_uint32_t fnv1a(const char *a, const char *b)
{
    apr_uint32_t h = 2166136261U;
    for (; *a; a++) h = (h ^ (unsigned char)*a) * 16777619U;
    h = (h ^ 0xffU) * 16777619U;
    for (; b && *b; b++) h = (h ^ (unsigned char)*b) * 16777619U;
    return h;
}

/* Wait (briefly) for a slot another process is writing; its state. */
static apr_uint32_t slot_settle(volatile apr_uint32_t *state)
{
    apr_uint32_t st = apr_atomic_read32(state);
    int i;

    for (i = 0; st == SLOT_CLAIMED && i < 1000; i++) {
        apr_thread_yield();
        st = apr_atomic_read32(state);
    }
    return st;
}

/* The slot of (model, provider): found, or a free one claimed; the
 * "other" slot when the name does not fit or every slot is taken. Slots
 * are never freed, so a ready slot's name never changes. */
static int model_slot(llmp_metrics_t *m, const char *model,
                      const char *provider)
{
    int n = m->M - 2, i, idx;
    apr_uint32_t st;

    if (!strcmp(model, "-") && !strcmp(provider, "-")) return m->M - 2;
    if (n == 0 || strlen(model) > LLMP_METRICS_MODEL_MAX
        || strlen(provider) > LLMP_METRICS_PROVIDER_MAX)
        return m->M - 1;
    idx = (int)(fnv1a(model, provider) % (apr_uint32_t)n);
    for (i = 0; i < n; i++, idx = (idx + 1) % n) {
        model_slot_t *s = &m->ms[idx];
        st = apr_atomic_read32(&s->state);
        if (st == SLOT_FREE
            && apr_atomic_cas32(&s->state, SLOT_CLAIMED, SLOT_FREE)
               == SLOT_FREE) {
            strcpy(s->model, model);
            strcpy(s->provider, provider);
            /* a full barrier: the names are visible before the state */
            apr_atomic_xchg32(&s->state, SLOT_READY);
            return idx;
        }
        st = slot_settle(&s->state);
        if (st == SLOT_READY && !strcmp(s->model, model)
            && !strcmp(s->provider, provider))
            return idx;
        /* another name, or a claim that never finished: go on */
    }
    return m->M - 1;
}

static int user_slot(llmp_metrics_t *m, const char *user)
{
    int n = m->U - 2, i, idx;
    apr_uint32_t st;

    if (!m->has_users) return 0;
    if (!strcmp(user, "-")) return m->U - 2;
    if (n == 0 || strlen(user) > LLMP_METRICS_USER_MAX) return m->U - 1;
    idx = (int)(fnv1a(user, NULL) % (apr_uint32_t)n);
    for (i = 0; i < n; i++, idx = (idx + 1) % n) {
        user_slot_t *s = &m->us[idx];
        st = apr_atomic_read32(&s->state);
        if (st == SLOT_FREE
            && apr_atomic_cas32(&s->state, SLOT_CLAIMED, SLOT_FREE)
               == SLOT_FREE) {
            strcpy(s->name, user);
            apr_atomic_xchg32(&s->state, SLOT_READY);
            return idx;
        }
        st = slot_settle(&s->state);
        if (st == SLOT_READY && !strcmp(s->name, user)) return idx;
    }
    return m->U - 1;
}

static int endpoint_index(const char *ep)
{
    int i;
    for (i = 0; ep && i < N_ENDPOINTS; i++)
        if (!strcmp(endpoints[i], ep)) return i;
    return EP_UNKNOWN;
}

static int status_index(int status)
{
    int i, cls;
    for (i = 0; i < N_CODES; i++)
        if (status_codes[i] == status) return i;
    cls = status / 100;
    if (cls < 1) cls = 5;
    if (cls > 5) cls = 5;
    return N_CODES + cls - 1;
}

static const char *status_label(apr_pool_t *p, int i)
{
    static const char *const classes[N_CLASSES] = { "1xx", "2xx", "3xx",
                                                    "4xx", "5xx" };
    return i < N_CODES ? apr_itoa(p, status_codes[i]) : classes[i - N_CODES];
}

/* *mem += v, for a double kept as its bits */
static void add_double(volatile apr_uint64_t *mem, double v)
{
    apr_uint64_t old, new;
    double d;

    do {
        old = apr_atomic_read64(mem);
        memcpy(&d, &old, sizeof(d));
        d += v;
        memcpy(&new, &d, sizeof(new));
    } while (apr_atomic_cas64(mem, new, old) != old);
}

static double read_double(volatile apr_uint64_t *mem)
{
    apr_uint64_t bits = apr_atomic_read64(mem);
    double d;
    memcpy(&d, &bits, sizeof(d));
    return d;
}

static void observe(volatile apr_uint64_t *counts, volatile apr_uint64_t *sum,
                    double v)
{
    int b;
    for (b = 0; b < N_BUCKETS && v > llmp_metrics_buckets[b]; b++)
        ;
    apr_atomic_add64(&counts[b], 1);
    add_double(sum, v);
}

/* The index of a limit's name "what/period/scope"; LIM_OTHER for any
 * other text. */
static int limit_index(const char *v)
{
    const char *p1 = strchr(v, '/'), *p2 = p1 ? strchr(p1 + 1, '/') : NULL;
    int w, pe, sc;

    if (!p2) return LIM_OTHER;
    for (w = 0; w < N_LIM_WHAT; w++) {
        const char *n = llmp_limit_what_name((llmp_limit_what_e)w);
        if (strlen(n) == (apr_size_t)(p1 - v) && !strncmp(n, v, p1 - v))
            break;
    }
    for (pe = 0; pe < N_LIM_PERIOD; pe++) {
        const char *n = llmp_limit_period_name((llmp_limit_period_e)pe);
        if (strlen(n) == (apr_size_t)(p2 - p1 - 1)
            && !strncmp(n, p1 + 1, p2 - p1 - 1))
            break;
    }
    for (sc = 0; sc < N_LIM_SCOPE; sc++)
        if (!strcmp(llmp_limit_scope_name((llmp_limit_scope_e)sc), p2 + 1))
            break;
    if (w == N_LIM_WHAT || pe == N_LIM_PERIOD || sc == N_LIM_SCOPE)
        return LIM_OTHER;
    return (w * N_LIM_PERIOD + pe) * N_LIM_SCOPE + sc;
}

static const char *limit_label(apr_pool_t *p, int i)
{
    if (i == LIM_OTHER) return "other";
    return apr_pstrcat(p,
        llmp_limit_what_name((llmp_limit_what_e)(i / (N_LIM_PERIOD
                                                       * N_LIM_SCOPE))),
        "/", llmp_limit_period_name((llmp_limit_period_e)(i / N_LIM_SCOPE
                                                           % N_LIM_PERIOD)),
        "/", llmp_limit_scope_name((llmp_limit_scope_e)(i % N_LIM_SCOPE)),
        NULL);
}

static const char *or_dash(const char *s)
{
    return s && *s ? s : "-";
}

void llmp_metrics_add(llmp_metrics_t *m, const llmp_metrics_event_t *e)
{
    int mi, ui;
    apr_size_t mu;

    if (!m) return;
    mi = model_slot(m, or_dash(e->model), or_dash(e->provider));
    ui = user_slot(m, or_dash(e->user));
    mu = (apr_size_t)mi * (apr_size_t)m->U + (apr_size_t)ui;
    if (e->has_tokens) {
        if (e->prompt_tokens > 0)
            apr_atomic_add64(&m->tok[mu * N_TOK + TOK_PROMPT],
                             (apr_uint64_t)e->prompt_tokens);
        if (e->completion_tokens > 0)
            apr_atomic_add64(&m->tok[mu * N_TOK + TOK_COMPLETION],
                             (apr_uint64_t)e->completion_tokens);
        if (e->cached_tokens > 0)
            apr_atomic_add64(&m->tok[mu * N_TOK + TOK_CACHED],
                             (apr_uint64_t)e->cached_tokens);
    }
    if (e->cost > 0) add_double(&m->cost[mu], e->cost);
    if (e->duration >= 0)
        observe(&m->dur[(apr_size_t)mi * (N_BUCKETS + 1)], &m->dur_sum[mi],
                e->duration);
    if (e->ttft >= 0)
        observe(&m->ttft[(apr_size_t)mi * (N_BUCKETS + 1)], &m->ttft_sum[mi],
                e->ttft);
    if (e->limit) apr_atomic_add64(&m->refusals[limit_index(e->limit)], 1);
    /* last: a scrape that sees the request sees what it used */
    apr_atomic_add64(&m->req[(mu * N_ENDPOINTS + endpoint_index(e->endpoint))
                             * N_STATUSES + status_index(e->status)], 1);
}

void llmp_metrics_streams(llmp_metrics_t *m, int delta)
{
    if (!m) return;
    if (delta > 0) apr_atomic_inc32(&m->h->active_streams);
    else if (delta < 0) apr_atomic_dec32(&m->h->active_streams);
}

/* ---- rendering ---- */

static void put(llmp_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(b->data ? b->data + b->len : NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || llmp_buf_reserve(b, (apr_size_t)n) != APR_SUCCESS) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (apr_size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (apr_size_t)n;
}

/* A label value: backslash, double quote and line feed escaped. */
static const char *esc(apr_pool_t *p, const char *s)
{
    apr_size_t n = 0;
    const char *c;
    char *out, *o;

    for (c = s; *c; c++)
        if (*c == '\\' || *c == '"' || *c == '\n') n++;
    if (!n) return s;
    o = out = apr_palloc(p, strlen(s) + n + 1);
    for (c = s; *c; c++) {
        if (*c == '\\' || *c == '"') { *o++ = '\\'; *o++ = *c; }
        else if (*c == '\n') { *o++ = '\\'; *o++ = 'n'; }
        else *o++ = *c;
    }
    *o = '\0';
    return out;
}

/* A sample value: integers as such, others with every digit a double
 * holds (Go's ParseFloat reads both). */
static const char *num(apr_pool_t *p, double v)
{
    char s[40];
    int prec;

    if (v < 9e15 && v > -9e15 && v == (double)(apr_int64_t)v)
        return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)v);
    /* the shortest that reads back as v (C's printf: APR's drops the
     * leading zero) */
    for (prec = 15; prec <= 17; prec++) {
        snprintf(s, sizeof(s), "%.*g", prec, v);
        if (strtod(s, NULL) == v) break;
    }
    return apr_pstrdup(p, s);
}

static void head(llmp_buf_t *b, const char *name, const char *type,
                 const char *help)
{
    put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The source label: the URL without credentials, query or fragment. */
static const char *source_label(apr_pool_t *p, const char *url)
{
    const char *s, *at, *end;
    char *u;

    if (!url) return "-";
    s = strstr(url, "://");
    u = apr_pstrdup(p, url);
    u[strcspn(u, "?#")] = '\0';
    if (!s) return u;
    s = u + (s - url) + 3;
    end = s + strcspn(s, "/");
    at = memchr(s, '@', (apr_size_t)(end - s));
    if (at) u = apr_pstrcat(p, apr_pstrmemdup(p, u, (apr_size_t)(s - u)),
                            at + 1, NULL);
    return u;
}

char *llmp_metrics_render(apr_pool_t *p, llmp_metrics_t *m,
                          const llmp_metrics_source_t *src, int nsrc,
                          const llmp_metrics_extra_t *x, apr_size_t *len)
{
    llmp_buf_t b;
    apr_hash_t *seen;
    int mi, ui, e, s, k, i, nm = 0;
    int *uniq;                         /* slot -> index of its model name */
    const char **names;                /* distinct model names (escaped) */
    const char **mlabel, **plabel, **ulabel;
    apr_uint64_t *tok, *dur, *ttft;
    double *cost, *dsum, *tsum;

    llmp_buf_init(&b, p, 256 * 1024 * 1024);
    llmp_buf_reserve(&b, 4096);

    /* the ready slots; several providers of one model name share the
     * model-only series (their sums) */
    mlabel = apr_pcalloc(p, sizeof(*mlabel) * (apr_size_t)m->M);
    plabel = apr_pcalloc(p, sizeof(*plabel) * (apr_size_t)m->M);
    ulabel = apr_pcalloc(p, sizeof(*ulabel) * (apr_size_t)m->U);
    uniq = apr_pcalloc(p, sizeof(*uniq) * (apr_size_t)m->M);
    names = apr_pcalloc(p, sizeof(*names) * (apr_size_t)m->M);
    seen = apr_hash_make(p);
    for (mi = 0; mi < m->M; mi++) {
        int *ix;
        if (apr_atomic_read32(&m->ms[mi].state) != SLOT_READY) {
            uniq[mi] = -1;
            continue;
        }
        mlabel[mi] = esc(p, m->ms[mi].model);
        plabel[mi] = esc(p, m->ms[mi].provider);
        ix = apr_hash_get(seen, mlabel[mi], APR_HASH_KEY_STRING);
        if (!ix) {
            ix = apr_palloc(p, sizeof(*ix));
            *ix = nm;
            names[nm++] = mlabel[mi];
            apr_hash_set(seen, mlabel[mi], APR_HASH_KEY_STRING, ix);
        }
        uniq[mi] = *ix;
    }
    for (ui = 0; ui < m->U; ui++)
        ulabel[ui] = !m->has_users ? NULL
            : apr_atomic_read32(&m->us[ui].state) == SLOT_READY
            ? esc(p, m->us[ui].name) : NULL;

    head(&b, "llmproxy_requests_total", "counter",
         "Requests served by mod_llmproxy, by model, provider, endpoint "
         "and HTTP status.");
    for (mi = 0; mi < m->M; mi++) {
        if (uniq[mi] < 0) continue;
        for (ui = 0; ui < m->U; ui++) {
            apr_size_t mu = (apr_size_t)mi * (apr_size_t)m->U + (apr_size_t)ui;
            if (m->has_users && !ulabel[ui]) continue;
            for (e = 0; e < N_ENDPOINTS; e++) {
                for (s = 0; s < N_STATUSES; s++) {
                    apr_uint64_t v = apr_atomic_read64(
                        &m->req[(mu * N_ENDPOINTS + e) * N_STATUSES + s]);
                    if (!v) continue;
                    put(&b, "llmproxy_requests_total{model=\"%s\","
                        "provider=\"%s\",endpoint=\"%s\",status=\"%s\"%s%s%s}"
                        " %" APR_UINT64_T_FMT "\n", mlabel[mi], plabel[mi],
                        endpoints[e], status_label(p, s),
                        m->has_users ? ",user=\"" : "",
                        m->has_users ? ulabel[ui] : "",
                        m->has_users ? "\"" : "", v);
                }
            }
        }
    }

    /* sums by model name (and user) */
    tok = apr_pcalloc(p, sizeof(*tok) * (apr_size_t)(nm + 1) * m->U * N_TOK);
    cost = apr_pcalloc(p, sizeof(*cost) * (apr_size_t)(nm + 1) * m->U);
    dur = apr_pcalloc(p, sizeof(*dur) * (apr_size_t)(nm + 1)
                         * (N_BUCKETS + 1));
    ttft = apr_pcalloc(p, sizeof(*ttft) * (apr_size_t)(nm + 1)
                          * (N_BUCKETS + 1));
    dsum = apr_pcalloc(p, sizeof(*dsum) * (apr_size_t)(nm + 1));
    tsum = apr_pcalloc(p, sizeof(*tsum) * (apr_size_t)(nm + 1));
    for (mi = 0; mi < m->M; mi++) {
        int n = uniq[mi];
        if (n < 0) continue;
        for (ui = 0; ui < m->U; ui++) {
            apr_size_t mu = (apr_size_t)mi * (apr_size_t)m->U + (apr_size_t)ui;
            apr_size_t nu = (apr_size_t)n * (apr_size_t)m->U + (apr_size_t)ui;
            for (k = 0; k < N_TOK; k++)
                tok[nu * N_TOK + k] += apr_atomic_read64(&m->tok[mu * N_TOK
                                                                 + k]);
            cost[nu] += read_double(&m->cost[mu]);
        }
        for (k = 0; k <= N_BUCKETS; k++) {
            dur[(apr_size_t)n * (N_BUCKETS + 1) + k] += apr_atomic_read64(
                &m->dur[(apr_size_t)mi * (N_BUCKETS + 1) + k]);
            ttft[(apr_size_t)n * (N_BUCKETS + 1) + k] += apr_atomic_read64(
                &m->ttft[(apr_size_t)mi * (N_BUCKETS + 1) + k]);
        }
        dsum[n] += read_double(&m->dur_sum[mi]);
        tsum[n] += read_double(&m->ttft_sum[mi]);
    }

    head(&b, "llmproxy_tokens_total", "counter",
         "Tokens the backends reported, by model and type (cached: the "
         "part of the prompt read from a cache).");
    for (i = 0; i < nm; i++) {
        for (ui = 0; ui < m->U; ui++) {
            apr_size_t nu = (apr_size_t)i * (apr_size_t)m->U + (apr_size_t)ui;
            if (m->has_users && !ulabel[ui]) continue;
            for (k = 0; k < N_TOK; k++) {
                if (!tok[nu * N_TOK + k]) continue;
                put(&b, "llmproxy_tokens_total{model=\"%s\",type=\"%s\"%s%s%s}"
                    " %" APR_UINT64_T_FMT "\n", names[i], tok_types[k],
                    m->has_users ? ",user=\"" : "",
                    m->has_users ? ulabel[ui] : "",
                    m->has_users ? "\"" : "", tok[nu * N_TOK + k]);
            }
        }
    }

    head(&b, "llmproxy_cost_total", "counter",
         "Cost of the calls from the model list's prices, by model (in "
         "the list's currency).");
    for (i = 0; i < nm; i++) {
        for (ui = 0; ui < m->U; ui++) {
            apr_size_t nu = (apr_size_t)i * (apr_size_t)m->U + (apr_size_t)ui;
            if (m->has_users && !ulabel[ui]) continue;
            if (!(cost[nu] > 0)) continue;
            put(&b, "llmproxy_cost_total{model=\"%s\"%s%s%s} %s\n", names[i],
                m->has_users ? ",user=\"" : "",
                m->has_users ? ulabel[ui] : "",
                m->has_users ? "\"" : "", num(p, cost[nu]));
        }
    }

    for (k = 0; k < 2; k++) {
        const char *name = k ? "llmproxy_time_to_first_token_seconds"
                             : "llmproxy_backend_duration_seconds";
        apr_uint64_t *h = k ? ttft : dur;
        double *sum = k ? tsum : dsum;
        head(&b, name, "histogram", k
             ? "Time from the start of the backend call to the first "
               "content event relayed to the client, by model (streams)."
             : "Duration of the backend calls, by model (a stream: until "
               "its end).");
        for (i = 0; i < nm; i++) {
            apr_uint64_t cum = 0;
            int bk;
            for (bk = 0; bk <= N_BUCKETS; bk++)
                cum += h[(apr_size_t)i * (N_BUCKETS + 1) + bk];
            if (!cum) continue;
            cum = 0;
            for (bk = 0; bk < N_BUCKETS; bk++) {
                cum += h[(apr_size_t)i * (N_BUCKETS + 1) + bk];
                put(&b, "%s_bucket{model=\"%s\",le=\"%s\"} %" APR_UINT64_T_FMT
                    "\n", name, names[i], num(p, llmp_metrics_buckets[bk]),
                    cum);
            }
            cum += h[(apr_size_t)i * (N_BUCKETS + 1) + N_BUCKETS];
            put(&b, "%s_bucket{model=\"%s\",le=\"+Inf\"} %" APR_UINT64_T_FMT
                "\n", name, names[i], cum);
            put(&b, "%s_sum{model=\"%s\"} %s\n", name, names[i],
                num(p, sum[i]));
            put(&b, "%s_count{model=\"%s\"} %" APR_UINT64_T_FMT "\n", name,
                names[i], cum);
        }
    }

    head(&b, "llmproxy_active_streams", "gauge",
         "Streams being relayed to clients now.");
    put(&b, "llmproxy_active_streams %u\n",
        (unsigned)apr_atomic_read32(&m->h->active_streams));

    head(&b, "llmproxy_limit_refusals_total", "counter",
         "Requests refused by a rate limit or budget, by limit "
         "(what/period/scope).");
    for (i = 0; i < N_LIMITS; i++) {
        apr_uint64_t v = apr_atomic_read64(&m->refusals[i]);
        if (!v) continue;
        put(&b, "llmproxy_limit_refusals_total{limit=\"%s\"} %"
            APR_UINT64_T_FMT "\n", limit_label(p, i), v);
    }

    head(&b, "llmproxy_pool_members_in_backoff", "gauge",
         "Pool members in back-off now (passive health), all models.");
    put(&b, "llmproxy_pool_members_in_backoff %d\n",
        x ? x->pool_backoff : 0);

    head(&b, "llmproxy_usage_db_failures_total", "counter",
         "Usage database rows that could not be written (LLMProxyUsageDB).");
    put(&b, "llmproxy_usage_db_failures_total %" APR_UINT64_T_FMT "\n",
        x ? x->usagedb_failures : (apr_uint64_t)0);

    {
        const char **lab = apr_pcalloc(p, sizeof(*lab) * (apr_size_t)(nsrc + 1));
        apr_hash_t *dup = apr_hash_make(p);
        for (i = 0; i < nsrc; i++) {
            const char *l = esc(p, source_label(p, src[i].url));
            int n = 1;
            while (apr_hash_get(dup, l, APR_HASH_KEY_STRING))
                l = apr_psprintf(p, "%s#%d", esc(p, source_label(
                                     p, src[i].url)), ++n);
            apr_hash_set(dup, l, APR_HASH_KEY_STRING, l);
            lab[i] = l;
        }
        head(&b, "llmproxy_model_list_models", "gauge",
             "Usable models in the model list, by list URL.");
        for (i = 0; i < nsrc; i++)
            put(&b, "llmproxy_model_list_models{source=\"%s\"} %d\n", lab[i],
                src[i].has_list ? src[i].models : 0);
        head(&b, "llmproxy_model_list_age_seconds", "gauge",
             "Seconds since the model list was last fetched successfully "
             "(absent while none is loaded).");
        for (i = 0; i < nsrc; i++)
            if (src[i].has_list)
                put(&b, "llmproxy_model_list_age_seconds{source=\"%s\"} %s\n",
                    lab[i], num(p, src[i].age_seconds));
        head(&b, "llmproxy_model_list_fetch_failures_total", "counter",
             "Failed fetches of the model list, by list URL.");
        for (i = 0; i < nsrc; i++)
            put(&b, "llmproxy_model_list_fetch_failures_total{source=\"%s\"} %"
                APR_UINT64_T_FMT "\n", lab[i], src[i].failures);
    }

    *len = b.len;
    return b.data ? b.data : apr_pstrdup(p, "");
}
