/* Secrets scrubbed from backend bytes, UTF-8 validity, printable excerpts
 * (core: no httpd header). */
#include <string.h>
#include <apr_strings.h>

#include "llmp_scrub.h"

/* Where secret s (sl bytes) occurs first in buf at or after pos; len when
 * it does not. */
static apr_size_t find_from(const char *buf, apr_size_t len, apr_size_t pos,
                            const char *s, apr_size_t sl)
{
    while (pos + sl <= len) {
        const char *hit = memchr(buf + pos, s[0], len - pos - sl + 1);
        if (!hit) break;
        if (!memcmp(hit, s, sl)) return (apr_size_t)(hit - buf);
        pos = (apr_size_t)(hit - buf) + 1;
    }
    return len;
}

/* The secret that occurs first in buf at or after off (the longest one
 * when several start there); its start in *at, its index returned, -1 if
 * none occurs. next[] caches each secret's next occurrence (len: none):
 * only those that fell behind off are searched again, so a whole scrub
 * reads buf once per secret, however many occurrences it replaces. */
static int next_secret(const char *buf, apr_size_t len, apr_size_t off,
                       const char *const *secrets, const apr_size_t *slen,
                       apr_size_t *next, int n, apr_size_t *at)
{
    int i, best = -1;
    apr_size_t best_at = len;

    for (i = 0; i < n; i++) {
        if (next[i] < off) next[i] = find_from(buf, len, off, secrets[i],
                                               slen[i]);
        if (next[i] >= len) continue;
        if (next[i] < best_at
            || (next[i] == best_at && best >= 0 && slen[i] > slen[best])) {
            best = i;
            best_at = next[i];
        }
    }
    *at = best_at;
    return best;
}

char *llmp_scrub(apr_pool_t *p, const char *buf, apr_size_t len,
                 const char *const *secrets, apr_size_t *outlen)
{
    const apr_size_t rl = sizeof(LLMP_REDACTED) - 1;
    apr_size_t slen[16], next[16], at, off = 0, used = 0, cap;
    const char *list[16];
    char *out;
    int n = 0, i;

    *outlen = len;
    for (i = 0; secrets && secrets[i] && n < 16; i++) {
        if (!*secrets[i]) continue;
        list[n] = secrets[i];
        slen[n] = strlen(secrets[i]);
        next[n] = 0;
        n++;
    }
    if (!n || !buf) return (char *)buf;
    for (i = 0; i < n; i++)
        next[i] = find_from(buf, len, 0, list[i], slen[i]);
    i = next_secret(buf, len, 0, list, slen, next, n, &at);
    if (i < 0) return (char *)buf;
    /* each replacement grows the text by at most rl bytes per secret byte
     * (a one-byte secret); size for the worst case of what is left */
    cap = len + 1;
    out = NULL;
    while (i >= 0) {
        apr_size_t need = used + (at - off) + rl + (len - at - slen[i]) + 1;
        if (!out || need > cap) {
            char *nb;
            if (need > cap) cap = need * 2;
            nb = apr_palloc(p, cap);
            if (used) memcpy(nb, out, used);
            out = nb;
        }
        memcpy(out + used, buf + off, at - off);
        used += at - off;
        memcpy(out + used, LLMP_REDACTED, rl);
        used += rl;
        off = at + slen[i];
        i = next_secret(buf, len, off, list, slen, next, n, &at);
    }
    memcpy(out + used, buf + off, len - off);
    used += len - off;
    out[used] = '\0';
    *outlen = used;
    return out;
}

int llmp_utf8_valid(const char *buf, apr_size_t len)
{
    const unsigned char *s = (const unsigned char *)buf;
    apr_size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        apr_size_t n, k;
        unsigned char lo = 0x80, hi = 0xbf;   /* the second byte's range */

        if (c < 0x80) {
            /* ASCII: then eight bytes at a time while none has its high
             * bit set */
            i++;
            while (len - i >= 8) {
                apr_uint64_t v;

                memcpy(&v, s + i, 8);
                if (v & UINT64_C(0x8080808080808080)) break;
                i += 8;
            }
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) n = 1;
        else if (c == 0xe0) { n = 2; lo = 0xa0; }          /* overlong */
        else if (c == 0xed) { n = 2; hi = 0x9f; }          /* surrogates */
        else if (c >= 0xe1 && c <= 0xef) n = 2;
        else if (c == 0xf0) { n = 3; lo = 0x90; }          /* overlong */
        else if (c >= 0xf1 && c <= 0xf3) n = 3;
        else if (c == 0xf4) { n = 3; hi = 0x8f; }          /* > U+10FFFF */
        else return 0;                 /* 0x80-0xc1, 0xf5-0xff */
        if (len - i <= n) return 0;    /* truncated */
        if (s[i + 1] < lo || s[i + 1] > hi) return 0;
        for (k = 2; k <= n; k++) {
            if (s[i + k] < 0x80 || s[i + k] > 0xbf) return 0;
        }
        i += n + 1;
    }
    return 1;
}

char *llmp_excerpt(apr_pool_t *p, const char *buf, apr_size_t len,
                   apr_size_t max)
{
    char *out = apr_palloc(p, max + 4);
    apr_size_t i, used = 0;
    int in_tag = 0, space = 0;

    for (i = 0; buf && i < len; i++) {
        unsigned char c = (unsigned char)buf[i];

        if (in_tag) {
            if (c == '>') { in_tag = 0; space = 1; }
            continue;
        }
        if (c == '<') { in_tag = 1; space = 1; continue; }
        if (c <= 0x20 || c >= 0x7f) { space = 1; continue; }
        if (space && used) {
            if (used + 1 >= max) break;
            out[used++] = ' ';
        }
        space = 0;
        if (used >= max) break;
        out[used++] = (char)c;
    }
    if (i < len && used) {
        if (used > max - 3 && max >= 3) used = max - 3;
        memcpy(out + used, "...", 3);
        used += 3;
    }
    out[used] = '\0';
    return out;
}
