/* Incremental Server-Sent Events reader and writer (core). */
#ifndef LLMP_SSE_H
#define LLMP_SSE_H

#include <apr_pools.h>
#include <apr_errno.h>

/* Called once per complete event. event is "" when no "event:" field was
 * given; data is the joined "data:" lines (NUL terminated, len bytes).
 * Return APR_SUCCESS to continue; anything else stops the parser and is
 * returned by llmp_sse_feed. */
typedef apr_status_t llmp_sse_event_fn(void *baton, const char *event,
                                       const char *data, apr_size_t len);

typedef struct llmp_sse_parser llmp_sse_parser_t;

/* max_event bounds one event's size (APR_ENOSPC beyond it). */
llmp_sse_parser_t *llmp_sse_parser_create(apr_pool_t *p, apr_size_t max_event,
                                          llmp_sse_event_fn *fn, void *baton);
/* Optional: called with the text after ':' of each comment line (a
 * keep-alive), in order with the events; same baton and return rules. */
typedef apr_status_t llmp_sse_comment_fn(void *baton, const char *text,
                                         apr_size_t len);
void llmp_sse_set_comment_fn(llmp_sse_parser_t *sp, llmp_sse_comment_fn *fn);
/* Feed any number of bytes, split anywhere (CRLF, CR and LF line ends). */
apr_status_t llmp_sse_feed(llmp_sse_parser_t *sp, const char *buf,
                           apr_size_t len);
/* End of stream: dispatches a last event not followed by a blank line. */
apr_status_t llmp_sse_finish(llmp_sse_parser_t *sp);
/* Number of events dispatched so far. */
apr_size_t llmp_sse_count(const llmp_sse_parser_t *sp);

/* "data: <data>\n\n" (data must not contain newlines; JSON printed
 * unformatted never does). */
char *llmp_sse_data(apr_pool_t *p, const char *data, apr_size_t len,
                    apr_size_t *outlen);

#endif
