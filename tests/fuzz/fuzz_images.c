/* Fuzz target: the Ideogram and Recraft image translators. The first byte
 * picks the backend (bits 0-1: Ideogram classic, Ideogram 3.0, Recraft V3,
 * Recraft V4) and the hook (bits 2-3: 0 images_request, 1 images_response,
 * 2 error, 3 request then a response); the rest is the JSON body. */
#include <stdint.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>
#include "llmp_provider.h"

static const llmp_xlate_opts_t opts = { 4096, "search_document" };

static const struct {
    const llmp_provider_ops_t *ops;
    const char *model, *handle;
} backends[4] = {
    { &llmp_ideogram_ops, "ideogram-v2-turbo", "/ideogram/generate" },
    { &llmp_ideogram_ops, "ideogram-v3", "/ideogram/v1/ideogram-v3/generate" },
    { &llmp_recraft_ops, "recraftv3", "/recraft/v1/images/generations" },
    { &llmp_recraft_ops, "Recraft-V4.1", "/recraft/v1/images/generations" },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    apr_pool_t *p;
    llmp_xlate_t x;
    llmp_native_req_t nr;
    const llmp_provider_ops_t *ops;
    const char *body = (const char *)data + 1;
    size_t blen = size ? size - 1 : 0;
    cJSON *j;
    char *out;
    apr_size_t olen;
    llmp_error_t *e;
    int b;

    if (!init) { apr_initialize(); init = 1; }
    if (!size) return 0;
    apr_pool_create(&p, NULL);
    b = data[0] & 3;
    ops = backends[b].ops;
    memset(&x, 0, sizeof(x));
    memset(&nr, 0, sizeof(nr));
    x.pool = p;
    x.model_id = backends[b].model;
    x.handle = backends[b].handle;
    x.id = "chatcmpl-fuzz";
    x.created = 1700000000;
    x.opts = &opts;

    j = llmp_json_parse_pool(p, body, blen);
    switch ((data[0] >> 2) & 3) {
    case 0:
    case 3:
        e = ops->images_request(&x, j, &nr);
        if (e) {
            (void)llmp_error_json(p, e);
        }
        else if (!nr.body || !nr.path || nr.len != strlen(nr.body)) {
            __builtin_trap();
        }
        if ((data[0] >> 2) == 3 && !e) {
            e = ops->images_response(&x, j, &out, &olen);
            if (e) (void)llmp_error_json(p, e);
        }
        break;
    case 1:
        e = ops->images_response(&x, j, &out, &olen);
        if (e) (void)llmp_error_json(p, e);
        else if (!out) __builtin_trap();
        break;
    case 2:
        e = ops->error(&x, 400 + (data[0] >> 4) * 13, j, body, blen);
        if (!e || !e->message || e->status < 400 || e->status > 599)
            __builtin_trap();
        (void)llmp_error_json(p, e);
        break;
    }
    apr_pool_destroy(p);
    return 0;
}
