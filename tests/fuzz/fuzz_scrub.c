/* Fuzz target: secrets scrubbed from backend bytes, the UTF-8 check and
 * the printable excerpt. The first bytes of the input give two secrets. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include "llmp_scrub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    apr_pool_t *p;
    const char *secrets[3] = { NULL, NULL, NULL };
    const char *in = (const char *)data;
    size_t n1 = size ? data[0] % 8 : 0, n2 = size > 1 ? data[1] % 12 : 0;
    size_t off = size > 1 ? 2 : size, i;
    apr_size_t outlen, max;
    char *out, *e;

    if (!init) { apr_initialize(); init = 1; }
    apr_pool_create(&p, NULL);
    if (off + n1 <= size) { secrets[0] = apr_pstrmemdup(p, in + off, n1); off += n1; }
    if (off + n2 <= size) { secrets[1] = apr_pstrmemdup(p, in + off, n2); off += n2; }
    out = llmp_scrub(p, in + off, size - off, secrets, &outlen);
    if (out != in + off && out[outlen] != '\0') abort();
    (void)llmp_utf8_valid(in, size);
    (void)llmp_utf8_valid(out, outlen);
    max = size ? data[size - 1] % 64 : 0;
    e = llmp_excerpt(p, out, outlen, max);
    if (strlen(e) > (max < 3 ? max + 3 : max)) abort();
    for (i = 0; e[i]; i++) {
        if ((unsigned char)e[i] < 0x20 || (unsigned char)e[i] > 0x7e) abort();
    }
    apr_pool_destroy(p);
    return 0;
}
