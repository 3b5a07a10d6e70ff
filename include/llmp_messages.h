/* Anthropic Messages front (/v1/messages, /v1/messages/count_tokens) for
 * backends that do not speak it (core, no httpd): the translator itself is
 * llmp_front_messages (llmp_front.h); these are the extras the glue needs
 * around it. */
#ifndef LLMP_MESSAGES_H
#define LLMP_MESSAGES_H

#include <apr_pools.h>
#include <cjson/cJSON.h>
#include "llmp_front.h"

/* Anthropic's error type for an error: the error's own type when it is
 * one of Anthropic's (overloaded_error, timeout_error, billing_error, ...),
 * else by status: 400 (and other 4xx) invalid_request_error, 401
 * authentication_error, 402 billing_error, 403 permission_error, 404
 * not_found_error, 413 request_too_large, 429 rate_limit_error, 503 and
 * 529 overloaded_error, 504 timeout_error, other 5xx api_error. */
const char *llmp_messages_error_type(const llmp_error_t *e);

/* The HTTP status Anthropic answers such an error with: 529 for
 * overloaded_error, else e->status. */
int llmp_messages_error_status(const llmp_error_t *e);

/* Does the client want thinking blocks back ("thinking" of type "enabled"
 * or "adaptive")? The glue sets x->want_reasoning from it. */
int llmp_messages_wants_reasoning(const cJSON *req);

/* A "ping" event ({"type":"ping"}) through f->emit, for the glue to send
 * on a long silence of the backend; nothing once the stream has ended
 * (after message_stop or the error event). A 500 when the write fails. */
llmp_error_t *llmp_messages_ping(llmp_front_t *f);

/* /v1/messages/count_tokens for a backend without a counting endpoint: an
 * ESTIMATE of the input tokens of a Messages request (one without
 * max_tokens): about one token per 4 bytes of text (system, message text,
 * thinking, tool inputs and results, tool names, descriptions and printed
 * input schemas), 1600 per image or document, 4 per message. *tokens is
 * at least 1. A 400 (Anthropic-style message naming the field) when
 * "messages" is missing or not an array of message objects. */
llmp_error_t *llmp_messages_count_tokens(apr_pool_t *p, const cJSON *req,
                                         long *tokens);

#endif
