#!/usr/bin/env python3
"""Generate docs/openapi-base.json: the static part of the OpenAPI 3.1
document that SetHandler llmproxy-docs serves at /openapi.json.

Run once by hand when OpenAI's description changes (needs python3-yaml):

    python3 scripts/gen-openapi-base.py [path/to/openai/openapi.yaml]

OpenAI's request and answer shapes are copied from its published
description (components/schemas, with every schema they reference), the
Anthropic Messages shapes are written here. The module inserts the live
parts at each request (src/llmp_openapi.c): servers, the model ids as an
enum on LLMProxyModelId, the security requirement."""
import json
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    TOP, '..', 'shared', 'openai-openapi', 'openapi.yaml')
OUT = os.path.join(TOP, 'docs', 'openapi-base.json')

spec = yaml.safe_load(open(SRC, encoding='utf-8'))
S = spec['components']['schemas']

ROOTS = ['CreateChatCompletionRequest', 'CreateChatCompletionResponse',
         'CreateChatCompletionStreamResponse', 'CreateResponse', 'Response',
         'CreateEmbeddingRequest', 'CreateEmbeddingResponse',
         'CreateImageRequest', 'ImagesResponse', 'CreateCompletionRequest',
         'CreateCompletionResponse', 'ListModelsResponse', 'Model',
         'ErrorResponse']
# the request bodies whose "model" becomes the live list's ids
MODEL_REQUESTS = ['CreateChatCompletionRequest', 'CreateResponse',
                  'CreateEmbeddingRequest', 'CreateImageRequest',
                  'CreateCompletionRequest']
DROP_KEYS = {'x-oaiMeta', 'x-oaiTypeLabel', 'x-oaiExpandable',
             'x-stainless-const', 'x-stainless-naming',
             'x-stainless-go-variant-constructor', 'x-oaiMetaExamples'}

seen = []


def walk(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == '$ref' and isinstance(v, str) \
                    and v.startswith('#/components/schemas/'):
                n = v.split('/')[-1]
                if n not in seen:
                    seen.append(n)
                    walk(S[n])
            else:
                walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)


def clean(o):
    if isinstance(o, dict):
        return {k: clean(v) for k, v in o.items() if k not in DROP_KEYS}
    if isinstance(o, list):
        return [clean(v) for v in o]
    return o


for r in ROOTS:
    if r not in seen:
        seen.append(r)
        walk(S[r])
schemas = {n: clean(S[n]) for n in sorted(seen)}

MODEL_REF = {'$ref': '#/components/schemas/LLMProxyModelId'}


def retarget_model(s):
    """Point a request's "model" at LLMProxyModelId (top level or in an
    allOf member); True when one was found."""
    done = False
    if 'properties' in s and 'model' in s['properties']:
        desc = s['properties']['model'].get('description')
        s['properties']['model'] = dict(MODEL_REF)
        if desc:
            s['properties']['model']['description'] = desc
        done = True
    for sub in s.get('allOf', []):
        if '$ref' in sub:
            continue
        done = retarget_model(sub) or done
    return done


for n in MODEL_REQUESTS:
    if not retarget_model(schemas[n]):
        # model comes from a shared part: add ours beside it
        schemas[n] = {'allOf': [schemas[n], {
            'type': 'object', 'properties': {'model': dict(MODEL_REF)}}]}

schemas['LLMProxyModelId'] = {
    'type': 'string',
    'description': 'A model id from GET /v1/models (or an alias the '
                   'server defines). The enum lists the models of the '
                   'server\'s model list when this document was served.'}

# ---- Anthropic Messages (the shapes of its published API) ----
A = {}
A['AnthropicContentBlock'] = {
    'type': 'object', 'required': ['type'],
    'description': 'A content block: text, image, document, tool_use, '
                   'tool_result, thinking or redacted_thinking.',
    'properties': {
        'type': {'type': 'string', 'examples': ['text']},
        'text': {'type': 'string'},
        'id': {'type': 'string'}, 'name': {'type': 'string'},
        'input': {'type': 'object'},
        'tool_use_id': {'type': 'string'},
        'content': {},
        'is_error': {'type': 'boolean'},
        'thinking': {'type': 'string'}, 'signature': {'type': 'string'},
        'source': {'type': 'object'},
        'cache_control': {'type': 'object'}},
    'additionalProperties': True}
A['AnthropicMessageParam'] = {
    'type': 'object', 'required': ['role', 'content'],
    'properties': {
        'role': {'type': 'string', 'enum': ['user', 'assistant']},
        'content': {'oneOf': [
            {'type': 'string'},
            {'type': 'array', 'items': {
                '$ref': '#/components/schemas/AnthropicContentBlock'}}]}}}
A['AnthropicTool'] = {
    'type': 'object', 'required': ['name'],
    'properties': {'name': {'type': 'string'},
                   'description': {'type': 'string'},
                   'input_schema': {'type': 'object'},
                   'type': {'type': 'string'}},
    'additionalProperties': True}
A['AnthropicMessagesRequest'] = {
    'type': 'object', 'required': ['model', 'messages', 'max_tokens'],
    'properties': {
        'model': dict(MODEL_REF),
        'messages': {'type': 'array', 'items': {
            '$ref': '#/components/schemas/AnthropicMessageParam'}},
        'max_tokens': {'type': 'integer', 'minimum': 1},
        'system': {'oneOf': [{'type': 'string'}, {
            'type': 'array', 'items': {
                '$ref': '#/components/schemas/AnthropicContentBlock'}}]},
        'stream': {'type': 'boolean'},
        'temperature': {'type': 'number'},
        'top_p': {'type': 'number'}, 'top_k': {'type': 'integer'},
        'stop_sequences': {'type': 'array', 'items': {'type': 'string'}},
        'tools': {'type': 'array', 'items': {
            '$ref': '#/components/schemas/AnthropicTool'}},
        'tool_choice': {'type': 'object'},
        'thinking': {'type': 'object'},
        'metadata': {'type': 'object'}},
    'example': {'model': 'MODEL', 'max_tokens': 256, 'messages': [
        {'role': 'user', 'content': 'Hello!'}]}}
A['AnthropicUsage'] = {
    'type': 'object',
    'properties': {k: {'type': 'integer'} for k in (
        'input_tokens', 'output_tokens', 'cache_creation_input_tokens',
        'cache_read_input_tokens')}}
A['AnthropicMessage'] = {
    'type': 'object',
    'required': ['id', 'type', 'role', 'content', 'model', 'stop_reason',
                 'usage'],
    'properties': {
        'id': {'type': 'string'},
        'type': {'type': 'string', 'const': 'message'},
        'role': {'type': 'string', 'const': 'assistant'},
        'content': {'type': 'array', 'items': {
            '$ref': '#/components/schemas/AnthropicContentBlock'}},
        'model': {'type': 'string'},
        'stop_reason': {'type': ['string', 'null'], 'enum': [
            'end_turn', 'max_tokens', 'stop_sequence', 'tool_use',
            'pause_turn', 'refusal', None]},
        'stop_sequence': {'type': ['string', 'null']},
        'usage': {'$ref': '#/components/schemas/AnthropicUsage'}}}
A['AnthropicCountTokensRequest'] = {
    'type': 'object', 'required': ['model', 'messages'],
    'properties': {k: v for k, v in
                   A['AnthropicMessagesRequest']['properties'].items()
                   if k not in ('max_tokens', 'stream', 'temperature',
                                'top_p', 'top_k', 'stop_sequences',
                                'metadata')},
    'example': {'model': 'MODEL', 'messages': [
        {'role': 'user', 'content': 'Hello!'}]}}
A['AnthropicCountTokensResponse'] = {
    'type': 'object', 'required': ['input_tokens'],
    'properties': {'input_tokens': {'type': 'integer'}}}
A['AnthropicErrorResponse'] = {
    'type': 'object', 'required': ['type', 'error'],
    'description': 'An error in the shape of Anthropic\'s API (the '
                   'Messages endpoints answer their errors so).',
    'properties': {
        'type': {'type': 'string', 'const': 'error'},
        'error': {'type': 'object', 'required': ['type', 'message'],
                  'properties': {'type': {'type': 'string', 'examples': [
                      'invalid_request_error', 'not_found_error',
                      'rate_limit_error', 'api_error',
                      'overloaded_error']},
                      'message': {'type': 'string'}}}}}
A['LLMProxyHealth'] = {
    'type': 'object', 'required': ['status', 'models'],
    'properties': {
        'status': {'type': 'string', 'enum': ['ok', 'degraded',
                                              'unavailable']},
        'models': {'type': 'integer'},
        'skipped_entries': {'type': 'integer'},
        'list_age_seconds': {'type': ['number', 'null']},
        'last_refresh': {'type': 'string'}},
    'additionalProperties': True}
A['LLMProxyDeletedResponse'] = {
    'type': 'object', 'properties': {
        'id': {'type': 'string'}, 'object': {'type': 'string'},
        'deleted': {'type': 'boolean'}}}
schemas.update(A)


def ref(n):
    return {'$ref': '#/components/schemas/' + n}


def jbody(n, desc='OK', stream=None):
    c = {'application/json': {'schema': ref(n)}}
    if stream:
        c['text/event-stream'] = {'schema': {
            'type': 'string',
            'description': stream}}
    return {'description': desc, 'content': c}


ERR_CODES = {'400': 'Bad request', '401': 'Not authenticated',
             '404': 'Unknown model or URL', '405': 'Method not allowed',
             '413': 'Request body too large', '429': 'Rate limited',
             '500': 'Internal error', '502': 'The gateway failed',
             '503': 'The model list is not loaded yet',
             '504': 'The gateway timed out'}


def errors(kind):
    return {c: {'$ref': '#/components/responses/%sError%s' % (kind, c)}
            for c in ERR_CODES}


responses = {}
for c, d in ERR_CODES.items():
    responses['OpenAIError' + c] = jbody('ErrorResponse', d)
    responses['AnthropicError' + c] = jbody('AnthropicErrorResponse', d)


def post(op, summary, tag, req, res, kind='OpenAI', stream=None,
         example=None):
    o = {'operationId': op, 'summary': summary, 'tags': [tag],
         'requestBody': {'required': True, 'content': {
             'application/json': {'schema': ref(req)}}},
         'responses': dict({'200': jbody(res, 'OK', stream)},
                           **errors(kind))}
    if example:
        o['requestBody']['content']['application/json']['example'] = example
    return {'post': o}


CHAT_STREAM = ('With "stream": true, server-sent events: "data: " + a '
               'CreateChatCompletionStreamResponse, then "data: [DONE]".')
paths = {
    '/v1/chat/completions': post(
        'createChatCompletion', 'Chat completion (every model)', 'OpenAI',
        'CreateChatCompletionRequest', 'CreateChatCompletionResponse',
        stream=CHAT_STREAM,
        example={'model': 'MODEL', 'messages': [
            {'role': 'user', 'content': 'Hello!'}]}),
    '/v1/responses': post(
        'createResponse', 'Responses API (every chat model)', 'OpenAI',
        'CreateResponse', 'Response',
        stream='With "stream": true, the Responses API\'s named '
               'server-sent events (response.created, '
               'response.output_text.delta, ..., response.completed).',
        example={'model': 'MODEL', 'input': 'Hello!'}),
    '/v1/responses/{response_id}': {
        'parameters': [{'name': 'response_id', 'in': 'path',
                        'required': True, 'schema': {'type': 'string'}}],
        'get': {'operationId': 'getResponse', 'tags': ['OpenAI'],
                'summary': 'A stored response (previous_response_id)',
                'responses': dict({'200': jbody('Response')},
                                  **errors('OpenAI'))},
        'delete': {'operationId': 'deleteResponse', 'tags': ['OpenAI'],
                   'summary': 'Forget a stored response',
                   'responses': dict(
                       {'200': jbody('LLMProxyDeletedResponse')},
                       **errors('OpenAI'))}},
    '/v1/messages': post(
        'createMessage', 'Anthropic Messages (every chat model)',
        'Anthropic', 'AnthropicMessagesRequest', 'AnthropicMessage',
        kind='Anthropic',
        stream='With "stream": true, Anthropic\'s named server-sent events '
               '(message_start, content_block_delta, ..., message_stop).'),
    '/v1/messages/count_tokens': post(
        'countTokens', 'Anthropic token count', 'Anthropic',
        'AnthropicCountTokensRequest', 'AnthropicCountTokensResponse',
        kind='Anthropic'),
    '/v1/embeddings': post(
        'createEmbedding', 'Embeddings', 'OpenAI', 'CreateEmbeddingRequest',
        'CreateEmbeddingResponse',
        example={'model': 'MODEL', 'input': 'Hello!'}),
    '/v1/images/generations': post(
        'createImage', 'Image generation', 'OpenAI', 'CreateImageRequest',
        'ImagesResponse',
        example={'model': 'MODEL', 'prompt': 'A lighthouse at dusk'}),
    '/v1/completions': post(
        'createCompletion', 'Legacy completions', 'OpenAI',
        'CreateCompletionRequest', 'CreateCompletionResponse',
        stream='With "stream": true, server-sent events of '
               'CreateCompletionResponse objects, then "data: [DONE]".',
        example={'model': 'MODEL', 'prompt': 'Once upon a time'}),
    '/v1/models': {'get': {
        'operationId': 'listModels', 'tags': ['OpenAI'],
        'summary': 'The models of the gateway\'s list (and aliases)',
        'responses': dict({'200': jbody('ListModelsResponse')},
                          **errors('OpenAI'))}},
    '/v1/models/{model}': {'get': {
        'operationId': 'retrieveModel', 'tags': ['OpenAI'],
        'summary': 'One model',
        'parameters': [{'name': 'model', 'in': 'path', 'required': True,
                        'schema': dict(MODEL_REF)}],
        'responses': dict({'200': jbody('Model')}, **errors('OpenAI'))}},
    '/health': {'get': {
        'operationId': 'health', 'tags': ['Server'],
        'summary': 'State of the model list',
        'security': [],
        'responses': {'200': jbody('LLMProxyHealth'),
                      '503': jbody('LLMProxyHealth', 'No list loaded')}}},
}

doc = {
    'openapi': '3.1.0',
    'info': {
        'title': 'mod_llmproxy',
        'version': '1',
        'description': 'The OpenAI-compatible API (and Anthropic\'s '
                       'Messages API) that this Apache server offers in '
                       'front of its LLM gateway. Request and answer '
                       'shapes are OpenAI\'s published ones '
                       '(github.com/openai/openai-openapi, MIT) and '
                       'Anthropic\'s.',
        'license': {'name': 'MIT', 'identifier': 'MIT'}},
    'servers': [{'url': '/'}],
    'tags': [{'name': 'OpenAI', 'description': 'OpenAI\'s API'},
             {'name': 'Anthropic', 'description': 'Anthropic\'s '
              'Messages API (errors in its shape)'},
             {'name': 'Server', 'description': 'This server'}],
    'paths': paths,
    'components': {
        'schemas': schemas,
        'responses': responses,
        'securitySchemes': {
            'bearerAuth': {'type': 'http', 'scheme': 'bearer',
                           'description': 'Authorization: Bearer <key>'},
            'apiKeyHeader': {'type': 'apiKey', 'in': 'header',
                             'name': 'x-api-key',
                             'description': 'x-api-key: <key> (Anthropic '
                                            'SDKs, Claude Code)'}}},
}

with open(OUT, 'w', encoding='utf-8') as f:
    json.dump(doc, f, ensure_ascii=False, separators=(',', ':'))
    f.write('\n')
print('%s: %d schemas, %d bytes' % (OUT, len(schemas), os.path.getsize(OUT)))
