/* mod_llmproxy: the model list in shared memory, refreshed by one watchdog
 * singleton for the whole server; every child keeps a parsed copy and
 * re-parses when the generation changes (glue).
 *
 * Shared memory holds no pointers: a header and two slots; the fetcher
 * writes the inactive slot and flips 'active' under the global mutex, then
 * bumps 'generation'. Readers never wait for a fetch: they take the mutex
 * only to copy the bytes of a newer list.
 *
 * Virtual hosts share a list when every setting that shapes it is the same
 * (URL, token, refresh interval, CA file, TLS verification, maximum size,
 * provider rules, LLMProxyAllowEmptyList); the fetch waits as long as the
 * most patient of them (largest connect timeout and timeout, at most 60 s).
 *
 * A child that has no list yet makes its requests wait for the one thread
 * that parses it; a child with a list keeps answering from it while one
 * thread parses a newer one. */
#include <stdlib.h>
#include <apr_strings.h>
#include <apr_atomic.h>
#include <apr_uri.h>
#include <http_core.h>
#include <http_main.h>
#include <http_protocol.h>
#include <ap_mpm.h>
#include <util_mutex.h>
#include <mod_watchdog.h>
#include <mod_status.h>

#include "mod_llmproxy_features.h"

APLOG_USE_MODULE(llmproxy);

#define LLMP_WD_NAME      "llmproxy"
#define LLMP_WD_TICK      apr_time_from_sec(1)
#define LLMP_RETRY_MIN    apr_time_from_sec(2)
#define LLMP_RETRY_MAX    apr_time_from_sec(60)
#define LLMP_MAX_WARNINGS 20

typedef struct llmp_shm_hdr {
    volatile apr_uint32_t generation;  /* bumped after each new list */
    apr_uint32_t active;               /* slot holding the current list */
    apr_size_t len[2];
    apr_size_t max;                    /* size of one slot */
    apr_time_t fetched_at;             /* last successful fetch */
    apr_time_t last_attempt;
    apr_time_t next_due;               /* 0: now */
    apr_uint32_t fetches, failures, consecutive_failures;
    int has_list;
    int models, skipped;
    char last_error[512];
} llmp_shm_hdr_t;

#define HDR_SIZE APR_ALIGN_DEFAULT(sizeof(llmp_shm_hdr_t))

struct llmp_source {
    int index;
    const char *url;
    const char *shown_url;         /* url without a password, for logs */
    const char *token;
    const char *auth_header;       /* "Authorization: OAuth ..." or NULL */
    server_rec *s;                 /* first server using it */
    apr_array_header_t *alias_sets; /* llmp_server_conf_t * of sharers with
                                      aliases, one per distinct array */
    llmp_server_conf_t *conf;      /* its list settings (all sharers agree) */
    apr_interval_time_t connect_timeout, timeout;  /* largest of sharers' */
    apr_shm_t *shm;
    llmp_shm_hdr_t *hdr;
    char *slots;
    /* per child */
    apr_thread_mutex_t *reload_mutex;  /* one re-parse at a time */
    apr_thread_mutex_t *cur_mutex;     /* guards current and refs */
    llmp_snapshot_t *current;
    volatile apr_uint32_t seen_generation;
};

static APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *wd_get_instance;
static APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *wd_register;

const char *llmp_source_url(const llmp_source_t *src)
{
    return src->shown_url;
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static int same_rules(const apr_array_header_t *a,
                      const apr_array_header_t *b)
{
    int i, na = a ? a->nelts : 0, nb = b ? b->nelts : 0;

    if (na != nb) return 0;
    for (i = 0; i < na; i++) {
        const llmp_route_rule_t *x = &APR_ARRAY_IDX(a, i, llmp_route_rule_t);
        const llmp_route_rule_t *y = &APR_ARRAY_IDX(b, i, llmp_route_rule_t);
        if (strcmp(x->prefix, y->prefix) || x->provider != y->provider)
            return 0;
    }
    return 1;
}

/* Two servers may share a list only when nothing that shapes it differs:
 * what is fetched, how often, how it is checked, and how it is read. */
static int same_list(const llmp_server_conf_t *a, const llmp_server_conf_t *b)
{
    return !strcmp(a->list_url, b->list_url) && same(a->token, b->token)
           && a->refresh == b->refresh && same(a->ca_file, b->ca_file)
           && a->verify == b->verify && a->max_list_size == b->max_list_size
           && a->allow_empty_list == b->allow_empty_list
           && same_rules(a->route_rules.rules, b->route_rules.rules);
}

/* Remember a sharer's aliases (once per distinct set: vhosts without
 * their own share the main server's array). */
static void add_alias_set(llmp_source_t *src, llmp_server_conf_t *c)
{
    int i;

    if (!c->aliases || !c->aliases->nelts) return;
    for (i = 0; i < src->alias_sets->nelts; i++)
        if (APR_ARRAY_IDX(src->alias_sets, i, llmp_server_conf_t *)->aliases
            == c->aliases)
            return;
    APR_ARRAY_PUSH(src->alias_sets, llmp_server_conf_t *) = c;
}

static llmp_source_t *source_for(apr_pool_t *pconf, server_rec *main,
                                 server_rec *v, llmp_server_conf_t *c,
                                 const char **err)
{
    llmp_server_conf_t *mc = llmp_sconf(main);
    llmp_source_t *src;
    apr_status_t rv;
    int i;

    for (i = 0; i < mc->sources->nelts; i++) {
        src = APR_ARRAY_IDX(mc->sources, i, llmp_source_t *);
        if (same_list(src->conf, c)) {
            if (c->connect_timeout > src->connect_timeout)
                src->connect_timeout = c->connect_timeout;
            if (c->timeout > src->timeout) src->timeout = c->timeout;
            add_alias_set(src, c);
            return src;
        }
    }
    src = apr_pcalloc(pconf, sizeof(*src));
    src->index = mc->sources->nelts;
    src->url = c->list_url;
    {
        apr_uri_t u;
        src->shown_url = apr_uri_parse(pconf, src->url, &u) == APR_SUCCESS
                         ? apr_uri_unparse(pconf, &u, APR_URI_UNP_OMITPASSWORD)
                         : src->url;
    }
    src->token = c->token;
    src->auth_header = c->token ? apr_pstrcat(pconf, "Authorization: OAuth ",
                                              c->token, NULL) : NULL;
    src->s = v;
    src->conf = c;
    src->connect_timeout = c->connect_timeout;
    src->timeout = c->timeout;
    rv = apr_shm_create(&src->shm, HDR_SIZE + 2 * c->max_list_size, NULL,
                        pconf);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(pconf, "cannot create %" APR_SIZE_T_FMT " bytes "
                            "of shared memory for the model list (lower "
                            "LLMProxyModelListMaxSize?)",
                            HDR_SIZE + 2 * c->max_list_size);
        return NULL;
    }
    src->hdr = apr_shm_baseaddr_get(src->shm);
    memset(src->hdr, 0, HDR_SIZE);
    src->hdr->max = c->max_list_size;
    src->slots = (char *)src->hdr + HDR_SIZE;
    src->alias_sets = apr_array_make(pconf, 1, sizeof(llmp_server_conf_t *));
    add_alias_set(src, c);
    APR_ARRAY_PUSH(mc->sources, llmp_source_t *) = src;
    return src;
}

/* ---- fetching (watchdog singleton) ---- */

static void set_error(llmp_source_t *src, apr_global_mutex_t *mutex,
                      apr_time_t now, const char *msg)
{
    llmp_shm_hdr_t *h = src->hdr;
    apr_time_t wait;

    apr_global_mutex_lock(mutex);
    h->last_attempt = now;
    h->failures++;
    h->consecutive_failures++;
    apr_cpystrn(h->last_error, msg, sizeof(h->last_error));
    /* retry soon with a growing back-off, never later than the interval */
    wait = LLMP_RETRY_MIN << (h->consecutive_failures > 5
                              ? 5 : h->consecutive_failures - 1);
    if (wait > LLMP_RETRY_MAX) wait = LLMP_RETRY_MAX;
    if (src->conf->refresh > 0 && wait > src->conf->refresh)
        wait = src->conf->refresh;
    if (src->conf->refresh == 0 && h->has_list) wait = APR_INT64_MAX / 2;
    h->next_due = now + wait;
    apr_global_mutex_unlock(mutex);
}

/* Once per new list (in the fetcher): the aliases whose target it lacks. */
static void warn_aliases(llmp_source_t *src, const llmp_models_t *m)
{
    int i, j;

    for (i = 0; i < src->alias_sets->nelts; i++) {
        llmp_server_conf_t *c = APR_ARRAY_IDX(src->alias_sets, i,
                                              llmp_server_conf_t *);
        for (j = 0; j < c->aliases->nelts; j++) {
            const llmp_alias_t *a = &APR_ARRAY_IDX(c->aliases, j,
                                                   llmp_alias_t);
            if (!llmp_models_find(m, a->target))
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, src->s,
                             LLMP_LOG_TAG "LLMProxyModelAlias %s %s: the "
                             "model list from %s has no model '%s' (a "
                             "request for '%s' gets 404)", a->name,
                             a->target, src->shown_url, a->target, a->name);
        }
    }
}

static void fetch(llmp_source_t *src, llmp_server_conf_t *mc, apr_pool_t *p)
{
    llmp_server_conf_t *c = src->conf;
    llmp_shm_hdr_t *h = src->hdr;
    llmp_http_opts_t opts;
    llmp_http_result_t res;
    const char *headers[3];
    const char *err = NULL;
    llmp_models_t *m;
    apr_time_t now = apr_time_now();
    char *body;
    apr_size_t len;
    apr_uint32_t slot;
    int i, unchanged;

    memset(&opts, 0, sizeof(opts));
    opts.connect_timeout_ms = (long)apr_time_as_msec(src->connect_timeout);
    opts.timeout_ms = (long)apr_time_as_msec(src->timeout
                                             > apr_time_from_sec(60)
                                             ? apr_time_from_sec(60)
                                             : src->timeout);
    opts.ca_file = c->ca_file;
    opts.verify = c->verify;
    i = 0;
    if (src->auth_header) headers[i++] = src->auth_header;
    headers[i++] = "Accept: application/json";
    headers[i] = NULL;

    llmp_http_get(mc->http, src->url, headers, &opts, h->max, &body, &len,
                  &res, p);
    if (res.outcome != LLMP_HTTP_OK) {
        const char *msg = apr_psprintf(p, "fetching %s failed: %s", src->shown_url,
                                       res.error ? res.error : "error");
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, src->s, LLMP_LOG_TAG "%s", msg);
        set_error(src, mc->mutex, now, msg);
        return;
    }
    if (res.status != 200) {
        const char *msg = apr_psprintf(p, "fetching %s failed: HTTP %ld%s",
                                       src->shown_url, res.status,
                                       res.status == 401 || res.status == 403
                                       ? " (check LLMProxyAuthToken / "
                                         "MODEL_LIST_AUTH_TOKEN)" : "");
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, src->s, LLMP_LOG_TAG "%s", msg);
        set_error(src, mc->mutex, now, msg);
        return;
    }
    m = llmp_models_parse(p, body, len, apr_time_sec(now), &c->route_rules,
                          &err);
    if (!m) {
        const char *msg = apr_psprintf(p, "model list from %s rejected: %s",
                                       src->shown_url, err);
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, src->s, LLMP_LOG_TAG "%s", msg);
        set_error(src, mc->mutex, now, msg);
        return;
    }
    err = c->allow_empty_list ? NULL : llmp_models_empty_reason(p, m);
    if (err) {
        /* an empty list is far more likely a gateway fault than the truth:
         * keep serving the last good one */
        const char *msg = apr_psprintf(p, "model list from %s rejected: %s; "
                                       "the last good list stays in use "
                                       "(LLMProxyAllowEmptyList on accepts "
                                       "an empty list)", src->shown_url, err);
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, src->s, LLMP_LOG_TAG "%s", msg);
        for (i = 0; i < m->warnings->nelts && i < LLMP_MAX_WARNINGS; i++)
            ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, src->s, LLMP_LOG_TAG
                         "%s", APR_ARRAY_IDX(m->warnings, i, const char *));
        set_error(src, mc->mutex, now, msg);
        return;
    }

    apr_global_mutex_lock(mc->mutex);
    unchanged = h->has_list && h->len[h->active] == len
                && !memcmp(src->slots + h->active * h->max, body, len);
    if (!unchanged) {
        slot = h->has_list ? 1 - h->active : 0;
        memcpy(src->slots + slot * h->max, body, len);
        h->len[slot] = len;
        h->active = slot;
        h->has_list = 1;
        h->models = m->list->nelts;
        h->skipped = m->warnings->nelts;
    }
    h->fetched_at = now;
    h->last_attempt = now;
    h->fetches++;
    h->consecutive_failures = 0;
    h->last_error[0] = '\0';
    h->next_due = c->refresh > 0 ? now + c->refresh : APR_INT64_MAX / 2;
    if (!unchanged) apr_atomic_inc32(&h->generation);
    apr_global_mutex_unlock(mc->mutex);

    if (!unchanged) {
        for (i = 0; i < m->warnings->nelts && i < LLMP_MAX_WARNINGS; i++)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, src->s, LLMP_LOG_TAG
                         "%s", APR_ARRAY_IDX(m->warnings, i, const char *));
        if (m->warnings->nelts > LLMP_MAX_WARNINGS)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, src->s, LLMP_LOG_TAG
                         "... and %d more skipped entries",
                         m->warnings->nelts - LLMP_MAX_WARNINGS);
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, src->s, LLMP_LOG_TAG
                     "model list from %s loaded: %d models (%d skipped, %d "
                     "unavailable)", src->shown_url, m->list->nelts,
                     m->warnings->nelts, m->skipped_unavailable);
        warn_aliases(src, m);
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, src->s, LLMP_LOG_TAG
                     "model list from %s unchanged", src->shown_url);
    }
}

static apr_status_t watchdog_cb(int state, void *data, apr_pool_t *pool)
{
    server_rec *s = data;
    llmp_server_conf_t *mc = llmp_sconf(s);
    apr_time_t now;
    int i;

    if (state == AP_WATCHDOG_STATE_STOPPING || !mc->http) return APR_SUCCESS;
    now = apr_time_now();
    for (i = 0; i < mc->sources->nelts; i++) {
        llmp_source_t *src = APR_ARRAY_IDX(mc->sources, i, llmp_source_t *);
        int due;
        apr_pool_t *p;

        apr_global_mutex_lock(mc->mutex);
        due = now >= src->hdr->next_due;
        apr_global_mutex_unlock(mc->mutex);
        if (!due) continue;
        apr_pool_create(&p, pool);
        fetch(src, mc, p);
        apr_pool_destroy(p);
    }
    return APR_SUCCESS;
}

/* ---- per child ---- */

static apr_status_t snapshot_release(void *data)
{
    llmp_snapshot_t *snap = data;
    llmp_source_t *src = snap->source;
    int destroy;

    apr_thread_mutex_lock(src->cur_mutex);
    destroy = (--snap->refs == 0);
    apr_thread_mutex_unlock(src->cur_mutex);
    if (destroy) apr_pool_destroy(snap->pool);
    return APR_SUCCESS;
}

/* The snapshot pools are unmanaged (a snapshot may be released by any
 * thread): like httpd's own pools, they abort the child when memory runs
 * out instead of returning NULL. */
static int snapshot_oom(int retcode)
{
    ap_abort_on_oom();
    return retcode;
}

/* Parse the shared list into a new snapshot. Called with reload_mutex. */
static void reload(llmp_source_t *src, llmp_server_conf_t *mc)
{
    llmp_shm_hdr_t *h = src->hdr;
    llmp_snapshot_t *snap, *old = NULL;
    apr_pool_t *p;
    apr_status_t rv;
    char *buf;
    apr_size_t len;
    apr_uint32_t gen;
    apr_time_t fetched;
    const char *err = NULL;
    int destroy = 0;

    rv = apr_pool_create_unmanaged_ex(&p, snapshot_oom, NULL);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, src->s, LLMP_LOG_TAG
                     "cannot create a memory pool for the model list from %s",
                     src->shown_url);
        return;
    }
    apr_global_mutex_lock(mc->mutex);
    gen = apr_atomic_read32(&h->generation);
    len = h->len[h->active];
    /* a transient copy: the snapshot keeps only the index */
    buf = malloc(len ? len : 1);
    if (buf) memcpy(buf, src->slots + h->active * h->max, len);
    fetched = h->fetched_at;
    apr_global_mutex_unlock(mc->mutex);
    if (!buf) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, APR_ENOMEM, src->s, LLMP_LOG_TAG
                     "out of memory copying the model list from %s (%"
                     APR_SIZE_T_FMT " bytes)", src->shown_url, len);
        apr_pool_destroy(p);
        return;
    }

    snap = apr_pcalloc(p, sizeof(*snap));
    snap->pool = p;
    snap->source = src;
    snap->generation = gen;
    snap->fetched_at = fetched;
    snap->refs = 1;                 /* held by src->current */
    snap->models = llmp_models_parse(p, buf, len, apr_time_sec(fetched),
                                     &src->conf->route_rules, &err);
    free(buf);
    if (!snap->models) {
        /* cannot happen: the fetcher parsed the same bytes */
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, src->s, LLMP_LOG_TAG
                     "shared model list unreadable: %s", err);
        apr_pool_destroy(p);
        apr_atomic_set32(&src->seen_generation, gen);
        return;
    }
    /* each alias set's /v1/models body, once per list */
    if (src->alias_sets->nelts) {
        int i;

        snap->alias_json = apr_hash_make(p);
        for (i = 0; i < src->alias_sets->nelts; i++) {
            llmp_server_conf_t *c = APR_ARRAY_IDX(src->alias_sets, i,
                                                  llmp_server_conf_t *);
            llmp_rendered_t *rd = apr_pcalloc(p, sizeof(*rd));

            rd->json = llmp_models_render_aliases(p, snap->models,
                                                  c->aliases,
                                                  apr_time_sec(fetched),
                                                  &rd->len, NULL);
            if (rd->json)
                apr_hash_set(snap->alias_json, &c->aliases, sizeof(void *),
                             rd);
        }
    }
    apr_thread_mutex_lock(src->cur_mutex);
    old = src->current;
    src->current = snap;
    if (old) destroy = (--old->refs == 0);
    apr_thread_mutex_unlock(src->cur_mutex);
    if (destroy) apr_pool_destroy(old->pool);
    apr_atomic_set32(&src->seen_generation, gen);
}

llmp_snapshot_t *llmp_store_acquire(llmp_source_t *src, apr_pool_t *p)
{
    llmp_server_conf_t *mc = llmp_sconf(ap_server_conf);
    llmp_snapshot_t *snap;
    apr_uint32_t gen = apr_atomic_read32(&src->hdr->generation);

    if (gen != apr_atomic_read32(&src->seen_generation)) {
        int have;
        apr_status_t rv;

        apr_thread_mutex_lock(src->cur_mutex);
        have = src->current != NULL;
        apr_thread_mutex_unlock(src->cur_mutex);
        /* with a list, answer from it while another thread parses the new
         * one; without, wait for the parse (or do it) */
        rv = have ? apr_thread_mutex_trylock(src->reload_mutex)
                  : apr_thread_mutex_lock(src->reload_mutex);
        if (rv == APR_SUCCESS) {
            if (apr_atomic_read32(&src->hdr->generation)
                != apr_atomic_read32(&src->seen_generation))
                reload(src, mc);
            apr_thread_mutex_unlock(src->reload_mutex);
        }
    }
    apr_thread_mutex_lock(src->cur_mutex);
    snap = src->current;
    if (snap) snap->refs++;
    apr_thread_mutex_unlock(src->cur_mutex);
    if (snap)
        apr_pool_cleanup_register(p, snap, snapshot_release,
                                  apr_pool_cleanup_null);
    return snap;
}

const llmp_rendered_t *llmp_store_models_json(const llmp_snapshot_t *snap,
                                              const llmp_server_conf_t *sc)
{
    const llmp_rendered_t *rd = NULL;

    /* keyed by the array's address (the key bytes are the pointer) */
    if (snap->alias_json && sc->aliases && sc->aliases->nelts)
        rd = apr_hash_get(snap->alias_json, &sc->aliases, sizeof(void *));
    return rd;
}

void llmp_store_status(llmp_source_t *src, llmp_store_status_t *st)
{
    llmp_server_conf_t *mc = llmp_sconf(ap_server_conf);
    llmp_shm_hdr_t *h = src->hdr;

    apr_global_mutex_lock(mc->mutex);
    st->has_list = h->has_list;
    st->models = h->models;
    st->skipped = h->skipped;
    st->fetched_at = h->fetched_at;
    st->last_attempt = h->last_attempt;
    st->fetches = h->fetches;
    st->failures = h->failures;
    apr_cpystrn(st->last_error, h->last_error, sizeof(st->last_error));
    apr_global_mutex_unlock(mc->mutex);
}

/* ---- hooks ---- */

int llmp_store_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                           server_rec *s)
{
    llmp_server_conf_t *mc = llmp_sconf(s);
    ap_watchdog_t *wd;
    apr_status_t rv;
    const char *err = NULL;
    server_rec *v;

    mc->sources = apr_array_make(pconf, 2, sizeof(llmp_source_t *));
    rv = ap_global_mutex_create(&mc->mutex, NULL, LLMP_MUTEX_TYPE, NULL, s,
                                pconf, 0);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, LLMP_LOG_TAG
                     "cannot create the global mutex of the model list "
                     "(Mutex " LLMP_MUTEX_TYPE ")");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    for (v = s; v; v = v->next) {
        llmp_server_conf_t *c = llmp_sconf(v);
        c->source = source_for(pconf, s, v, c, &err);
        if (!c->source) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, v, LLMP_LOG_TAG "%s", err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    wd_get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    wd_register = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (!wd_get_instance || !wd_register) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, LLMP_LOG_TAG
                     "mod_watchdog is required (LoadModule watchdog_module) "
                     "to refresh the model list");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* a child-process singleton: exactly one fetcher for the server */
    rv = wd_get_instance(&wd, LLMP_WD_NAME, 0, 1, pconf);
    if (rv == APR_SUCCESS)
        rv = wd_register(wd, LLMP_WD_TICK, s, watchdog_cb);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, LLMP_LOG_TAG
                     "cannot set up the watchdog that refreshes the model "
                     "list");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    for (v = s; v; v = v->next) {
        llmp_server_conf_t *c = llmp_sconf(v);
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, v, LLMP_LOG_TAG
                     "model list %s (%s), refresh every %" APR_TIME_T_FMT
                     "s", llmp_source_url(c->source),
                     c->token ? "with token" : "no token",
                     apr_time_sec(c->refresh));
    }
    return OK;
}

/* child_init cannot fail: a child that cannot set up what every request
 * needs logs why and exits with APEXIT_CHILDSICK, so that the parent slows
 * down forking (what mod_proxy and mod_proxy_balancer do). */
void llmp_store_child_fatal(server_rec *s, apr_status_t rv, const char *what)
{
    ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, LLMP_LOG_TAG
                 "cannot %s in this child; the child exits", what);
    exit(APEXIT_CHILDSICK);
}

void llmp_store_child_init(apr_pool_t *pchild, server_rec *s)
{
    llmp_server_conf_t *mc = llmp_sconf(s);
    apr_status_t rv;
    int i;

    if (!mc->sources) return;
    rv = apr_global_mutex_child_init(&mc->mutex,
                                     apr_global_mutex_lockfile(mc->mutex),
                                     pchild);
    if (rv != APR_SUCCESS)
        llmp_store_child_fatal(s, rv, "attach the global mutex of the model "
                               "list (Mutex " LLMP_MUTEX_TYPE ")");
    for (i = 0; i < mc->sources->nelts; i++) {
        llmp_source_t *src = APR_ARRAY_IDX(mc->sources, i, llmp_source_t *);
        rv = apr_thread_mutex_create(&src->reload_mutex,
                                     APR_THREAD_MUTEX_DEFAULT, pchild);
        if (rv == APR_SUCCESS)
            rv = apr_thread_mutex_create(&src->cur_mutex,
                                         APR_THREAD_MUTEX_DEFAULT, pchild);
        if (rv != APR_SUCCESS)
            llmp_store_child_fatal(s, rv, "create the model list's thread "
                                   "mutexes");
        src->current = NULL;
        apr_atomic_set32(&src->seen_generation, 0);
    }
}

static int status_hook(request_rec *r, int flags)
{
    llmp_server_conf_t *mc = llmp_sconf(ap_server_conf);
    int i;

    if (!mc->sources) return OK;
    if (!(flags & AP_STATUS_SHORT))
        ap_rputs("<hr />\n<h2>mod_llmproxy</h2>\n<table border=\"1\">"
                 "<tr><th>model list</th><th>models</th><th>skipped</th>"
                 "<th>age (s)</th><th>fetches</th><th>failures</th>"
                 "<th>last error</th></tr>\n", r);
    for (i = 0; i < mc->sources->nelts; i++) {
        llmp_source_t *src = APR_ARRAY_IDX(mc->sources, i, llmp_source_t *);
        llmp_store_status_t st;
        long age;

        llmp_store_status(src, &st);
        age = st.has_list ? (long)apr_time_sec(apr_time_now() - st.fetched_at)
                          : -1;
        if (flags & AP_STATUS_SHORT) {
            ap_rprintf(r, "LLMProxyList%dModels: %d\nLLMProxyList%dAge: %ld\n"
                       "LLMProxyList%dFetches: %u\nLLMProxyList%dFailures: "
                       "%u\n", i, st.models, i, age, i, st.fetches, i,
                       st.failures);
        }
        else {
            ap_rprintf(r, "<tr><td>%s</td><td>%d</td><td>%d</td><td>%ld</td>"
                       "<td>%u</td><td>%u</td><td>%s</td></tr>\n",
                       ap_escape_html(r->pool, src->shown_url), st.models,
                       st.skipped, age, st.fetches, st.failures,
                       ap_escape_html(r->pool, st.last_error));
        }
    }
    if (!(flags & AP_STATUS_SHORT)) ap_rputs("</table>\n", r);
    llmp_pool_status(r, flags);    /* pool members in back-off */
    return OK;
}

void llmp_store_register_hooks(apr_pool_t *p)
{
    APR_OPTIONAL_HOOK(ap, status_hook, status_hook, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
