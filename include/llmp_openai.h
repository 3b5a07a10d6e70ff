/* The one place that knows the OpenAI schema: errors, completions, chunks,
 * usage, and helpers to read an OpenAI request. Core: no httpd header. */
#ifndef LLMP_OPENAI_H
#define LLMP_OPENAI_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <cjson/cJSON.h>
#include "llmp_buf.h"

/* An OpenAI-shaped error: {"error":{"message","type","param","code"}} */
typedef struct llmp_error {
    int status;              /* HTTP status to answer with */
    const char *type;        /* invalid_request_error, api_error, ... */
    const char *code;        /* model_not_found, ... or NULL */
    const char *param;       /* offending parameter or NULL */
    const char *message;     /* human readable, never contains secrets */
} llmp_error_t;

/* Build an error; type NULL picks the usual type for the status. */
llmp_error_t *llmp_error_make(apr_pool_t *p, int status, const char *type,
                              const char *code, const char *param,
                              const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
const char *llmp_error_type_for_status(int status);
/* Serialize as the OpenAI error body (no trailing newline). */
char *llmp_error_json(apr_pool_t *p, const llmp_error_t *e);
/* 400 invalid_request_error about param (NULL: none), message msg as is. */
llmp_error_t *llmp_bad_request(apr_pool_t *p, const char *param,
                               const char *msg);
/* 502 api_error "invalid response from <provider>: <msg>", for a backend
 * answer a translator cannot read. */
llmp_error_t *llmp_bad_upstream(apr_pool_t *p, const char *provider,
                                const char *msg);

/* The largest text llmp_json_print makes. */
#define LLMP_JSON_MAX ((apr_size_t)0x7fffffff)
/* Serialize a cJSON tree into pool memory (unformatted) in one pass; NULL
 * on OOM or when the tree holds an invalid item. The text is what
 * cJSON_PrintUnformatted prints, except that: strings are valid UTF-8
 * (each ill-formed sequence becomes U+FFFD); a non-integer number prints
 * as the shortest of %.15g, %.16g and %.17g that reads back as the same
 * double. Reference items (cJSON_Create*Reference) print as their
 * target. */
char *llmp_json_print(apr_pool_t *p, const cJSON *j, apr_size_t *len);
/* The same, appended to b (NUL terminated); APR_EINVAL when j is NULL,
 * else APR_ENOMEM when it cannot (out of memory, past b->max, or an
 * invalid item), and then b's text is as it was. */
apr_status_t llmp_json_write(llmp_buf_t *b, const cJSON *j);
/* v in decimal, written at the end of buf (LLMP_INT_TEXT_SIZE bytes, the
 * last one its NUL), without a formatter; returns where the text starts. */
#define LLMP_INT_TEXT_SIZE 24
const char *llmp_int_text(char *buf, apr_int64_t v);
/* The same, a copy in p. */
const char *llmp_int_pstr(apr_pool_t *p, apr_int64_t v);
/* Add an integer member. The value is kept as its decimal text (a raw
 * item): cJSON 1.7.15 prints every number with "%1.15g" and reads it back
 * with sscanf to check it, which costs more than the rest of a chunk. The
 * item is for printing: cJSON_IsNumber() is false for it. NULL when out of
 * memory. */
cJSON *llmp_json_add_int(cJSON *obj, const char *name, apr_int64_t v);
/* Print j into pool memory as the answer (*out, *len); a 500 "out of memory"
 * error when it cannot. The caller keeps ownership of j. */
llmp_error_t *llmp_json_out(apr_pool_t *p, const cJSON *j, char **out,
                            apr_size_t *len);
/* Parse with length; NULL when not JSON. Caller owns result (cJSON_Delete),
 * or use llmp_json_parse_pool which deletes it with the pool. */
cJSON *llmp_json_parse_pool(apr_pool_t *p, const char *buf, apr_size_t len);
/* Parse exactly one JSON value that may be followed by white space only
 * (cJSON alone ignores what follows the first value); NULL otherwise.
 * The caller owns the result (cJSON_Delete). */
cJSON *llmp_json_parse_strict(const char *buf, apr_size_t len);
/* Attach an existing tree's lifetime to a pool. */
void llmp_json_pool_own(apr_pool_t *p, cJSON *j);

/* The gateway wraps non-streaming answers as {"response": <native>}.
 * Returns the inner object if root is such an envelope, else root. */
cJSON *llmp_envelope_unwrap(cJSON *root);
/* Same on raw bytes: if body is an envelope, returns a freshly printed inner
 * body in *out (pool memory) and 1; else 0 and body must be used as is. */
/* Does this text look like a JSON object: '{' ... '}' around optional
 * white space? A cheap test of the first and last characters, for bodies
 * that are passed on without being parsed. */
int llmp_json_looks_like_object(const char *b, apr_size_t len);
int llmp_envelope_unwrap_body(apr_pool_t *p, const char *body, apr_size_t len,
                              char **out, apr_size_t *outlen);

/* ---- reading an OpenAI request ---- */
/* Member of an object; NULL when obj is not an object or has no such
 * member. */
const cJSON *llmp_json_get(const cJSON *obj, const char *name);
/* String member or NULL. */
const char *llmp_json_str(const cJSON *obj, const char *name);
/* Optional string member: *out is NULL when absent or null; a 400 (param
 * name) "'<name>' must be a string" when of another type. */
llmp_error_t *llmp_req_opt_str(apr_pool_t *p, const cJSON *req,
                               const char *name, const char **out);
/* Text of a message "content": a string, or the concatenation of its text
 * parts (NULL if content is null/absent). */
const char *llmp_content_text(apr_pool_t *p, const cJSON *content);
/* "stop": string or array -> array of strings (possibly empty). */
apr_array_header_t *llmp_stop_list(apr_pool_t *p, const cJSON *stop);
/* data:[<mime>][;base64],<data> -> mime and base64 data. Returns 0 if not a
 * base64 data URL. */
int llmp_data_url_parse(apr_pool_t *p, const char *url, const char **mime,
                        const char **b64);
/* max_completion_tokens, else max_tokens, else -1. */
int llmp_req_max_tokens(const cJSON *req);

/* ---- writing OpenAI responses ---- */
/* Unique id with the given prefix ("chatcmpl-"). Should the system give
 * no random bytes, one made of the time (an id that only names an answer
 * need not be secret). */
const char *llmp_make_id(apr_pool_t *p, const char *prefix);
/* An id that is the key to stored data (a stored Response's "resp_..."):
 * random bytes only; NULL when the system gives none (the caller fails
 * the request rather than use a predictable id). */
const char *llmp_make_key_id(apr_pool_t *p, const char *prefix);

/* {"id","object":"chat.completion","created","model","choices":[],"usage"?} */
cJSON *llmp_completion_new(const char *id, apr_int64_t created,
                           const char *model);
/* choices[index] = {"index","message":{"role":"assistant","content"},"finish_reason"}
 * Returns the message object so tool_calls can be added. content may be NULL. */
cJSON *llmp_completion_add_choice(cJSON *completion, int index,
                                  const char *content,
                                  const char *finish_reason);
/* Append {"id","type":"function","function":{"name","arguments"}} to the
 * message's tool_calls (created on first use). */
void llmp_message_add_tool_call(cJSON *message, const char *id,
                                const char *name, const char *arguments);
/* {"prompt_tokens","completion_tokens","total_tokens"[,"prompt_tokens_details":{"cached_tokens"}]}
 * cached < 0 omits the details. */
cJSON *llmp_usage_new(long prompt, long completion, long cached);

/* {"id","object":"chat.completion.chunk","created","model","choices":[]} */
cJSON *llmp_chunk_new(const char *id, apr_int64_t created, const char *model);
/* Adds a choice {"index","delta":{},"finish_reason":null|reason} and returns
 * its delta object. */
cJSON *llmp_chunk_add_choice(cJSON *chunk, int index,
                             const char *finish_reason);
/* Adds to delta.tool_calls an element {"index", ["id","type":"function"],
 * "function":{["name"],["arguments"]}}; NULL members are omitted. */
void llmp_delta_add_tool_call(cJSON *delta, int index, const char *id,
                              const char *name, const char *arguments);

/* ---- embeddings ---- */
/* The request's "input" as a list of strings: a string, or an array of
 * strings. Token arrays and empty input give NULL and *err (400). */
apr_array_header_t *llmp_embeddings_input(apr_pool_t *p, const cJSON *req,
                                          llmp_error_t **err);
/* encoding_format: 1 for "base64", 0 for "float" or absent; -1 otherwise. */
int llmp_embeddings_base64(const cJSON *req);
/* {"object":"list","data":[],"model","usage":{"prompt_tokens","total_tokens"}} */
cJSON *llmp_embeddings_new(const char *model, long prompt_tokens);
/* Append {"object":"embedding","index","embedding"} from a native array of
 * numbers; as little-endian float32 base64 when base64 is set, exactly as
 * OpenAI does. Returns 0 if vector is not an array of numbers. The numbers
 * are not copied: resp refers to vector's items, so the vector's tree must
 * not be deleted or changed while resp is printed (the native answer,
 * pool-owned, outlives it); deleting resp leaves them alone. */
int llmp_embeddings_add(apr_pool_t *p, cJSON *resp, int index,
                        const cJSON *vector, int base64);
/* In an OpenAI embeddings answer (from a pass-through backend), replace each
 * data[].embedding that is an array of numbers by its base64 form (as
 * llmp_embeddings_add writes it). Returns how many were replaced. */
int llmp_embeddings_to_base64(apr_pool_t *p, cJSON *resp);

/* ---- images ---- */
/* "prompt": a required non-empty string (else 400 param "prompt"). */
llmp_error_t *llmp_images_prompt(apr_pool_t *p, const cJSON *req,
                                 const char **prompt);
/* "n": absent or null leaves *n as it is; else an integer from 1 to max
 * (else 400 param "n"). */
llmp_error_t *llmp_images_n(apr_pool_t *p, const cJSON *req, int max,
                            long *n);
/* "size": *size is NULL when absent, null or "auto"; else "WxH" (or "W:H",
 * "X" too; each side 1 to 5 digits, above 0) into *w and *h (else 400
 * param "size"). */
llmp_error_t *llmp_images_size(apr_pool_t *p, const cJSON *req,
                               const char **size, long *w, long *h);
/* {"created":<unix int>,"data":[]} */
cJSON *llmp_images_new(apr_int64_t created);
/* Append {"url"} or {"b64_json"} (+ "revised_prompt" when given). */
void llmp_images_add(cJSON *resp, const char *url, const char *b64_json,
                     const char *revised_prompt);

/* Finish reasons as OpenAI spells them. */
#define LLMP_FINISH_STOP           "stop"
#define LLMP_FINISH_LENGTH         "length"
#define LLMP_FINISH_TOOL_CALLS     "tool_calls"
#define LLMP_FINISH_CONTENT_FILTER "content_filter"

#endif
