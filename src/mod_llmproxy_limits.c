/* mod_llmproxy: rate limits and budgets, LLMProxyLimit (issue 13).
 * PLACEHOLDER: helper h-limits fills it in. */
#include "mod_llmproxy_features.h"

APLOG_USE_MODULE(llmproxy);

struct llmp_limits_sconf {
    const char *store;             /* LLMProxyLimitStore; NULL: shm */
};

struct llmp_limits_dconf {
    apr_array_header_t *limits;    /* LLMProxyLimit; NULL: inherit */
};

void *llmp_limits_create_sconf(apr_pool_t *p)
{
    return apr_pcalloc(p, sizeof(struct llmp_limits_sconf));
}

void *llmp_limits_merge_sconf(apr_pool_t *p, void *basev, void *addv)
{
    struct llmp_limits_sconf *b = basev, *a = addv, *c = apr_pcalloc(p, sizeof(*c));
    c->store = a->store ? a->store : b->store;
    return c;
}

void *llmp_limits_create_dconf(apr_pool_t *p)
{
    return apr_pcalloc(p, sizeof(struct llmp_limits_dconf));
}

void *llmp_limits_merge_dconf(apr_pool_t *p, void *basev, void *addv)
{
    struct llmp_limits_dconf *b = basev, *a = addv, *c = apr_pcalloc(p, sizeof(*c));
    c->limits = a->limits ? a->limits : b->limits;
    return c;
}

void llmp_limits_register_hooks(apr_pool_t *p)
{
    (void)p;
}

int llmp_limits_check(request_rec *r, const llmp_model_t *model)
{
    (void)r; (void)model;
    return DECLINED;
}

void llmp_limits_charge(request_rec *r, const llmp_usage_t *u)
{
    (void)r; (void)u;
}
