/* Placeholder: translation for anthropic is being written (see issues). */
#include "llmp_provider.h"

const llmp_provider_ops_t llmp_anthropic_ops = {
    "anthropic",
    NULL, NULL, NULL, NULL,
    NULL, NULL,
    NULL, NULL,
    llmp_provider_generic_error,
};
