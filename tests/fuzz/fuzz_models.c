/* Fuzz target: the gateway's model list (parsing, validation, handle
 * safety, provider detection, lookup, /v1/models rendering, with aliases). */
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
        /* aliases of the first two ids (and of a missing one) appended */
        {
            apr_array_header_t *al = apr_array_make(p, 3,
                                                    sizeof(llmp_alias_t));
            llmp_alias_t *a;
            apr_size_t len = 0;
            char *j;

            for (i = 0; i < m->list->nelts && i < 2; i++) {
                a = apr_array_push(al);
                a->name = i ? "alias-b" : "alias-a";
                a->target = APR_ARRAY_IDX(m->list, i, llmp_model_t *)->id;
            }
            a = apr_array_push(al);
            a->name = "alias-missing";
            a->target = "\x01no such id";
            j = llmp_models_render_aliases(p, m, al, 1, &len, NULL);
            if (!j || len != strlen(j) || len < m->models_json_len)
                __builtin_trap();
        }
    }
    apr_pool_destroy(p);
    return 0;
}
