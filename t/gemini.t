# Gemini translation through the real module: chat (plain, streaming,
# tools, thought signatures), embeddings, and errors, against the strict
# mock in t/mock/providers/gemini.py.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;
use MIME::Base64 qw(decode_base64);

plan tests => 98;

ok wait_list(), 'model list loaded';
mock_reset();

my $weather = { type => 'function', function => {
    name => 'get_weather', description => 'Weather for a city',
    parameters => { type => 'object', additionalProperties => JSON::PP::false,
                    properties => { city => { type => 'string' } },
                    required => ['city'] } } };

sub chat { post_json('/v1/chat/completions', { model => 'gemini-2.0-flash', @_ }) }
sub user { [{ role => 'system', content => 'Be brief.' },
            { role => 'user', content => shift }] }

# ---- plain ----
my $r = chat(messages => user('hello there'), max_tokens => 50,
             temperature => 0.3, stop => ['END'], user => 'u1');
is $r->{status}, 200, 'plain chat';
is $r->{json}{object}, 'chat.completion';
is $r->{json}{model}, 'gemini-2.0-flash', 'model is the model_version';
like $r->{json}{id}, qr/^chatcmpl-/, 'id';
is $r->{json}{choices}[0]{message}{content}, 'echo: hello there', 'answer';
is $r->{json}{choices}[0]{finish_reason}, 'stop';
is $r->{json}{usage}{prompt_tokens}, 7, 'usage';
is $r->{json}{usage}{total_tokens}, 12;
my $seen = last_request(qr{^/google/});
is $seen->{path}, '/google/v1beta/models/gemini-2.0-flash:generateContent',
   'native path';
my $nb = json_decode($seen->{body});
is $nb->{systemInstruction}{parts}[0]{text}, 'Be brief.', 'systemInstruction';
is $nb->{generationConfig}{maxOutputTokens}, 50, 'maxOutputTokens';
ok !exists $nb->{model} && !exists $nb->{messages}, 'no OpenAI fields';

# the models collection handle gets the model appended
$r = post_json('/v1/chat/completions', { model => 'gemini-1.5-pro',
    messages => user('hi'), n => 2 });
is $r->{status}, 200, 'collection handle';
is scalar @{ $r->{json}{choices} || [] }, 2, 'n -> candidateCount';
is last_request(qr{^/google/})->{path},
   '/google/v1beta/models/gemini-1.5-pro:generateContent', 'model appended';

# thought parts are not shown
$r = chat(messages => user('thinking about it'));
is $r->{json}{choices}[0]{message}{content}, 'echo: thinking about it',
   'thought parts skipped';
is $r->{json}{usage}{completion_tokens_details}{reasoning_tokens}, 3,
   'reasoning tokens';

# reasoning_effort -> thinkingConfig (Gemini 2.5 and later), checked by the
# strict mock; chat clients get no reasoning members (and no thought
# summaries asked)
sub chat25 { post_json('/v1/chat/completions',
                       { model => 'gemini-2.5-flash', @_ }) }
$r = chat25(messages => user('deep question'), reasoning_effort => 'high');
is $r->{status}, 200, 'reasoning_effort high accepted by the strict mock';
is $r->{json}{choices}[0]{message}{content}, 'echo: deep question',
   'answer unchanged';
ok !exists $r->{json}{choices}[0]{message}{reasoning_content},
   'no reasoning_content for chat clients';
is_deeply json_decode(last_request(qr{^/google/})->{body})
    ->{generationConfig}{thinkingConfig}, { thinkingBudget => 24576 },
    'thinkingBudget sent, no includeThoughts';
$r = chat25(messages => user('quick'), reasoning_effort => 'none');
is_deeply [$r->{status}, json_decode(last_request(qr{^/google/})->{body})
    ->{generationConfig}{thinkingConfig}], [200, { thinkingBudget => 0 }],
    'none -> budget 0';
# a model without thinking (2.0, 1.5): the effort is dropped (the strict
# mock, as Google, answers 400 to a thinkingConfig there)
for my $m ('gemini-2.0-flash', 'gemini-1.5-pro') {
    $r = post_json('/v1/chat/completions', { model => $m,
        messages => user('deep question'), reasoning_effort => 'high' });
    is_deeply [$r->{status}, $r->{json}{choices}[0]{message}{content}],
        [200, 'echo: deep question'], "$m with reasoning_effort: answered"
        or diag explain $r->{json};
    ok !exists json_decode(last_request(qr{^/google/})->{body})
        ->{generationConfig}{thinkingConfig}, "$m: no thinkingConfig sent";
}
$r = stream_raw('/v1/chat/completions', { model => 'gemini-2.0-flash',
    stream => JSON::PP::true, messages => user('deep question'),
    reasoning_effort => 'low' });
is stream_text(grep { ref $_ } sse_data($r)), 'echo: deep question',
   'gemini-2.0-flash stream with reasoning_effort: answered';
$r = chat(messages => user('quick'), reasoning_effort => 'extreme');
is $r->{status}, 400, 'unknown effort refused';
is $r->{json}{error}{param}, 'reasoning_effort', 'named';

# json_schema response format
$r = chat(messages => user('give json'), response_format => {
    type => 'json_schema', json_schema => { name => 'a', strict => JSON::PP::true,
    schema => { type => 'object', additionalProperties => JSON::PP::false,
                properties => { answer => { type => 'string' } } } } });
is $r->{status}, 200, 'json_schema accepted by strict mock';
is json_decode($r->{json}{choices}[0]{message}{content} || '{}')->{answer},
   'echo: give json', 'JSON answer';

# ---- tools ----
$r = chat(messages => user('use_tool please'), tools => [$weather]);
is $r->{status}, 200, 'tool call';
my $tc = $r->{json}{choices}[0]{message}{tool_calls}[0];
is $r->{json}{choices}[0]{finish_reason}, 'tool_calls', 'finish tool_calls';
is $tc->{id}, 'call_0_get_weather', 'stable tool-call id';
is $tc->{function}{name}, 'get_weather';
is_deeply json_decode($tc->{function}{arguments}), { city => 'Paris' },
   'arguments';
my @conv = (@{ user('use_tool please') },
            { role => 'assistant', content => undef, tool_calls => [$tc] },
            { role => 'tool', tool_call_id => $tc->{id},
              content => '{"temp":21}' });
$r = chat(messages => \@conv, tools => [$weather]);
is $r->{status}, 200, 'tool result round trip';
is $r->{json}{choices}[0]{message}{content}, 'tool said: {"temp": 21}',
   'functionResponse reached the model';

# thinking models sign calls: the signature must come back
$r = chat(messages => user('use_tool thinking'), tools => [$weather],
          tool_choice => 'required');
$tc = $r->{json}{choices}[0]{message}{tool_calls}[0];
like $tc->{id}, qr/^call_0_get_weather__thought__/, 'signature kept in id';
@conv = (@{ user('use_tool thinking') },
         { role => 'assistant', content => undef, tool_calls => [$tc] },
         { role => 'tool', tool_call_id => $tc->{id}, content => 'sunny' });
$r = chat(messages => \@conv, tools => [$weather]);
is $r->{status}, 200, 'signed round trip accepted';
is $r->{json}{choices}[0]{message}{content},
   'tool said: {"content": "sunny"}';
$tc->{id} = 'call_0_get_weather';
$r = chat(messages => \@conv, tools => [$weather]);
is $r->{status}, 400, 'unknown tool_call_id is a client error';

# ---- streaming ----
my $res = stream_raw('/v1/chat/completions', { model => 'gemini-2.0-flash',
    stream => JSON::PP::true, stream_options => { include_usage => JSON::PP::true },
    messages => user('one two three') });
is $res->{status}, 200, 'stream';
my @d = sse_data($res);
is $d[0]{choices}[0]{delta}{role}, 'assistant', 'role chunk first';
is $d[0]{choices}[0]{delta}{content}, '';
is stream_text(@d), 'echo: one two three', 'text deltas';
is $d[-3]{choices}[0]{finish_reason}, 'stop', 'finish chunk';
is_deeply $d[-2]{choices}, [], 'usage chunk has no choices';
is $d[-2]{usage}{prompt_tokens}, 7, 'usage chunk';
is $d[-1], '[DONE]', '[DONE]';
is last_request(qr{^/google/})->{path},
   '/google/v1beta/models/gemini-2.0-flash:streamGenerateContent',
   'stream path';
is last_request(qr{^/google/})->{query}, 'alt=sse', 'alt=sse';

$res = stream_raw('/v1/chat/completions', { model => 'gemini-2.0-flash',
    stream => JSON::PP::true, messages => user('two_tools'),
    tools => [$weather] });
@d = grep { ref } sse_data($res);
my @calls = map { @{ $_->{choices}[0]{delta}{tool_calls} || [] } }
            grep { @{ $_->{choices} || [] } } @d;
is scalar @calls, 2, 'two streamed tool calls';
is $calls[0]{id}, 'call_0_get_weather', 'first id';
is $calls[1]{id}, 'call_1_get_weather', 'second id';
is $calls[1]{index}, 1, 'second index';
is_deeply json_decode($calls[0]{function}{arguments}), { city => 'Paris' },
   'full arguments';
is $d[-1]{choices}[0]{finish_reason}, 'tool_calls', 'finish tool_calls';

$res = stream_raw('/v1/chat/completions', { model => 'gemini-2.0-flash',
    stream => JSON::PP::true, messages => user('stream_error now') });
@d = sse_data($res);
ok ref $d[-1] && $d[-1]{error}, 'mid-stream error event';
like ref $d[-1] ? $d[-1]{error}{message} : '', qr/internal error/,
   'provider message kept';

$res = stream_raw('/v1/chat/completions', { model => 'gemini-2.0-flash',
    stream => JSON::PP::true, messages => user('stream_cut here') });
@d = sse_data($res);
ok ref $d[-1] && $d[-1]{error}, 'stream without finishReason ends in error';

$res = stream_raw('/v1/chat/completions', { model => 'gemini-2.0-flash',
    stream => JSON::PP::true, messages => user('blocked words') });
@d = grep { ref } sse_data($res);
is $d[-1]{choices}[0]{finish_reason}, 'content_filter', 'stream blocked';

# ---- Vertex: a finishReason on every chunk ----
$res = stream_raw('/v1/chat/completions', { model => 'gemini-vertex-stop-each',
    stream => JSON::PP::true, stream_options => { include_usage => JSON::PP::true },
    messages => user('one two three four five') });
is $res->{status}, 200, 'stream with finishReason on every chunk';
@d = sse_data($res);
is stream_text(@d), 'echo: one two three four five',
   'the whole text arrives';
my @fins = grep { defined } map { $_->{choices}[0]{finish_reason} }
           grep { ref $_ && @{ $_->{choices} || [] } } @d;
is_deeply \@fins, ['stop'], 'exactly one finish_reason';
is $d[-3]{choices}[0]{finish_reason}, 'stop', '... after all the text';
is $d[-2]{usage}{completion_tokens}, 6, 'usage of the last chunk';
is $d[-1], '[DONE]', '[DONE]';

# ---- functionCall parts without a name continue the call ----
$r = chat(messages => user('partial_call'), tools => [$weather]);
is $r->{status}, 200, 'call split over parts';
$tc = $r->{json}{choices}[0]{message}{tool_calls} || [];
is scalar @$tc, 1, 'one tool call';
is $tc->[0]{function}{name}, 'get_weather', 'with its name';
is_deeply json_decode($tc->[0]{function}{arguments} || ''), { city => 'Paris' },
   'arguments of the nameless part merged';
$res = stream_raw('/v1/chat/completions', { model => 'gemini-2.0-flash',
    stream => JSON::PP::true, messages => user('partial_call'),
    tools => [$weather] });
@d = grep { ref } sse_data($res);
@calls = map { @{ $_->{choices}[0]{delta}{tool_calls} || [] } }
         grep { @{ $_->{choices} || [] } } @d;
is scalar @calls, 1, 'streamed: one tool call';
is $calls[0]{function}{name}, 'get_weather', 'streamed: with its name';
is_deeply json_decode($calls[0]{function}{arguments} || ''),
   { city => 'Paris' }, 'streamed: arguments of the later event merged';
is $d[-1]{choices}[0]{finish_reason}, 'tool_calls', 'streamed: finish';

# ---- an answer with 2000 function calls is refused ----
$r = chat(messages => user('many_calls'), tools => [$weather]);
is $r->{status}, 502, 'too many function calls: 502';
is $r->{json}{error}{type}, 'api_error', '... api_error';
$res = stream_raw('/v1/chat/completions', { model => 'gemini-2.0-flash',
    stream => JSON::PP::true, messages => user('many_calls'),
    tools => [$weather] });
@d = sse_data($res);
is ref $d[-1] ? $d[-1]{error}{type} : $d[-1], 'api_error',
   'streamed: final error event';
@calls = map { @{ $_->{choices}[0]{delta}{tool_calls} || [] } }
         grep { ref $_ && @{ $_->{choices} || [] } } @d;
ok @calls <= 1024, 'streamed: at most 1024 tool calls sent';

# ---- $ref expansion is bounded ----
# a 20 KB definition used 1,500 times: a 30 MB body if expanded
my %props = map { ("p$_" => { '$ref' => '#/$defs/Big' }) } 1 .. 1500;
my $t0 = time;
$r = chat(messages => user('hi'), tools => [{ type => 'function', function => {
    name => 'wide', parameters => { type => 'object', properties => \%props,
    '$defs' => { Big => { type => 'string', description => 'x' x 20000 } } }
    } }]);
is $r->{status}, 400, 'exploding $refs: 400';
is $r->{json}{error}{type}, 'invalid_request_error', '... invalid_request_error';
is $r->{json}{error}{param}, 'tools', '... param tools';
ok time - $t0 < 10, '... quickly';

# ---- errors ----
$r = chat(messages => user('overloaded'));
is $r->{status}, 503, 'UNAVAILABLE -> 503';
like $r->{json}{error}{message}, qr/overloaded/, 'message kept';
$r = chat(messages => user('rate_limit'));
is $r->{status}, 429, 'RESOURCE_EXHAUSTED -> 429';
is $r->{json}{error}{type}, 'rate_limit_error';
$r = chat(messages => user('blocked'));
is $r->{json}{choices}[0]{finish_reason}, 'content_filter', 'SAFETY';
$r = chat(messages => user('prompt_blocked'));
is $r->{json}{choices}[0]{finish_reason}, 'content_filter', 'blockReason';
$r = chat(messages => [{ role => 'user', content => [
    { type => 'image_url', image_url => { url => 'ftp://x/y.png' } }] }]);
is $r->{status}, 400, 'translator rejects a bad image URL';

# ---- embeddings ----
$r = post_json('/v1/embeddings', { model => 'text-embedding-004',
    input => ['alpha', 'beta'], dimensions => 4 });
is $r->{status}, 200, 'embeddings';
is scalar @{ $r->{json}{data} || [] }, 2, 'two vectors';
is scalar @{ $r->{json}{data}[1]{embedding} || [] }, 4, 'dimensions';
is last_request(qr{^/google/})->{path},
   '/google/v1beta/models/text-embedding-004:batchEmbedContents',
   'batchEmbedContents';
$r = post_json('/v1/embeddings', { model => 'text-embedding-004',
    input => 'alpha', encoding_format => 'base64' });
is length(decode_base64($r->{json}{data}[0]{embedding} || '')), 32,
   'base64 float32 (8 dims)';
$r = post_json('/v1/embeddings', { model => 'text-embedding-004',
    input => 'alpha', encoding_format => 'hex' });
is $r->{status}, 400, 'bad encoding_format';
