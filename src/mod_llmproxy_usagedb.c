/* mod_llmproxy: one row per call through mod_dbd, LLMProxyUsageDB (issue
 * 12). PLACEHOLDER: helper h-usagedb fills it in. */
#include "mod_llmproxy_features.h"

APLOG_USE_MODULE(llmproxy);

struct llmp_usagedb_sconf {
    int on;                        /* LLMProxyUsageDB; -1 unset */
};

void *llmp_usagedb_create_sconf(apr_pool_t *p)
{
    struct llmp_usagedb_sconf *c = apr_pcalloc(p, sizeof(*c));
    c->on = -1;
    return c;
}

void *llmp_usagedb_merge_sconf(apr_pool_t *p, void *basev, void *addv)
{
    struct llmp_usagedb_sconf *b = basev, *a = addv, *c = apr_pcalloc(p, sizeof(*c));
    c->on = a->on >= 0 ? a->on : b->on;
    return c;
}

void llmp_usagedb_register_hooks(apr_pool_t *p)
{
    (void)p;
}

void llmp_usagedb_record(request_rec *r, const llmp_usage_t *u)
{
    (void)r; (void)u;
}
