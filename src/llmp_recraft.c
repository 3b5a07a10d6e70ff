/* Placeholder: translation for recraft is being written (see issues). */
#include "llmp_provider.h"

const llmp_provider_ops_t llmp_recraft_ops = {
    "recraft",
    NULL, NULL, NULL, NULL,
    NULL, NULL,
    NULL, NULL,
    llmp_provider_generic_error,
};
