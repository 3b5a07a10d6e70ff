/* Usage and cost of one call: see include/llmp_usage.h. */
#include <apr_strings.h>
#include "llmp_usage.h"

/* PLACEHOLDER (helper h-usage): counts from every shape */
int llmp_usage_take(llmp_usage_t *u, const cJSON *usage,
                    llmp_usage_shape_e shape)
{
    (void)u; (void)usage; (void)shape;
    return 0;
}

double llmp_usage_finish_cost(llmp_usage_t *u)
{
    u->cost = (double)u->prompt_tokens / 1000.0 * u->prompt_price_1k
              + (double)u->completion_tokens / 1000.0
                * u->completion_price_1k;
    return u->cost;
}

/* PLACEHOLDER (helper h-usage): plain decimal, full precision */
const char *llmp_usage_cost_text(apr_pool_t *p, double cost)
{
    return apr_psprintf(p, "%.15g", cost);
}
