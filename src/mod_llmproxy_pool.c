/* mod_llmproxy: pools of duplicate entries, passive health, retries,
 * fallbacks, per-prefix base URLs (issue 14).
 * PLACEHOLDER: helper h-pool fills it in. */
#include "mod_llmproxy_features.h"

APLOG_USE_MODULE(llmproxy);

struct llmp_pool_sconf {
    int retries;                   /* LLMProxyRetries; -1 unset */
};

void *llmp_pool_create_sconf(apr_pool_t *p)
{
    struct llmp_pool_sconf *c = apr_pcalloc(p, sizeof(*c));
    c->retries = -1;
    return c;
}

void *llmp_pool_merge_sconf(apr_pool_t *p, void *basev, void *addv)
{
    struct llmp_pool_sconf *b = basev, *a = addv, *c = apr_pcalloc(p, sizeof(*c));
    c->retries = a->retries >= 0 ? a->retries : b->retries;
    return c;
}

void llmp_pool_register_hooks(apr_pool_t *p)
{
    (void)p;
}
