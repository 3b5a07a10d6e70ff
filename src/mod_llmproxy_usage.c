/* mod_llmproxy: token counts, cost and notes of every call (issue 12).
 * PLACEHOLDER: helper h-usage fills it in. */
#include "mod_llmproxy_features.h"
#include <http_request.h>

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
