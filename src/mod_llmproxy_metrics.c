/* mod_llmproxy: Prometheus metrics, SetHandler llmproxy-metrics (issue 12).
 *
 * One table for the whole server (src/llmp_metrics.c lays it out and
 * renders it) in an anonymous shared memory segment that the parent
 * creates in post_config and every child inherits; children add to it
 * with atomic operations. The segment belongs to the parent's process
 * pool and its address is kept in ap_retained_data (the way the MPMs keep
 * their state across generations), so a restart, graceful or not, finds
 * it again and the counters go on; only a stop (or a changed
 * LLMProxyMetricsModels / LLMProxyMetricsUsers) starts them from zero. */
#include <apr_strings.h>
#include <http_core.h>
#include <http_main.h>
#include <http_protocol.h>
#include <http_request.h>
#include <ap_mpm.h>

#include "mod_llmproxy_features.h"
#include "llmp_metrics.h"

APLOG_USE_MODULE(llmproxy);

#define METRICS_HANDLER       "llmproxy-metrics"
#define METRICS_RETAINED_KEY  "mod_llmproxy-metrics-shm"
#define METRICS_CONTENT_TYPE  "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_MODELS_DEFAULT 64
#define METRICS_USERS_DEFAULT  32
#define METRICS_SLOTS_MAX      100000

struct llmp_metrics_sconf {
    int per_user;                  /* LLMProxyMetricsPerUser; -1 unset */
    int models;                    /* LLMProxyMetricsModels (main server);
                                      -1 unset */
    int users;                     /* LLMProxyMetricsUsers (main server);
                                      -1 unset */
    llmp_metrics_t *table;         /* set in post_config for every server */
};

/* What survives a restart in the parent (ap_retained_data). */
typedef struct {
    apr_shm_t *shm;
    llmp_metrics_dims_t dims;
} metrics_retained_t;

void *llmp_metrics_create_sconf(apr_pool_t *p)
{
    struct llmp_metrics_sconf *c = apr_pcalloc(p, sizeof(*c));
    c->per_user = -1;
    c->models = -1;
    c->users = -1;
    return c;
}

void *llmp_metrics_merge_sconf(apr_pool_t *p, void *basev, void *addv)
{
    struct llmp_metrics_sconf *b = basev, *a = addv, *c = apr_pcalloc(p, sizeof(*c));
    c->per_user = a->per_user >= 0 ? a->per_user : b->per_user;
    c->models = a->models >= 0 ? a->models : b->models;
    c->users = a->users >= 0 ? a->users : b->users;
    return c;
}

/* ---- directives ---- */

static struct llmp_metrics_sconf *cmd_conf(cmd_parms *cmd)
{
    return llmp_sconf(cmd->server)->metrics;
}

const char *llmp_metrics_set_per_user(cmd_parms *cmd, void *dc, int on)
{
    cmd_conf(cmd)->per_user = on;
    return NULL;
}

static const char *slots_arg(cmd_parms *cmd, const char *arg, int *out)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    char *end;
    long n;

    if (err) return err;
    n = strtol(arg, &end, 10);
    if (end == arg || *end || n < 0 || n > METRICS_SLOTS_MAX)
        return apr_psprintf(cmd->pool, "%s: a number of slots from 0 to %d, "
                            "not '%s'", cmd->cmd->name, METRICS_SLOTS_MAX,
                            arg);
    *out = (int)n;
    return NULL;
}

const char *llmp_metrics_set_models(cmd_parms *cmd, void *dc,
                                    const char *arg)
{
    return slots_arg(cmd, arg, &cmd_conf(cmd)->models);
}

const char *llmp_metrics_set_users(cmd_parms *cmd, void *dc,
                                   const char *arg)
{
    return slots_arg(cmd, arg, &cmd_conf(cmd)->users);
}

/* ---- the shared table ---- */

static int metrics_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp, server_rec *s)
{
    struct llmp_metrics_sconf *mc = llmp_sconf(s)->metrics;
    metrics_retained_t *rt;
    llmp_metrics_dims_t dims;
    llmp_metrics_t *table;
    server_rec *v;
    apr_size_t size;
    apr_status_t rv;
    int per_user = 0, kept = 0;

    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    for (v = s; v; v = v->next)
        if (llmp_sconf(v)->metrics->per_user == 1) per_user = 1;
    dims.models = mc->models >= 0 ? mc->models : METRICS_MODELS_DEFAULT;
    dims.users = !per_user ? 0
                 : mc->users >= 0 ? mc->users : METRICS_USERS_DEFAULT;
    size = llmp_metrics_size(&dims);

    rt = ap_retained_data_get(METRICS_RETAINED_KEY);
    if (!rt) rt = ap_retained_data_create(METRICS_RETAINED_KEY, sizeof(*rt));
    if (rt->shm && (rt->dims.models != dims.models
                    || rt->dims.users != dims.users
                    || apr_shm_size_get(rt->shm) != size)) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, LLMP_LOG_TAG
                     "metrics: the table's size changed (%d -> %d model "
                     "slots, %d -> %d user slots): the counters start from "
                     "zero", rt->dims.models, dims.models, rt->dims.users,
                     dims.users);
        /* children of the old generation keep their own mapping */
        apr_shm_destroy(rt->shm);
        rt->shm = NULL;
    }
    if (!rt->shm) {
        rv = apr_shm_create(&rt->shm, size, NULL, s->process->pool);
        if (rv == APR_ENOTIMPL) {
            /* no anonymous shared memory here: a named segment */
            const char *fn = ap_runtime_dir_relative(s->process->pool,
                                                     "llmproxy-metrics");
            apr_shm_remove(fn, ptemp);
            rv = apr_shm_create(&rt->shm, size, fn, s->process->pool);
        }
        if (rv != APR_SUCCESS) {
            rt->shm = NULL;
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, LLMP_LOG_TAG
                         "metrics: cannot create the shared memory of the "
                         "metrics (%" APR_SIZE_T_FMT " bytes)", size);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        rt->dims = dims;
    }
    table = llmp_metrics_open(pconf, apr_shm_baseaddr_get(rt->shm),
                              apr_shm_size_get(rt->shm), &dims, &kept);
    if (!table) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, LLMP_LOG_TAG
                     "metrics: the shared memory segment is too small");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    for (v = s; v; v = v->next) llmp_sconf(v)->metrics->table = table;
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, LLMP_LOG_TAG
                 "metrics: %d model slots, %d user slots, %" APR_SIZE_T_FMT
                 " bytes of shared memory (%s)", dims.models, dims.users,
                 size, kept ? "kept across the restart" : "new");
    return OK;
}

/* ---- counting ---- */

static const char *or_note(request_rec *r, const char *v, const char *note)
{
    return v ? v : apr_table_get(r->notes, note);
}

void llmp_metrics_record(request_rec *r, const llmp_usage_t *u)
{
    struct llmp_metrics_sconf *mc = llmp_sconf(r->server)->metrics;
    llmp_metrics_event_t e;
    request_rec *last = r;

    if (!mc->table || !u || !u->endpoint) return;
    while (last->next) last = last->next;
    memset(&e, 0, sizeof(e));
    e.endpoint = u->endpoint;
    e.status = last->status;
    e.provider = or_note(r, u->provider, "llmproxy-provider");
    e.model = u->model;
    /* not called: the list model the handler found, if any (never the
     * client's own name for an unknown model: the slots are for the
     * list's models) */
    if (!e.model && apr_table_get(r->notes, "llmproxy-provider"))
        e.model = or_note(r, apr_table_get(r->notes, "llmproxy-model-target"),
                          "llmproxy-model");
    if (mc->per_user == 1) e.user = r->user ? r->user : "-";
    e.has_tokens = u->has_tokens;
    e.prompt_tokens = u->prompt_tokens;
    e.completion_tokens = u->completion_tokens;
    e.cached_tokens = u->cached_tokens;
    e.cost = u->cost;
    e.duration = e.ttft = -1;
    /* (llmp_io_proxy sets call_start before and call_end after every
     * backend call) */
    if (u->call_start && u->call_end >= u->call_start)
        e.duration = (double)(u->call_end - u->call_start)
                     / (double)APR_USEC_PER_SEC;
    if (u->call_start && u->first_token >= u->call_start)
        e.ttft = (double)(u->first_token - u->call_start)
                 / (double)APR_USEC_PER_SEC;
    /* refused by a limit (mod_llmproxy_limits.c): which one; the table
     * counts a name it does not know as "other". A refusal is an error
     * answer: a success is not looked up (two scans of the notes) */
    if (e.status >= 400) {
        e.limit = apr_table_get(last->notes, "llmproxy-limit");
        if (!e.limit) e.limit = apr_table_get(r->notes, "llmproxy-limit");
    }
    llmp_metrics_add(mc->table, &e);
}

static apr_status_t stream_end(void *data)
{
    llmp_metrics_streams(data, -1);
    return APR_SUCCESS;
}

void llmp_metrics_stream_begin(request_rec *r)
{
    llmp_metrics_t *t = llmp_sconf(r->server)->metrics->table;

    if (!t || apr_table_get(r->notes, "llmproxy-metrics-stream")) return;
    apr_table_setn(r->notes, "llmproxy-metrics-stream", "1");
    llmp_metrics_streams(t, 1);
    apr_pool_cleanup_register(r->pool, t, stream_end, apr_pool_cleanup_null);
}

/* ---- SetHandler llmproxy-metrics ---- */

static int metrics_handler(request_rec *r)
{
    llmp_metrics_t *t;
    llmp_server_conf_t *main_sc;
    llmp_metrics_source_t *src = NULL;
    llmp_metrics_extra_t x;
    apr_time_t now = apr_time_now();
    apr_size_t len;
    char *body;
    int i, n = 0;

    if (!r->handler || strcmp(r->handler, METRICS_HANDLER)) return DECLINED;
    if (r->method_number != M_GET) {
        r->allowed = AP_METHOD_BIT << M_GET;
        return HTTP_METHOD_NOT_ALLOWED;
    }
    t = llmp_sconf(r->server)->metrics->table;
    if (!t) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMP_LOG_TAG
                      "metrics: no table (the module was not set up)");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    main_sc = llmp_sconf(ap_server_conf);
    if (main_sc->sources && main_sc->sources->nelts) {
        src = apr_pcalloc(r->pool, sizeof(*src) * main_sc->sources->nelts);
        for (i = 0; i < main_sc->sources->nelts; i++) {
            llmp_source_t *so = APR_ARRAY_IDX(main_sc->sources, i,
                                              llmp_source_t *);
            llmp_store_status_t st;
            llmp_store_status(so, &st);
            src[n].url = llmp_source_url(so);
            src[n].has_list = st.has_list;
            src[n].models = st.models;
            src[n].age_seconds = st.has_list && now > st.fetched_at
                ? (double)(now - st.fetched_at) / (double)APR_USEC_PER_SEC
                : 0;
            src[n].failures = st.failures;
            n++;
        }
    }
    memset(&x, 0, sizeof(x));
    x.pool_backoff = llmp_pool_backoff_count(r->server);
    x.usagedb_failures = llmp_usagedb_failures();
    body = llmp_metrics_render(r->pool, t, src, n, &x, &len);
    ap_set_content_type(r, METRICS_CONTENT_TYPE);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_set_content_length(r, (apr_off_t)len);
    if (!r->header_only) ap_rwrite(body, (int)len, r);
    return OK;
}

void llmp_metrics_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_config(metrics_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(metrics_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
