/* Placeholder: translation for gemini is being written (see issues). */
#include "llmp_provider.h"

const llmp_provider_ops_t llmp_gemini_ops = {
    "gemini",
    NULL, NULL, NULL, NULL,
    NULL, NULL,
    NULL, NULL,
    llmp_provider_generic_error,
};
