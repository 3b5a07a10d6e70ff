/* mod_llmproxy: pools of duplicate entries, passive health, retries,
 * fallbacks, per-prefix base URLs (issue 14; glue).
 *
 * Entries of the model list that share a model_version form a pool. A
 * request tries the members of its model's pool (round robin, skipping the
 * members in back-off), then the members of each LLMProxyFallback
 * alternative, one backend call at a time, and stops at the first call
 * that is not a retryable failure, or after LLMProxyRetries + 1 calls in
 * all. The handler (mod_llmproxy.c) runs each candidate through its usual
 * "call one model" path (llmp_pool_call); llmp_io_proxy reports how each
 * call went (llmp_pool_after_call), before anything reaches the client.
 *
 * The back-off table lives in shared memory (every child sees it), under
 * the module's global mutex; the decisions are in src/llmp_pool.c. */
#include <apr_atomic.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <http_core.h>
#include <http_main.h>
#include <http_protocol.h>
#include <mod_status.h>

#include "mod_llmproxy_features.h"
#include "llmp_pool.h"

APLOG_USE_MODULE(llmproxy);

#define UNSET_TIME      ((apr_interval_time_t)-1)
#define POOL_SLOTS      512            /* members remembered */
#define POOL_KEY_LEN    256            /* shown part of a member's URL */

/* One member's health: its key is the URL its calls go to (base URL and
 * handle). No pointer: it is shared memory. */
typedef struct {
    apr_uint64_t hash;                 /* of the whole key; 0: free slot */
    apr_time_t until;                  /* back-off ends; 0: none */
    apr_time_t last_failure;
    apr_uint32_t failures;             /* in a row */
    char reason[24];
    char key[POOL_KEY_LEN];
} pool_slot_t;

typedef struct {
    apr_uint32_t used;                 /* slots ever taken: 0 spares a
                                          lock on every request */
    apr_uint32_t rr;                   /* round-robin counter */
    pool_slot_t slot[POOL_SLOTS];
} pool_table_t;

/* LLMProxyBackendURL / LLMProxyBackendToken of one handle prefix. */
typedef struct {
    const char *prefix;
    const char *base;                  /* scheme://host[:port][/path]; NULL:
                                          the list URL's origin */
    const char *token;                 /* never logged */
    int token_set;                     /* "none" sets it with token NULL */
} pool_backend_t;

struct llmp_pool_sconf {
    int retries;                       /* LLMProxyRetries; -1 unset */
    apr_interval_time_t backoff;       /* LLMProxyBackoff */
    apr_interval_time_t max_wait;      /* LLMProxyRetryMaxWait */
    apr_hash_t *fallbacks;             /* LLMProxyFallback: model ->
                                          apr_array_header_t of const char * */
    apr_array_header_t *backends;      /* pool_backend_t */
    /* main server only, set in post_config */
    apr_shm_t *shm;
    pool_table_t *table;
};

#define LLMP_POOL_DEFAULT_RETRIES   2
#define LLMP_POOL_DEFAULT_BACKOFF   apr_time_from_sec(30)
#define LLMP_POOL_DEFAULT_MAX_WAIT  apr_time_from_sec(2)

void *llmp_pool_create_sconf(apr_pool_t *p)
{
    struct llmp_pool_sconf *c = apr_pcalloc(p, sizeof(*c));
    c->retries = -1;
    c->backoff = UNSET_TIME;
    c->max_wait = UNSET_TIME;
    return c;
}

void *llmp_pool_merge_sconf(apr_pool_t *p, void *basev, void *addv)
{
    struct llmp_pool_sconf *b = basev, *a = addv, *c = apr_pcalloc(p, sizeof(*c));
    c->retries = a->retries >= 0 ? a->retries : b->retries;
    c->backoff = a->backoff != UNSET_TIME ? a->backoff : b->backoff;
    c->max_wait = a->max_wait != UNSET_TIME ? a->max_wait : b->max_wait;
    if (a->fallbacks && b->fallbacks)
        c->fallbacks = apr_hash_overlay(p, a->fallbacks, b->fallbacks);
    else
        c->fallbacks = a->fallbacks ? a->fallbacks : b->fallbacks;
    if (a->backends && b->backends) {
        int i, j;

        c->backends = apr_array_copy(p, a->backends);
        for (i = 0; i < b->backends->nelts; i++) {
            const pool_backend_t *be = &APR_ARRAY_IDX(b->backends, i,
                                                      pool_backend_t);
            int mine = 0;
            for (j = 0; j < a->backends->nelts && !mine; j++)
                mine = !strcmp(APR_ARRAY_IDX(a->backends, j,
                                             pool_backend_t).prefix,
                               be->prefix);
            if (!mine) APR_ARRAY_PUSH(c->backends, pool_backend_t) = *be;
        }
    }
    else c->backends = a->backends ? a->backends : b->backends;
    return c;
}

static struct llmp_pool_sconf *pconf_of(cmd_parms *cmd)
{
    return llmp_sconf(cmd->server)->pool;
}

/* ---- directives ---- */

const char *llmp_pool_set_retries(cmd_parms *cmd, void *d, const char *v)
{
    char *end;
    long n = strtol(v, &end, 10);

    (void)d;
    if (end == v || *end || n < 0 || n > 10)
        return "LLMProxyRetries: a number of retries from 0 to 10";
    pconf_of(cmd)->retries = (int)n;
    return NULL;
}

static const char *seconds(cmd_parms *cmd, const char *v, double max,
                           apr_interval_time_t *out)
{
    char *end;
    double s = strtod(v, &end);

    if (end == v || *end || s != s || s < 0 || s > max)
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number of seconds "
                            "from 0 to %.0f", cmd->cmd->name, v, max);
    *out = (apr_interval_time_t)(s * APR_USEC_PER_SEC);
    return NULL;
}

const char *llmp_pool_set_backoff(cmd_parms *cmd, void *d, const char *v)
{
    (void)d;
    return seconds(cmd, v, 600, &pconf_of(cmd)->backoff);
}

const char *llmp_pool_set_max_wait(cmd_parms *cmd, void *d, const char *v)
{
    (void)d;
    return seconds(cmd, v, 60, &pconf_of(cmd)->max_wait);
}

const char *llmp_pool_set_fallback(cmd_parms *cmd, void *d, int argc,
                                char *const argv[])
{
    struct llmp_pool_sconf *c = pconf_of(cmd);
    apr_array_header_t *alts;
    int i;

    (void)d;
    if (argc < 2)
        return "LLMProxyFallback: MODEL ALTERNATIVE [ALTERNATIVE ...]";
    if (!c->fallbacks) c->fallbacks = apr_hash_make(cmd->pool);
    alts = apr_array_make(cmd->pool, argc - 1, sizeof(const char *));
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], argv[0]))
            return apr_psprintf(cmd->pool, "LLMProxyFallback: '%s' cannot "
                                "fall back to itself", argv[0]);
        APR_ARRAY_PUSH(alts, const char *) = argv[i];
    }
    apr_hash_set(c->fallbacks, argv[0], APR_HASH_KEY_STRING, alts);
    return NULL;
}

static pool_backend_t *backend_entry(cmd_parms *cmd, const char *prefix,
                                     const char **err)
{
    struct llmp_pool_sconf *c = pconf_of(cmd);
    pool_backend_t *be;
    int i;

    if (prefix[0] != '/' || !llmp_handle_is_safe(prefix)
        || strchr(prefix, '?')) {
        *err = apr_psprintf(cmd->pool, "%s: the handle prefix '%s' is not a "
                            "plain path (\"/openai/\")", cmd->cmd->name,
                            prefix);
        return NULL;
    }
    if (!c->backends)
        c->backends = apr_array_make(cmd->pool, 2, sizeof(pool_backend_t));
    for (i = 0; i < c->backends->nelts; i++) {
        be = &APR_ARRAY_IDX(c->backends, i, pool_backend_t);
        if (!strcmp(be->prefix, prefix)) return be;
    }
    be = apr_array_push(c->backends);
    memset(be, 0, sizeof(*be));
    be->prefix = prefix;
    return be;
}

const char *llmp_pool_set_backend_url(cmd_parms *cmd, void *d, const char *prefix,
                                   const char *url)
{
    const char *err = NULL, *origin;
    pool_backend_t *be;
    apr_uri_t u;
    apr_size_t n;

    (void)d;
    be = backend_entry(cmd, prefix, &err);
    if (!be) return err;
    origin = llmp_url_origin(cmd->pool, url, &err);
    if (!origin)
        return apr_psprintf(cmd->pool, "LLMProxyBackendURL: '%s' is %s", url,
                            err);
    if (apr_uri_parse(cmd->pool, url, &u) != APR_SUCCESS || u.user
        || u.password || u.query || u.fragment || strpbrk(url, " \t\r\n"))
        return apr_psprintf(cmd->pool, "LLMProxyBackendURL: '%s' must be "
                            "scheme://host[:port] with an optional base path "
                            "(no credentials, query or fragment)", url);
    if (u.path && *u.path && strcmp(u.path, "/")
        && (!llmp_handle_is_safe(u.path)))
        return apr_psprintf(cmd->pool, "LLMProxyBackendURL: the base path of "
                            "'%s' is not a plain path", url);
    be->base = apr_pstrcat(cmd->pool, origin, u.path ? u.path : "", NULL);
    /* the handle brings its own leading slash */
    n = strlen(be->base);
    while (n && be->base[n - 1] == '/') n--;
    be->base = apr_pstrmemdup(cmd->pool, be->base, n);
    return NULL;
}

const char *llmp_pool_set_backend_token(cmd_parms *cmd, void *d,
                                     const char *prefix, const char *token)
{
    const char *err = NULL;
    pool_backend_t *be;

    (void)d;
    if (strpbrk(token, "\r\n"))
        return "LLMProxyBackendToken: the token must not contain line breaks";
    be = backend_entry(cmd, prefix, &err);
    if (!be) return err;
    be->token_set = 1;
    be->token = !strcasecmp(token, "none") ? NULL : token;
    return NULL;
}

/* ---- effective settings ---- */

static int retries_of(const struct llmp_pool_sconf *c)
{
    return c->retries >= 0 ? c->retries : LLMP_POOL_DEFAULT_RETRIES;
}

static apr_interval_time_t backoff_of(const struct llmp_pool_sconf *c)
{
    return c->backoff != UNSET_TIME ? c->backoff : LLMP_POOL_DEFAULT_BACKOFF;
}

static apr_interval_time_t max_wait_of(const struct llmp_pool_sconf *c)
{
    return c->max_wait != UNSET_TIME ? c->max_wait
                                     : LLMP_POOL_DEFAULT_MAX_WAIT;
}

/* The entry whose prefix is the longest one path starts with, or NULL. */
static const pool_backend_t *backend_for(const struct llmp_pool_sconf *c,
                                         const char *path)
{
    const pool_backend_t *best = NULL;
    apr_size_t bl = 0;
    int i;

    if (!c->backends || !path) return NULL;
    for (i = 0; i < c->backends->nelts; i++) {
        const pool_backend_t *be = &APR_ARRAY_IDX(c->backends, i,
                                                  pool_backend_t);
        apr_size_t n = strlen(be->prefix);
        if (n > bl && !strncmp(path, be->prefix, n)) {
            best = be;
            bl = n;
        }
    }
    return best;
}

const char *llmp_pool_base(const llmp_server_conf_t *sc, const char *path)
{
    const pool_backend_t *be = backend_for(sc->pool, path);

    return be && be->base ? be->base : sc->origin;
}

const char *llmp_pool_url(request_rec *r, const llmp_server_conf_t *sc,
                          const char *path, int *own)
{
    const pool_backend_t *be = backend_for(sc->pool, path);

    *own = be && be->base;
    return apr_pstrcat(r->pool, *own ? be->base : sc->origin, path, NULL);
}

const char *llmp_pool_auth(request_rec *r, const llmp_server_conf_t *sc,
                           const char *path, const char *dflt)
{
    const pool_backend_t *be = backend_for(sc->pool, path);

    if (!be || !be->token_set) return dflt;
    return be->token ? apr_pstrcat(r->pool, "Authorization: OAuth ",
                                   be->token, NULL)
                     : NULL;
}

const char *const *llmp_pool_secrets(request_rec *r,
                                     const llmp_server_conf_t *sc,
                                     const char *const *s)
{
    const apr_array_header_t *bs = sc->pool->backends;
    const char **out;
    int i, n = 0, k = 0;

    if (!bs) return s;
    while (s && s[n]) n++;
    out = apr_pcalloc(r->pool, (n + 2 * bs->nelts + 1) * sizeof(*out));
    for (i = 0; i < n; i++) out[k++] = s[i];
    for (i = 0; i < bs->nelts; i++) {
        const pool_backend_t *be = &APR_ARRAY_IDX(bs, i, pool_backend_t);
        if (be->token && *be->token) {
            out[k++] = be->token;
            if (strchr(be->token, '/')) {
                /* as a JSON encoder may write it: "\/" */
                char *esc = apr_palloc(r->pool, 2 * strlen(be->token) + 1);
                char *o = esc;
                const char *c;
                for (c = be->token; *c; c++) {
                    if (*c == '/') *o++ = '\\';
                    *o++ = *c;
                }
                *o = '\0';
                out[k++] = esc;
            }
        }
    }
    out[k] = NULL;
    return out;
}

/* ---- the shared back-off table ---- */

static pool_table_t *table_of(apr_global_mutex_t **mutex)
{
    llmp_server_conf_t *mc = llmp_sconf(ap_server_conf);

    *mutex = mc->mutex;
    return mc->mutex ? mc->pool->table : NULL;
}

/* The member's key: its model and the URL its calls go to (one gateway
 * URL may serve several models, each with its own limits). */
static const char *member_key(apr_pool_t *p, const llmp_server_conf_t *sc,
                              const llmp_model_t *m)
{
    return apr_pstrcat(p, m->id, " ", llmp_pool_base(sc, m->handle),
                       m->handle, NULL);
}

/* 0 marks a free slot */
static apr_uint64_t key_hash(const char *key)
{
    apr_uint64_t h = llmp_pool_hash(key);

    return h ? h : 1;
}

static pool_slot_t *find_slot(pool_table_t *t, apr_uint64_t h)
{
    int i;

    for (i = 0; i < POOL_SLOTS; i++) {
        if (((volatile pool_slot_t *)&t->slot[i])->hash == h)
            return &t->slot[i];
    }
    return NULL;
}

/* When the member's back-off ends (0: it is in none). (Its key is made
 * only when the table holds a member: not on every request.) */
static apr_time_t backoff_until(apr_pool_t *p, const llmp_server_conf_t *sc,
                                const llmp_model_t *m)
{
    apr_global_mutex_t *mutex;
    pool_table_t *t = table_of(&mutex);
    pool_slot_t *s;
    apr_time_t until = 0;

    if (!t || !apr_atomic_read32(&t->used)) return 0;
    /* no lock on the path of every request: a slot's words are aligned
     * (read whole), and a slot given to another member while it is read
     * misleads one choice at most */
    s = find_slot(t, key_hash(member_key(p, sc, m)));
    if (s) until = ((volatile pool_slot_t *)s)->until;
    return until;
}

/* A failed call (why) or a healthy answer (why NULL) of the member m.
 * (Its key is made only when there is something to look up: not for a
 * healthy answer while the table holds no member.) */
static void record(request_rec *r, const llmp_server_conf_t *sc,
                   const llmp_model_t *m, const char *why,
                   apr_interval_time_t retry_after)
{
    apr_global_mutex_t *mutex;
    pool_table_t *t = table_of(&mutex);
    const char *key;
    apr_uint64_t h;
    apr_interval_time_t b = 0;
    apr_time_t now;
    pool_slot_t *s;
    apr_uint32_t failures = 0;

    if (!t || (!why && !apr_atomic_read32(&t->used))) return;
    key = member_key(r->pool, sc, m);
    h = key_hash(key);
    now = apr_time_now();
    if (!why) {
        /* the common case, without the lock: no failure to forget */
        s = find_slot(t, h);
        if (!s || !((volatile pool_slot_t *)s)->failures) return;
    }
    if (apr_global_mutex_lock(mutex) != APR_SUCCESS) return;
    s = find_slot(t, h);
    if (!why) {
        if (s && s->failures) {
            s->failures = 0;
            s->until = 0;
            failures = 1;
        }
        apr_global_mutex_unlock(mutex);
        if (failures)
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, LLMP_LOG_TAG
                          "pool member %s answers again: out of back-off",
                          key);
        return;
    }
    if (!s) {
        /* a free slot, else the one whose back-off ended longest ago */
        int i;
        pool_slot_t *old = NULL;

        for (i = 0; i < POOL_SLOTS && !s; i++) {
            if (!t->slot[i].hash) s = &t->slot[i];
            else if (t->slot[i].until <= now
                     && (!old || t->slot[i].until < old->until))
                old = &t->slot[i];
        }
        if (!s) s = old;
        if (s) {
            if (!s->hash) apr_atomic_inc32(&t->used);
            memset(s, 0, sizeof(*s));
            s->hash = h;
            apr_cpystrn(s->key, key, sizeof(s->key));
        }
    }
    if (s) {
        s->failures++;
        b = llmp_pool_backoff(backoff_of(sc->pool), s->failures);
        if (retry_after > b)
            b = retry_after > LLMP_POOL_BACKOFF_MAX ? LLMP_POOL_BACKOFF_MAX
                                                    : retry_after;
        s->until = b ? now + b : 0;
        s->last_failure = now;
        apr_cpystrn(s->reason, why, sizeof(s->reason));
        failures = s->failures;
    }
    apr_global_mutex_unlock(mutex);
    if (b)
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, LLMP_LOG_TAG
                      "pool member %s failed (%s, %u in a row): in back-off "
                      "for %" APR_TIME_T_FMT " s", key, why, failures,
                      apr_time_sec(b + APR_USEC_PER_SEC - 1));
}

typedef void pool_each_fn(const pool_slot_t *s, apr_time_t now, void *baton);

/* Every member in back-off now, copied out of the table first (no I/O
 * under the lock). */
static int each_in_backoff(apr_pool_t *p, pool_each_fn *fn, void *baton)
{
    apr_global_mutex_t *mutex;
    pool_table_t *t = table_of(&mutex);
    apr_time_t now = apr_time_now();
    pool_slot_t *copy;
    int i, n = 0;

    if (!t || !apr_atomic_read32(&t->used)) return 0;
    copy = apr_palloc(p, sizeof(t->slot));
    if (apr_global_mutex_lock(mutex) != APR_SUCCESS) return 0;
    for (i = 0; i < POOL_SLOTS; i++) {
        if (t->slot[i].hash && t->slot[i].until > now)
            copy[n++] = t->slot[i];
    }
    apr_global_mutex_unlock(mutex);
    for (i = 0; fn && i < n; i++) fn(&copy[i], now, baton);
    return n;
}

int llmp_pool_backoff_count(server_rec *s)
{
    apr_pool_t *p;
    int n;

    (void)s;
    if (apr_pool_create(&p, NULL) != APR_SUCCESS) return 0;
    n = each_in_backoff(p, NULL, NULL);
    apr_pool_destroy(p);
    return n;
}

static void health_one(const pool_slot_t *s, apr_time_t now, void *baton)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "member", s->key);
    cJSON_AddStringToObject(o, "reason", s->reason);
    cJSON_AddNumberToObject(o, "failures", s->failures);
    cJSON_AddNumberToObject(o, "retry_in_seconds",
                            (double)apr_time_sec(s->until - now
                                                 + APR_USEC_PER_SEC - 1));
    cJSON_AddItemToArray(baton, o);
}

void llmp_pool_health(request_rec *r, cJSON *j)
{
    cJSON *a = cJSON_CreateArray();

    each_in_backoff(r->pool, health_one, a);
    cJSON_AddItemToObject(j, "members_in_backoff", a);
}

typedef struct {
    request_rec *r;
    int flags, n;
} status_baton;

static void status_one(const pool_slot_t *s, apr_time_t now, void *baton)
{
    status_baton *b = baton;
    long left = (long)apr_time_sec(s->until - now + APR_USEC_PER_SEC - 1);

    if (b->flags & AP_STATUS_SHORT)
        ap_rprintf(b->r, "LLMProxyBackoff%d: %s %s %u %ld\n", b->n, s->key,
                   s->reason, s->failures, left);
    else
        ap_rprintf(b->r, "<tr><td>%s</td><td>%s</td><td>%u</td><td>%ld</td>"
                   "</tr>\n", ap_escape_html(b->r->pool, s->key),
                   ap_escape_html(b->r->pool, s->reason), s->failures, left);
    b->n++;
}

void llmp_pool_status(request_rec *r, int flags)
{
    status_baton b;
    int n;

    b.r = r;
    b.flags = flags;
    b.n = 0;
    if (!(flags & AP_STATUS_SHORT))
        ap_rputs("<table border=\"1\"><tr><th>pool member in back-off</th>"
                 "<th>reason</th><th>failures</th><th>retry in (s)</th>"
                 "</tr>\n", r);
    n = each_in_backoff(r->pool, status_one, &b);
    if (flags & AP_STATUS_SHORT)
        ap_rprintf(r, "LLMProxyMembersInBackoff: %d\n", n);
    else
        ap_rputs("</table>\n", r);
}

/* ---- one request's candidates ---- */

typedef struct {
    const llmp_model_t *m;
    int group_size;                    /* members of its pool */
} pool_cand_t;

typedef struct {
    llmp_server_conf_t *sc;
    apr_array_header_t *cands;         /* pool_cand_t */
    int idx;                           /* the candidate being called */
    int attempts;                      /* backend calls made */
    int max_attempts;
    int again;                         /* call the same one after wait */
    apr_interval_time_t wait;
} pool_req_t;

static pool_req_t *req_of(request_rec *r)
{
    return llmp_req_conf(r)->pool_req;
}

/* The members of model id, healthy ones (round robin) to cands, the ones
 * in back-off to later (by the end of their back-off). */
static void add_group(request_rec *r, llmp_server_conf_t *sc,
                      const llmp_models_t *models, const char *id,
                      apr_array_header_t *cands, apr_array_header_t *later)
{
    const apr_array_header_t *all = llmp_models_find_all(models, id);
    const char *target;
    apr_global_mutex_t *mutex;
    pool_table_t *t = table_of(&mutex);
    apr_time_t *until;
    int *order, n, i, k, healthy;
    unsigned start;

    if (!all && sc->alias_map
        && (target = apr_hash_get(sc->alias_map, id, APR_HASH_KEY_STRING)))
        all = llmp_models_find_all(models, target);      /* an alias */
    if (!all || !all->nelts) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, LLMP_LOG_TAG
                      "fallback model '%s' is not in the list", id);
        return;
    }
    n = all->nelts;
    until = apr_pcalloc(r->pool, n * sizeof(*until));
    order = apr_palloc(r->pool, n * sizeof(*order));
    for (i = 0; i < n; i++) {
        const llmp_model_t *m = APR_ARRAY_IDX(all, i, const llmp_model_t *);
        until[i] = backoff_until(r->pool, sc, m);
    }
    start = n > 1 && t ? apr_atomic_inc32(&t->rr) : 0;
    k = llmp_pool_order(until, n, start, apr_time_now(), order, &healthy);
    for (i = 0; i < k; i++) {
        pool_cand_t *c = apr_array_push(i < healthy ? cands : later);
        c->m = APR_ARRAY_IDX(all, order[i], const llmp_model_t *);
        c->group_size = n;
    }
}

int llmp_pool_call(request_rec *r, llmp_server_conf_t *sc,
                   const llmp_models_t *models, const llmp_model_t *m,
                   llmp_pool_call_fn *fn, void *baton)
{
    pool_req_t *st = apr_pcalloc(r->pool, sizeof(*st));
    apr_array_header_t *later = apr_array_make(r->pool, 2,
                                               sizeof(pool_cand_t));
    const apr_array_header_t *alts = sc->pool->fallbacks
        ? apr_hash_get(sc->pool->fallbacks, m->id, APR_HASH_KEY_STRING) : NULL;
    int i, rc;

    st->sc = sc;
    st->cands = apr_array_make(r->pool, 4, sizeof(pool_cand_t));
    st->max_attempts = retries_of(sc->pool) + 1;
    add_group(r, sc, models, m->id, st->cands, later);
    for (i = 0; alts && i < alts->nelts; i++)
        add_group(r, sc, models, APR_ARRAY_IDX(alts, i, const char *),
                  st->cands, later);
    /* every candidate in back-off: try them anyway (the soonest back
     * first), rather than refuse a request no backend was asked about */
    if (!st->cands->nelts) st->cands = later;
    if (!st->cands->nelts) return fn(r, m, 0, baton);
    llmp_req_conf(r)->pool_req = st;
    for (;;) {
        const pool_cand_t *c = &APR_ARRAY_IDX(st->cands, st->idx,
                                              pool_cand_t);

        rc = fn(r, c->m, st->attempts, baton);
        if (rc != LLMP_POOL_RETRY) break;
        if (st->again) {
            st->again = 0;
            if (st->wait > 0) apr_sleep(st->wait);
        }
        else st->idx++;
        if (st->idx >= st->cands->nelts || st->attempts >= st->max_attempts) {
            /* (llmp_pool_after_call never asks for more) */
            rc = llmp_io_send_error(r, llmp_error_make(r->pool, 502,
                "api_error", "backend_error", NULL, "the backends for "
                "model '%s' failed", m->id));
            break;
        }
    }
    llmp_req_conf(r)->pool_req = NULL;
    return rc;
}

int llmp_pool_after_call(request_rec *r, llmp_server_conf_t *sc,
                         const llmp_model_t *m, const llmp_pool_call_t *call,
                         apr_interval_time_t retry_after)
{
    pool_req_t *st = req_of(r);
    const char *why = llmp_pool_failure(call);
    const pool_cand_t *c;
    int attempts;

    /* with the client's own credential forwarded, a 429 is about that
     * credential (its quota), not the member: no back-off for everyone,
     * no retry of that key on the other members */
    if (why && !strcmp(why, "http-429") && sc->forward_client_auth > 0)
        why = NULL;

    attempts = st ? ++st->attempts : 1;
    {
        /* "handle base" */
        const char *base = llmp_pool_base(sc, m->handle);
        apr_size_t hl = strlen(m->handle), bl = strlen(base);
        char *by = apr_palloc(r->pool, hl + bl + 2);

        memcpy(by, m->handle, hl);
        by[hl] = ' ';
        memcpy(by + hl + 1, base, bl + 1);
        llmp_call_note(r, attempts == 1, "llmproxy-attempts",
                       attempts == 1 ? "1" : apr_itoa(r->pool, attempts));
        llmp_call_note(r, attempts == 1, "llmproxy-served-by", by);
    }
    if (why)
        record(r, sc, m, why, retry_after);
    else if (call->status >= 200 && call->status < 500
             && call->outcome == LLMP_HTTP_OK)
        record(r, sc, m, NULL, 0);
    if (!why || !st || st->sc != sc || st->attempts >= st->max_attempts)
        return 0;
    c = &APR_ARRAY_IDX(st->cands, st->idx, pool_cand_t);
    if (c->m != m) return 0;
    /* (libcurl reads "Retry-After: 0" as none: so does this) */
    if (c->group_size == 1 && retry_after > 0
        && retry_after <= max_wait_of(sc->pool)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, LLMP_LOG_TAG
                      "retry %d of model '%s': %s failed (%s); calling it "
                      "again after its Retry-After of %" APR_TIME_T_FMT
                      " ms", st->attempts, m->id, m->handle, why,
                      apr_time_as_msec(retry_after));
        st->again = 1;
        st->wait = retry_after;
        return 1;
    }
    if (st->idx + 1 >= st->cands->nelts) return 0;
    {
        const pool_cand_t *next = &APR_ARRAY_IDX(st->cands, st->idx + 1,
                                                 pool_cand_t);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, LLMP_LOG_TAG
                      "retry %d of model '%s': %s failed (%s); trying %s%s%s",
                      st->attempts, m->id, m->handle, why, next->m->handle,
                      strcmp(next->m->id, m->id) ? " of fallback " : "",
                      strcmp(next->m->id, m->id) ? next->m->id : "");
    }
    return 1;
}

/* ---- hooks ---- */

/* The back-off table, once per start (and restart): shared by the
 * children it forks. */
static int pool_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s)
{
    struct llmp_pool_sconf *c = llmp_sconf(s)->pool;
    apr_status_t rv;

    (void)plog;
    (void)ptemp;
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    if (!llmp_sconf(s)->sources) return OK;
    rv = apr_shm_create(&c->shm, sizeof(pool_table_t), NULL, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, LLMP_LOG_TAG
                     "cannot create the shared back-off table (%"
                     APR_SIZE_T_FMT " bytes)", sizeof(pool_table_t));
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    c->table = apr_shm_baseaddr_get(c->shm);
    memset(c->table, 0, sizeof(pool_table_t));
    return OK;
}

void llmp_pool_register_hooks(apr_pool_t *p)
{
    (void)p;
    /* after the store's (which creates the global mutex) */
    ap_hook_post_config(pool_post_config, NULL, NULL, APR_HOOK_LAST);
}
