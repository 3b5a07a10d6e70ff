/* Placeholder: translation for cohere is being written (see issues). */
#include "llmp_provider.h"

const llmp_provider_ops_t llmp_cohere_ops = {
    "cohere",
    NULL, NULL, NULL, NULL,
    NULL, NULL,
    NULL, NULL,
    llmp_provider_generic_error,
};
