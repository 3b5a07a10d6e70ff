/* The OpenAI Responses API front (/v1/responses): what the glue needs
 * besides llmp_front_responses (llmp_front.h). Core: no httpd header.
 *
 * A call, in order:
 *   1. previous_response_id set: the stored record of that response gives
 *      its "history"; llmp_responses_expand(p, req, history, &req2), and
 *      req2 is the request from then on (else req2 = req).
 *   2. f = llmp_front_create(p, &llmp_front_responses, model_id, created,
 *      stream, req2); f->id = llmp_make_id(p, "resp_");
 *      f->ops->request(f, req2, &ir): the IR request (its "stream" and
 *      "stream_options":{"include_usage":true} are set when req2 asks for a
 *      stream). The Responses front wants the backend's reasoning:
 *      x->want_reasoning = 1.
 *   3. f->ops->response(...) or f->ops->stream_chunk(...) per IR chunk and
 *      f->ops->stream_end(...) once.
 *   4. when f->answer is set (and the client did not send "store": false,
 *      if the glue honours it): llmp_responses_record(f, &len) is the text
 *      to store under f->id.
 */
#ifndef LLMP_RESPONSES_H
#define LLMP_RESPONSES_H

#include <apr_pools.h>
#include <cjson/cJSON.h>
#include "llmp_openai.h"
#include "llmp_front.h"

/* A copy of req (deep, owned by p) whose "input" is the items of history
 * (an array of Responses input items: the "history" of a stored record)
 * followed by req's input (a string input becomes one user message item).
 * A 400 (param "input") when req's input is neither a string, an array nor
 * absent, or history is not an array. */
llmp_error_t *llmp_responses_expand(apr_pool_t *p, const cJSON *req,
                                    const cJSON *history, cJSON **out);

/* Once f->answer is final: the JSON text to store under f->id,
 *   {"response": <f->answer>,
 *    "history": [the input items of the request given to ops->request,
 *                then the answer's output items of types message,
 *                function_call, custom_tool_call, tool_search_call and
 *                reasoning]}
 * in f->pool (*len its length); NULL when f->answer is NULL or out of
 * memory. The instructions are not in it (OpenAI does not carry them
 * over). */
char *llmp_responses_record(llmp_front_t *f, apr_size_t *len);

/* A Response object with this status and the request's fields (f->req:
 * instructions, tools, tool_choice, temperature, ...; f->id, f->model_id,
 * f->created), no output: what a Response-native stream that failed before
 * its response.created reports. Owned by the caller (cJSON_Delete). */
cJSON *llmp_responses_new(llmp_front_t *f, const char *status);

#endif
