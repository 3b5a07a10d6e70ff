/* mod_llmproxy: Prometheus metrics, SetHandler llmproxy-metrics (issue 12).
 * PLACEHOLDER: helper h-metrics fills it in. */
#include "mod_llmproxy_features.h"

APLOG_USE_MODULE(llmproxy);

struct llmp_metrics_sconf {
    int per_user;                  /* LLMProxyMetricsPerUser; -1 unset */
};

void *llmp_metrics_create_sconf(apr_pool_t *p)
{
    struct llmp_metrics_sconf *c = apr_pcalloc(p, sizeof(*c));
    c->per_user = -1;
    return c;
}

void *llmp_metrics_merge_sconf(apr_pool_t *p, void *basev, void *addv)
{
    struct llmp_metrics_sconf *b = basev, *a = addv, *c = apr_pcalloc(p, sizeof(*c));
    c->per_user = a->per_user >= 0 ? a->per_user : b->per_user;
    return c;
}

void llmp_metrics_register_hooks(apr_pool_t *p)
{
    (void)p;
}

void llmp_metrics_record(request_rec *r, const llmp_usage_t *u)
{
    (void)r; (void)u;
}

void llmp_metrics_stream_begin(request_rec *r)
{
    (void)r;
}
