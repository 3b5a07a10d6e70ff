/* mod_llmproxy: AuthType llmproxy-key and LLMProxyKeyFile (issue 12).
 * PLACEHOLDER: helper h-keys fills it in. */
#include "mod_llmproxy_features.h"

APLOG_USE_MODULE(llmproxy);

struct llmp_keys_dconf {
    const char *file;              /* LLMProxyKeyFile */
};

void *llmp_keys_create_dconf(apr_pool_t *p)
{
    return apr_pcalloc(p, sizeof(struct llmp_keys_dconf));
}

void *llmp_keys_merge_dconf(apr_pool_t *p, void *basev, void *addv)
{
    struct llmp_keys_dconf *b = basev, *a = addv, *c = apr_pcalloc(p, sizeof(*c));
    c->file = a->file ? a->file : b->file;
    return c;
}

void llmp_keys_register_hooks(apr_pool_t *p)
{
    (void)p;
}
