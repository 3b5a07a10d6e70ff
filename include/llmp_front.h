/* Front translators: one per inbound protocol (core, no httpd).
 *
 * A call crosses two translators that never know each other:
 *
 *   client protocol --front--> internal representation --back--> backend
 *
 * The internal representation (IR) is the Chat Completions shape held as
 * cJSON trees (the one every OpenAI-compatible backend takes as it is, so
 * that family's back translator is the identity):
 *
 *   request  an OpenAI chat completion request: "model", "messages" (roles
 *            system, developer, user, assistant, tool; content a string or
 *            parts "text", "image_url", "file"; assistant "tool_calls" of
 *            type "function" {"name","arguments"} or "custom"
 *            {"name","input"}; tool "tool_call_id"), "tools" (type
 *            "function"; "custom" tools are turned into functions by the
 *            front before a back translator sees them, see below),
 *            "tool_choice", "parallel_tool_calls", "max_completion_tokens",
 *            "temperature", "top_p", "stop", "response_format",
 *            "reasoning_effort", "verbosity", "metadata", "user",
 *            "prompt_cache_key", "stream", "stream_options".
 *            Extensions (never sent to a strict API; the OpenAI-compatible
 *            family gets them removed by llmp_ir_strip):
 *              assistant message "reasoning_content": its reasoning text;
 *              "reasoning_signature": the backend's opaque proof of it
 *              (Anthropic's thinking "signature"), to be sent back with
 *              the reasoning on the next turn
 *              "x_llmp": {...} front-private data (ignored by every back
 *              translator)
 *   answer   a "chat.completion" object; the message may carry
 *            "reasoning_content" and "reasoning_signature"; "usage" with
 *            prompt_tokens_details.
 *            cached_tokens and completion_tokens_details.reasoning_tokens
 *            where known.
 *   stream   "chat.completion.chunk" objects, in order; with
 *            stream_options.include_usage the last one carries "usage".
 *            A delta may carry "reasoning_content" (a piece of the text)
 *            and "reasoning_signature" (whole, once). Back translators put
 *            reasoning in the IR only when x->want_reasoning is set.
 *
 * Back translators (llmp_provider_ops_t, llmp_provider.h) turn the IR
 * request into the backend's native request and the native answer and
 * events into IR. A front translator turns its protocol's request into the
 * IR, and IR answers and chunks into its protocol.
 *
 * Custom tools (free-form input, e.g. Codex's apply_patch): a front offers
 * them to the back as a function with one string parameter "input"; a call
 * of such a function comes back as a function call and the front turns it
 * into its protocol's custom tool call (input = the "input" argument).
 *
 * Trees: every tree a front hook returns is owned by f->pool (deleted with
 * it); trees passed in are the caller's and are not changed.
 */
#ifndef LLMP_FRONT_H
#define LLMP_FRONT_H

#include <apr_pools.h>
#include <cjson/cJSON.h>
#include "llmp_openai.h"

typedef struct llmp_front llmp_front_t;

/* Write one server-sent event: "event: <event>\n" when event is not NULL,
 * then "data: <data>\n\n". */
typedef apr_status_t llmp_front_emit_fn(void *baton, const char *event,
                                        const char *data, apr_size_t len);

typedef struct llmp_front_ops {
    const char *name;           /* "chat", "responses", "messages" */
    apr_size_t state_size;      /* f->state is allocated zeroed, this size */

    /* The client's request (a JSON object whose top level the glue has
     * checked) as an IR request, owned by f->pool. A 400 naming the
     * offending item when it is not valid for the protocol. */
    llmp_error_t *(*request)(llmp_front_t *f, const cJSON *req, cJSON **ir);

    /* An IR answer (chat.completion) as this protocol's answer body,
     * printed into f->pool. */
    llmp_error_t *(*response)(llmp_front_t *f, const cJSON *completion,
                              char **out, apr_size_t *len);

    /* One IR chunk: zero or more events through f->emit. An error ends
     * the stream (the glue then calls stream_end with it). */
    llmp_error_t *(*stream_chunk)(llmp_front_t *f, const cJSON *chunk);

    /* The stream is over: err is NULL when the backend's stream ended
     * well, else what ended it (after some or no events). Emits the
     * protocol's last events (for Responses: "error" when err, then
     * exactly one of response.completed, response.incomplete,
     * response.failed). The glue writes nothing after them. */
    llmp_error_t *(*stream_end)(llmp_front_t *f, const llmp_error_t *err);

    /* An error as this protocol's error body (no trailing newline). */
    char *(*error_json)(apr_pool_t *p, const llmp_error_t *e);
} llmp_front_ops_t;

struct llmp_front {
    apr_pool_t *pool;           /* the request's */
    const llmp_front_ops_t *ops;
    const char *model_id;       /* the list's model_version */
    const char *id;             /* the answer's id ("resp_...", "msg_...") */
    apr_int64_t created;        /* unix seconds */
    int stream;                 /* the client asked for a stream */
    const cJSON *req;           /* the client's request, as parsed */
    void *state;                /* ops->state_size bytes, zeroed */
    llmp_front_emit_fn *emit;   /* set by the glue for streams */
    void *emit_baton;
    /* Filled by the front when the answer is final (answer or stream
     * end), for logging, usage and the response store: the answer object
     * in the protocol's shape, owned by pool; NULL before. */
    cJSON *answer;
    /* The answer as printed for the client, when the front printed it
     * whole (NULL otherwise): what keeps it (the response store) need not
     * print it again. */
    const char *answer_text;
    apr_size_t answer_len;
};

/* A front for one request: ops->state_size bytes of state, zeroed. */
llmp_front_t *llmp_front_create(apr_pool_t *p, const llmp_front_ops_t *ops,
                                const char *model_id, apr_int64_t created,
                                int stream, const cJSON *req);

/* Remove the IR's extensions ("x_llmp", "reasoning_content",
 * "reasoning_signature") before the
 * IR is sent to an OpenAI-compatible backend as it is. */
void llmp_ir_strip(cJSON *ir);

extern const llmp_front_ops_t llmp_front_responses;
extern const llmp_front_ops_t llmp_front_messages;

#endif
