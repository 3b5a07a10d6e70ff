/* Fuzz target: the gateway's model list (parsing, validation, handle
 * safety, provider detection, lookup, /v1/models rendering). */
#include <stdint.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>
#include "llmp_models.h"
#include "llmp_route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    apr_pool_t *p;
    const char *err = NULL;
    llmp_models_t *m;

    if (!init) { apr_initialize(); init = 1; }
    apr_pool_create(&p, NULL);
    m = llmp_models_parse(p, (const char *)data, size, 1700000000, NULL, &err);
    if (m) {
        int i;
        for (i = 0; i < m->list->nelts; i++) {
            const llmp_model_t *mod = APR_ARRAY_IDX(m->list, i, llmp_model_t *);
            /* every accepted handle is safe and found again by its id */
            if (!llmp_handle_is_safe(mod->handle)) __builtin_trap();
            if (!llmp_models_find(m, mod->id)) __builtin_trap();
            llmp_route_kind(mod->handle, mod->provider);
            llmp_model_json(p, mod, 1);
        }
    }
    apr_pool_destroy(p);
    return 0;
}
