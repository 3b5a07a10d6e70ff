/* Provider translators: one file per provider family (core, no httpd).
 *
 * The glue (mod_llmproxy_*.c) parses the client's OpenAI request, picks the
 * model's provider, and calls these hooks. A provider leaves a hook NULL when
 * it does not serve that endpoint; the glue answers a clear 400 then.
 *
 * Streaming: the glue feeds each native SSE event of the backend to
 * chat_stream_event, one at a time, in order. The translator emits zero or
 * more OpenAI chunks through llmp_xlate_emit() (the glue writes each as
 * "data: ...\n\n" and flushes it at once). After the last event the glue
 * calls chat_stream_end; if it returns NULL the glue writes "data: [DONE]".
 * An error returned from either hook is sent to the client as a final
 * "data: {"error":...}" event (the HTTP status is already 200 by then).
 */
#ifndef LLMP_PROVIDER_H
#define LLMP_PROVIDER_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <cjson/cJSON.h>
#include "llmp_openai.h"
#include "llmp_front.h"
#include "llmp_usage.h"

typedef enum {
    LLMP_PROV_OPENAI = 0,   /* OpenAI-compatible: bodies pass through */
    LLMP_PROV_ANTHROPIC,    /* Anthropic Messages */
    LLMP_PROV_GEMINI,       /* Google Gemini generateContent */
    LLMP_PROV_COHERE,       /* Cohere v2 chat / embed */
    LLMP_PROV_IDEOGRAM,     /* Ideogram image generation */
    LLMP_PROV_RECRAFT,      /* Recraft image generation */
    LLMP_PROV_COUNT
} llmp_provider_e;

/* Which OpenAI endpoint a model serves. */
typedef enum {
    LLMP_KIND_ANY = 0,         /* cannot tell: let the backend decide */
    LLMP_KIND_CHAT,
    LLMP_KIND_EMBEDDINGS,
    LLMP_KIND_IMAGES,
    LLMP_KIND_COMPLETIONS,
    LLMP_KIND_RESPONSES        /* a Responses API backend (".../responses"):
                                  served on /v1/responses, the body passed
                                  through */
} llmp_kind_e;

/* A shape of handle: what its path (before any query) ends with or holds. */
#define LLMP_SHAPE_SUFFIX 0x0      /* the path ends with text */
#define LLMP_SHAPE_WORD   0x1      /* text occurs in the handle */
#define LLMP_SHAPE_DETECT 0x2      /* a match makes the handle this
                                      provider's (else it only tells the
                                      endpoint of a handle already known
                                      to be the provider's) */
typedef struct llmp_shape {
    const char *text;              /* NULL ends a list; case-insensitive */
    unsigned flags;
    llmp_kind_e kind;
} llmp_shape_t;

/* How a handle is recognised as a provider's (llmp_route_provider): an
 * LLMProxyProviderRule first; then the providers whose segment or family
 * is decisive (image APIs); then the DETECT shapes of every provider, in
 * the table's order; then the segments of every provider; then the
 * families; else the first provider (OpenAI-compatible). */
typedef struct llmp_detect {
    int decisive;                  /* segment or family before any shape */
    const char *const *segments;   /* the handle's first path segment
                                      (after a leading "raw"); NULL ends */
    const char *const *family_prefixes;  /* model_family starts with */
    const char *const *family_words;     /* model_family holds */
    const llmp_shape_t *shapes;    /* checked in order */
    llmp_kind_e kind;              /* when no shape tells the endpoint */
} llmp_detect_t;

/* Configuration the translators need, filled by the glue from directives. */
typedef struct llmp_xlate_opts {
    int default_max_tokens;        /* Anthropic requires max_tokens */
    const char *embed_input_type;  /* Cohere embed input_type default */
    const char *anthropic_version; /* anthropic-version header value */
    /* LLMProxyReasoningModels: globs (const char *, fnmatch style, case
     * blind) on the model id of models to treat as taking thinking
     * settings besides the ones each family knows; NULL or empty: none */
    const apr_array_header_t *reasoning_models;
} llmp_xlate_opts_t;

/* Emit one OpenAI SSE data payload (a JSON object, unformatted). */
typedef apr_status_t llmp_emit_fn(void *baton, const char *data,
                                  apr_size_t len);

/* Per-request translation context. */
typedef struct llmp_xlate {
    apr_pool_t *pool;          /* request lifetime */
    const char *model_id;      /* the list's model_version: "model" in answers */
    const char *handle;        /* the backend path as listed */
    const char *id;            /* "chatcmpl-..." generated for this request */
    apr_int64_t created;       /* unix seconds */
    int stream;                /* the client asked for "stream": true */
    int include_usage;         /* stream_options.include_usage */
    const llmp_xlate_opts_t *opts;
    void *state;               /* the translator's own per-request state */
    llmp_emit_fn *emit;        /* set by the glue for streams */
    void *emit_baton;
    /* The inbound protocol's front translator when it is not Chat
     * Completions (llmp_front.h): llmp_xlate_emit hands each IR chunk to
     * front->ops->stream_chunk instead of printing it; an error it returns
     * is kept in front_err. NULL: the chunks are the answer. */
    llmp_front_t *front;
    llmp_error_t *front_err;
    int want_reasoning;        /* put the backend's reasoning in the IR
                                  ("reasoning_content"); the chat front
                                  leaves it off */
    /* The request's usage record (NULL: none): llmp_xlate_emit takes the
     * usage of every chunk that carries one, and the time of the first
     * chunk with content (first_token); llmp_xlate_chat_response the
     * answer's. */
    llmp_usage_t *usage;
    /* include_usage was set by the glue, not asked by the client: the
     * usage chunk is taken into usage but not emitted, and no chunk gets
     * "usage": null. */
    int usage_hidden;
} llmp_xlate_t;

/* Print the cJSON chunk and hand it to x->emit. */
apr_status_t llmp_xlate_emit(llmp_xlate_t *x, const cJSON *chunk);

/* Replay a finished chat.completion as a stream through x->emit: a role
 * chunk, the content, each tool call (id, name, whole arguments), a final
 * chunk with the finish_reason per choice, and a usage chunk when
 * x->include_usage. For backends that answer a stream request with one
 * JSON body. */
apr_status_t llmp_xlate_stream_completion(llmp_xlate_t *x,
                                          const cJSON *completion);

/* Native request produced by a request translator. */
typedef struct llmp_native_req {
    const char *path;          /* backend path (+query), e.g. the handle or
                                  the handle rewritten for streaming */
    char *body;
    apr_size_t len;
    int stream;                /* the backend will answer with SSE */
    const char *content_type;  /* NULL: application/json */
    const char *const *headers;/* extra "Name: value" headers for the
                                  backend, NULL terminated; or NULL */
} llmp_native_req_t;

typedef struct llmp_provider_ops {
    const char *name;          /* "anthropic", ... */

    /* /v1/chat/completions */
    llmp_error_t *(*chat_request)(llmp_xlate_t *x, const cJSON *req,
                                  llmp_native_req_t *out);
    /* the answer as a chat.completion tree, owned by x->pool */
    llmp_error_t *(*chat_response)(llmp_xlate_t *x, const cJSON *native,
                                   cJSON **out);
    llmp_error_t *(*chat_stream_event)(llmp_xlate_t *x, const char *event,
                                       const char *data, apr_size_t len);
    llmp_error_t *(*chat_stream_end)(llmp_xlate_t *x, int upstream_complete);

    /* /v1/embeddings */
    llmp_error_t *(*embeddings_request)(llmp_xlate_t *x, const cJSON *req,
                                        llmp_native_req_t *out);
    llmp_error_t *(*embeddings_response)(llmp_xlate_t *x, const cJSON *native,
                                         char **out, apr_size_t *outlen);

    /* /v1/images/generations */
    llmp_error_t *(*images_request)(llmp_xlate_t *x, const cJSON *req,
                                    llmp_native_req_t *out);
    llmp_error_t *(*images_response)(llmp_xlate_t *x, const cJSON *native,
                                     char **out, apr_size_t *outlen);

    /* A backend error (status >= 400) as an OpenAI error, keeping the
     * provider's message and a faithful status. native may be NULL when the
     * body was not JSON; body/len are the raw bytes. Never NULL. */
    llmp_error_t *(*error)(llmp_xlate_t *x, int status, const cJSON *native,
                           const char *body, apr_size_t len);

    const llmp_detect_t *detect;   /* which handles are this provider's */
    /* (x->state, a translator's per-request state, is made on first use
     * by the translator: its shape depends on the endpoint and it needs
     * set-up, so the table holds no size for it) */
} llmp_provider_ops_t;

/* The providers in detection order (NULL terminated). */
extern const llmp_provider_ops_t *const llmp_providers[];

/* ops->chat_response, printed (the chat front's answer). */
llmp_error_t *llmp_xlate_chat_response(const llmp_provider_ops_t *ops,
                                       llmp_xlate_t *x, const cJSON *native,
                                       char **out, apr_size_t *outlen);

/* The table for a provider (never NULL for a valid enum value). */
const llmp_provider_ops_t *llmp_provider_ops(llmp_provider_e prov);
const char *llmp_provider_name(llmp_provider_e prov);
/* "anthropic" -> LLMP_PROV_ANTHROPIC; -1 if unknown. */
int llmp_provider_from_name(const char *name);

/* Does the request's model take thinking settings (reasoning_effort)?
 * builtin: the family's own judgement from the model id and the handle
 * (Anthropic: Claude 3.7 and 4 or later; Gemini: 2.5 and later; Cohere:
 * "reasoning" models); true also when the model id matches one of
 * x->opts->reasoning_models. A back translator sends no thinking settings
 * (and drops reasoning_effort silently) when this is 0: the real APIs
 * answer 400 to thinking settings for a model without thinking. */
int llmp_reasoning_allowed(const llmp_xlate_t *x, int builtin);

/* The version in a model id, for the families' judgement: after the first
 * (case blind) "family" in id, the id is split at every character that is
 * not a letter or a digit; words (sonnet, pro, ...) are skipped, the first
 * number of one or two digits is the major version and a number of one or
 * two digits right after it the minor (0 when there is none). A longer
 * number (a date) or a word after the major ends the search. 1 with
 * *major and *minor set ("claude-3-7-sonnet-20250219" 3.7,
 * "claude-opus-4-5" 4.5, "gemini-2.5-flash" 2.5, "gemini-3-pro" 3.0);
 * 0 when there is no such version ("gemini-exp-1206"). */
int llmp_model_version(const char *id, const char *family, int *major,
                       int *minor);

/* Make an IR request fit an OpenAI-compatible chat backend, which takes
 * it as it is: the IR's extensions removed (llmp_ir_strip), and the
 * settings only reasoning models take ("reasoning_effort": OpenAI's
 * o-series, gpt-5 and gpt-oss; "verbosity": gpt-5) removed for other
 * models, unless LLMProxyReasoningModels names them: OpenAI answers 400
 * to them ("Unsupported parameter"), and Codex sends them always. */
void llmp_ir_for_openai(const llmp_xlate_t *x, cJSON *ir);

/* Does id contain word (case blind)? 0 for a NULL id. */
int llmp_model_has(const char *id, const char *word);

/* Generic error mapping for providers whose errors look like
 * {"error":{"message"...}} or {"message":...}: keeps status and message. */
llmp_error_t *llmp_provider_generic_error(llmp_xlate_t *x, int status,
                                          const cJSON *native,
                                          const char *body, apr_size_t len);

extern const llmp_provider_ops_t llmp_openai_ops;
extern const llmp_provider_ops_t llmp_anthropic_ops;
extern const llmp_provider_ops_t llmp_gemini_ops;
extern const llmp_provider_ops_t llmp_cohere_ops;
extern const llmp_provider_ops_t llmp_ideogram_ops;
extern const llmp_provider_ops_t llmp_recraft_ops;

#endif
