/* Usage and cost of one call (core, no httpd header).
 *
 * The glue keeps one llmp_usage_t per request (llmp_req_conf(r)->usage):
 * the call paths fill it (model, provider, token counts, times), and at
 * log_transaction, after the answer is sent, the handler's hook finishes it
 * (cost, notes) and hands it to the metrics, the usage database and the
 * limits, each of which only reads it. */
#ifndef LLMP_USAGE_H
#define LLMP_USAGE_H

#include <apr_pools.h>
#include <apr_time.h>
#include <cjson/cJSON.h>

/* The protocol a usage object is written in. */
typedef enum {
    LLMP_USAGE_CHAT = 0,      /* prompt_tokens, completion_tokens,
                                 prompt_tokens_details.cached_tokens (Chat
                                 Completions, completions, embeddings, the
                                 IR) */
    LLMP_USAGE_RESPONSES,     /* input_tokens, output_tokens,
                                 input_tokens_details.cached_tokens */
    LLMP_USAGE_MESSAGES       /* Anthropic: input_tokens (without the cache),
                                 cache_read_input_tokens,
                                 cache_creation_input_tokens, output_tokens */
} llmp_usage_shape_e;

typedef struct llmp_usage {
    /* set by the handler for every request it serves */
    const char *endpoint;          /* the llmproxy-endpoint note's value */
    /* set when a backend call for a model begins (llmp_io_proxy) */
    int called;
    const char *model;             /* the list's model_version called */
    const char *provider;          /* the family's name ("openai",
                                      "anthropic", "gemini", ...) */
    double prompt_price_1k;        /* the list entry's prices */
    double completion_price_1k;
    int stream;                    /* the client asked for a stream */
    apr_time_t call_start;         /* the backend call began; 0: none */
    apr_time_t call_end;           /* it ended (answer or stream end) */
    apr_time_t first_token;        /* a stream's first content event was
                                      relayed to the client; 0: none */
    /* what the backend reported (has_tokens: it reported usage) */
    int has_tokens;
    apr_int64_t prompt_tokens;     /* input tokens, cached ones included */
    apr_int64_t completion_tokens; /* output tokens, reasoning included */
    apr_int64_t cached_tokens;     /* of prompt_tokens, read from a cache */
    /* set by llmp_usage_finish_cost */
    double cost;                   /* in the list's currency */
} llmp_usage_t;

/* Take the token counts of a usage object of the given shape into u (a
 * later report of one call replaces an earlier one field by field: a
 * stream's last usage is the whole call's). 1 when it held a count. */
int llmp_usage_take(llmp_usage_t *u, const cJSON *usage,
                    llmp_usage_shape_e shape);

/* cost = prompt / 1000 * prompt_price_1k + completion / 1000 *
 * completion_price_1k (cached tokens at the prompt price); stored in
 * u->cost and returned. */
double llmp_usage_finish_cost(llmp_usage_t *u);

/* A cost as plain decimal text, no exponent, every significant digit a
 * double holds, no trailing zeros ("0", "0.003702", "12.5"). */
const char *llmp_usage_cost_text(apr_pool_t *p, double cost);

/* Does an IR chunk (chat.completion.chunk, or a legacy text_completion
 * chunk) carry content: text, reasoning, a refusal or a tool call? (The
 * first one relayed is a stream's first token.) */
int llmp_usage_chunk_has_content(const cJSON *chunk);

/* Where a JSON object's top-level "usage": null member lies in its text
 * (with the comma that joins it to its neighbour): 1 and [*from, *to)
 * when found, so that the text without those bytes is the object without
 * that member, as it was printed. (A pass-through stream whose
 * stream_options.include_usage the glue added.) */
int llmp_usage_null_span(const char *json, apr_size_t len, apr_size_t *from,
                         apr_size_t *to);

#endif
