/* Placeholder: translation for ideogram is being written (see issues). */
#include "llmp_provider.h"

const llmp_provider_ops_t llmp_ideogram_ops = {
    "ideogram",
    NULL, NULL, NULL, NULL,
    NULL, NULL,
    NULL, NULL,
    llmp_provider_generic_error,
};
