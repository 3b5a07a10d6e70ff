/* mod_llmproxy: token counts, cost and notes of every call (issue 12).
 * The call paths (mod_llmproxy.c, mod_llmproxy_io.c) fill the request's
 * llmp_usage_t; at log_transaction, before mod_log_config writes the
 * notes, this file finishes it: the cost, the notes, then the metrics,
 * the usage database and the limits read it. */
#include "mod_llmproxy_features.h"
#include <http_protocol.h>
#include <http_request.h>
#include <apr_strings.h>

APLOG_USE_MODULE(llmproxy);

struct llmp_usage_sconf {
    int stream_usage;              /* LLMProxyStreamUsage; -1 unset */
};

void *llmp_usage_create_sconf(apr_pool_t *p)
{
    struct llmp_usage_sconf *c = apr_pcalloc(p, sizeof(*c));
    c->stream_usage = -1;
    return c;
}

void *llmp_usage_merge_sconf(apr_pool_t *p, void *basev, void *addv)
{
    struct llmp_usage_sconf *b = basev, *a = addv, *c = apr_pcalloc(p, sizeof(*c));
    c->stream_usage = a->stream_usage >= 0 ? a->stream_usage : b->stream_usage;
    return c;
}

const char *llmp_usage_set_stream_usage(cmd_parms *cmd, void *d, int flag)
{
    llmp_server_conf_t *sc = llmp_sconf(cmd->server);

    (void)d;
    sc->usage->stream_usage = flag;
    return NULL;
}

int llmp_usage_stream_usage(const llmp_server_conf_t *sc)
{
    return !sc->usage || sc->usage->stream_usage != 0;
}

llmp_usage_t *llmp_usage_of(request_rec *r)
{
    return &llmp_req_conf(r)->usage;
}

void llmp_usage_log(request_rec *r)
{
    llmp_req_conf_t *rc = ap_get_module_config(r->request_config,
                                               &llmproxy_module);
    llmp_usage_t *u;

    if (!rc || !rc->usage.endpoint) return;
    u = &rc->usage;
    llmp_usage_finish_cost(u);
    /* these notes are this hook's alone, set once per request: added
     * (apr_table_setn would first compare each with every llmproxy-
     * note, whose names share the checksum of their first four bytes) */
    if (u->has_tokens) {
        apr_table_addn(r->notes, "llmproxy-prompt-tokens",
                       llmp_int_pstr(r->pool, u->prompt_tokens));
        apr_table_addn(r->notes, "llmproxy-completion-tokens",
                       llmp_int_pstr(r->pool, u->completion_tokens));
        apr_table_addn(r->notes, "llmproxy-cached-tokens",
                       llmp_int_pstr(r->pool, u->cached_tokens));
    }
    if (u->called)
        apr_table_addn(r->notes, "llmproxy-cost",
                       llmp_usage_cost_text(r->pool, u->cost));
    if (u->stream && u->first_token && u->call_start
        && u->first_token >= u->call_start)
        apr_table_addn(r->notes, "llmproxy-ttft-ms",
                       llmp_int_pstr(r->pool, (apr_int64_t)apr_time_as_msec(
                           u->first_token - u->call_start)));
    if (r->user)
        apr_table_addn(r->notes, "llmproxy-user", r->user);
    llmp_metrics_record(r, u);
    llmp_usagedb_record(r, u);
    llmp_limits_charge(r, u);
}

static int usage_log_transaction(request_rec *r)
{
    llmp_usage_log(r);
    return DECLINED;
}

void llmp_usage_register_hooks(apr_pool_t *p)
{
    (void)p;
    /* before mod_log_config writes the notes */
    ap_hook_log_transaction(usage_log_transaction, NULL, NULL,
                            APR_HOOK_REALLY_FIRST);
}
