/* Hygiene for backend bytes before anything of them reaches a client:
 * secrets scrubbed, UTF-8 checked, printable excerpts (core: no httpd
 * header). */
#ifndef LLMP_SCRUB_H
#define LLMP_SCRUB_H

#include <apr_pools.h>

#define LLMP_REDACTED "[redacted]"

/* buf (len bytes) with every occurrence of each secret (a NULL-terminated
 * list; NULL and empty entries are skipped) replaced by "[redacted]".
 * Returns buf itself when no secret occurs (nothing is copied), else a
 * NUL-terminated copy in pool p; *outlen is the resulting length. Where
 * two occurrences overlap, the leftmost longest is replaced first. */
char *llmp_scrub(apr_pool_t *p, const char *buf, apr_size_t len,
                 const char *const *secrets, apr_size_t *outlen);

/* 1 when buf is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF, no truncated sequence), else 0. */
int llmp_utf8_valid(const char *buf, apr_size_t len);

/* A short excerpt of untrusted bytes for an error message: at most max
 * bytes of output, printable ASCII only. HTML/XML tags are dropped, runs
 * of white space and of anything unprintable become one space, and the
 * ends are trimmed; "..." marks a cut. Never NULL (maybe ""). */
char *llmp_excerpt(apr_pool_t *p, const char *buf, apr_size_t len,
                   apr_size_t max);

#endif
