# Cohere v2 through the module: chat (plain, streaming, tools), embeddings
# and errors, against the strict mock (t/mock/providers/cohere.py).
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;
use MIME::Base64 qw(decode_base64);

plan tests => 80;

ok wait_list(), 'model list loaded';
mock_reset();

my $tools = [{ type => 'function', function => {
    name => 'get_weather', description => 'Weather of a city',
    parameters => { type => 'object',
                    properties => { location => { type => 'string' } },
                    required => ['location'] } } }];

# Plain chat
my $r = post_json('/v1/chat/completions',
    { model => 'command-r-plus', max_tokens => 50, top_p => 1,
      temperature => 0.3, stop => ['zz'], user => 'u1',
      messages => [{ role => 'developer', content => 'Be brief.' },
                   { role => 'user', content => 'hello cohere' }] });
is $r->{status}, 200, 'chat status';
is $r->{json}{object}, 'chat.completion';
is $r->{json}{model}, 'command-r-plus', 'model is the list model_version';
like $r->{json}{id}, qr/^chatcmpl-/, 'our id';
is $r->{json}{choices}[0]{message}{content}, 'echo: hello cohere', 'answer';
is $r->{json}{choices}[0]{finish_reason}, 'stop';
is $r->{json}{usage}{prompt_tokens}, 65, 'usage from usage.tokens';
is $r->{json}{usage}{completion_tokens}, 3;
my $seen = last_request(qr{^/cohere/v2/chat$});
ok $seen, 'backend called at the handle';
my $nb = json_decode($seen ? $seen->{body} : '{}');
is $nb->{model}, 'command-r-plus', 'native model';
is $nb->{messages}[0]{role}, 'system', 'developer -> system';
is $nb->{p}, 0.99, 'top_p -> p, clamped';
is_deeply $nb->{stop_sequences}, ['zz'], 'stop -> stop_sequences';
ok !exists $nb->{user} && !exists $nb->{top_p} && !exists $nb->{stream},
   'OpenAI-only fields dropped';

# reasoning_effort -> thinking (reasoning models), checked by the strict
# mock, which then thinks; chat clients get the answer as before
$r = post_json('/v1/chat/completions',
    { model => 'command-a-reasoning-08-2025', reasoning_effort => 'high',
      messages => [{ role => 'user', content => 'hard one' }] });
is $r->{status}, 200, 'reasoning_effort high accepted by the strict mock';
is $r->{json}{choices}[0]{message}{content}, 'echo: hard one',
   'answer unchanged (thinking part dropped)';
ok !exists $r->{json}{choices}[0]{message}{reasoning_content},
   'no reasoning_content for chat clients';
is_deeply json_decode(last_request(qr{^/cohere/v2/chat$})->{body})
    ->{thinking}, { type => 'enabled', token_budget => 16384 },
    'thinking sent';
$r = stream_raw('/v1/chat/completions',
    { model => 'command-a-reasoning-08-2025', stream => JSON::PP::true,
      reasoning_effort => 'medium',
      messages => [{ role => 'user', content => 'hard one' }] });
my @td = grep { ref $_ } sse_data($r);
is stream_text(@td), 'echo: hard one', 'stream: text only';
ok !(grep { @{ $_->{choices} || [] }
            && exists $_->{choices}[0]{delta}{reasoning_content} } @td),
   'stream: no reasoning for chat clients';
$r = post_json('/v1/chat/completions',
    { model => 'command-a-reasoning-08-2025', reasoning_effort => 'none',
      messages => [{ role => 'user', content => 'easy' }] });
is_deeply [$r->{status}, json_decode(last_request(qr{^/cohere/v2/chat$})
    ->{body})->{thinking}], [200, { type => 'disabled' }], 'none -> disabled';
# a model without reasoning: the effort is dropped (the strict mock, as
# Cohere, answers 400 to "thinking" there), also "none"
for my $e ('high', 'none') {
    $r = post_json('/v1/chat/completions',
        { model => 'command-r-plus', reasoning_effort => $e,
          messages => [{ role => 'user', content => 'hard one' }] });
    is_deeply [$r->{status}, $r->{json}{choices}[0]{message}{content}],
        [200, 'echo: hard one'], "command-r-plus with reasoning_effort $e: "
        . 'answered' or diag explain $r->{json};
    ok !exists json_decode(last_request(qr{^/cohere/v2/chat$})->{body})
        ->{thinking}, '... no thinking sent';
}
$r = post_json('/v1/chat/completions',
    { model => 'command-r-plus', messages => [{ role => 'user', content => [
        { type => 'file', file => { filename => 'a.pdf',
          file_data => 'data:application/pdf;base64,JVBERi0=' } }] }] });
is $r->{status}, 400, 'file part: a clear 400';

# max_tokens reached
$r = post_json('/v1/chat/completions',
    { model => 'command-r-plus', max_completion_tokens => 2,
      messages => [{ role => 'user', content => 'one two three' }] });
is $r->{json}{choices}[0]{finish_reason}, 'length', 'MAX_TOKENS -> length';

# n > 1 is refused before the backend
$r = post_json('/v1/chat/completions',
    { model => 'command-r-plus', n => 2,
      messages => [{ role => 'user', content => 'x' }] });
is $r->{status}, 400, 'n=2 refused';
is $r->{json}{error}{param}, 'n';

# Tools, non-streaming: call, then the tool result round trip
$r = post_json('/v1/chat/completions',
    { model => 'command-r-plus', tools => $tools, tool_choice => 'required',
      messages => [{ role => 'user', content => 'weather in Paris? use_tool' }] });
is $r->{status}, 200, 'tool call status';
my $msg = $r->{json}{choices}[0]{message};
is $r->{json}{choices}[0]{finish_reason}, 'tool_calls';
is $msg->{tool_calls}[0]{id}, 'get_weather_mock1', 'tool call id kept';
is $msg->{tool_calls}[0]{function}{name}, 'get_weather';
is_deeply json_decode($msg->{tool_calls}[0]{function}{arguments}),
    { location => 'Paris' }, 'arguments';
$seen = last_request(qr{^/cohere/v2/chat$});
$nb = json_decode($seen ? $seen->{body} : '{}');
is $nb->{tool_choice}, 'REQUIRED', 'tool_choice required -> REQUIRED';
is $nb->{tools}[0]{function}{name}, 'get_weather', 'tools sent';

$r = post_json('/v1/chat/completions',
    { model => 'command-r-plus', tools => $tools,
      messages => [{ role => 'user', content => 'weather in Paris? use_tool' },
                   $msg,
                   { role => 'tool', tool_call_id => 'get_weather_mock1',
                     content => '21C and sunny' }] });
is $r->{status}, 200, 'tool result accepted by the strict mock';
is $r->{json}{choices}[0]{message}{content}, 'tool result: 21C and sunny';

# Streaming text
$r = stream_raw('/v1/chat/completions',
    { model => 'command-r-plus', stream => JSON::PP::true,
      stream_options => { include_usage => JSON::PP::true },
      messages => [{ role => 'user', content => 'a b c' }] });
is $r->{status}, 200, 'stream status';
like $r->{head}, qr{Content-Type: text/event-stream}i;
my @d = sse_data($r);
is $d[0]{choices}[0]{delta}{role}, 'assistant', 'role chunk first';
is $d[0]{choices}[0]{delta}{content}, '', 'with empty content';
is stream_text(@d), 'echo: a b c', 'text deltas';
is stream_finish(@d), 'stop', 'final chunk';
is ref $d[-2] && $d[-2]{usage}{total_tokens}, 68, 'usage chunk';
is ref $d[-2] && scalar @{ $d[-2]{choices} }, 0, 'usage chunk has no choices';
is $d[-1], '[DONE]', 'ends with [DONE]';
$seen = last_request(qr{^/cohere/v2/chat$});
ok $seen && json_decode($seen->{body})->{stream},
   'native stream: true';

# Streaming tool call
$r = stream_raw('/v1/chat/completions',
    { model => 'command-r-plus', stream => JSON::PP::true, tools => $tools,
      messages => [{ role => 'user', content => 'use_tool please' }] });
@d = grep { ref $_ } sse_data($r);
my @tc = map { @{ $_->{choices}[0]{delta}{tool_calls} || [] } }
         grep { @{ $_->{choices} } } @d;
ok @tc >= 2, 'tool call chunks';
is $tc[0]{id}, 'get_weather_mock1', 'first chunk has the id';
is $tc[0]{type}, 'function';
is $tc[0]{function}{name}, 'get_weather', 'and the name';
is $tc[0]{function}{arguments}, '', 'and empty arguments';
ok !(grep { exists $_->{id} } @tc[1 .. $#tc]), 'later chunks: no id';
is_deeply json_decode(join '', map { $_->{function}{arguments} } @tc),
    { location => 'Paris' }, 'arguments reassembled';
is $d[-1]{choices}[0]{finish_reason}, 'tool_calls', 'finish tool_calls';

# A call without arguments: "{}" for the client, plain and streamed (the
# mock sends "" and, in a stream, no tool-call-delta)
$r = post_json('/v1/chat/completions',
    { model => 'command-r-plus', tools => $tools,
      messages => [{ role => 'user', content => 'use_tool empty_args' }] });
is $r->{status}, 200, 'empty arguments: status';
is $r->{json}{choices}[0]{message}{tool_calls}[0]{function}{arguments}, '{}',
   'empty arguments -> {}';
$r = stream_raw('/v1/chat/completions',
    { model => 'command-r-plus', stream => JSON::PP::true, tools => $tools,
      messages => [{ role => 'user', content => 'use_tool empty_args' }] });
@d = grep { ref $_ } sse_data($r);
@tc = map { @{ $_->{choices}[0]{delta}{tool_calls} || [] } }
      grep { @{ $_->{choices} } } @d;
is join('', map { $_->{function}{arguments} // '' } @tc), '{}',
   'stream: empty arguments -> {}';
is stream_finish(@d), 'tool_calls', 'stream: finish tool_calls';

# Cached prompt tokens
$r = post_json('/v1/chat/completions',
    { model => 'command-r-plus',
      messages => [{ role => 'user', content => 'from the cache' }] });
is $r->{json}{usage}{prompt_tokens_details}{cached_tokens}, 40,
   'usage.cached_tokens -> prompt_tokens_details.cached_tokens';
is $r->{json}{usage}{prompt_tokens}, 65, 'prompt tokens unchanged';
$r = stream_raw('/v1/chat/completions',
    { model => 'command-r-plus', stream => JSON::PP::true,
      stream_options => { include_usage => JSON::PP::true },
      messages => [{ role => 'user', content => 'from the cache' }] });
@d = sse_data($r);
is ref $d[-2] && $d[-2]{usage}{prompt_tokens_details}{cached_tokens}, 40,
   'stream: cached tokens in the usage chunk';

# A stream that ends cleanly but without message-end is incomplete
$r = stream_raw('/v1/chat/completions',
    { model => 'command-r-plus', stream => JSON::PP::true,
      messages => [{ role => 'user', content => 'x stream_cut' }] });
@d = sse_data($r);
is stream_text(@d), 'echo: x stream_cut', 'cut stream: the text came';
ok ref $d[-1] && $d[-1]{error}, 'cut stream -> error event';
like ref $d[-1] && $d[-1]{error}{message}, qr/message-end/, 'it says why';
ok !(grep { !ref $_ } @d), 'no [DONE] after a stream without message-end';

# A generation error mid-stream ends the stream with an error event
$r = stream_raw('/v1/chat/completions',
    { model => 'command-r-plus', stream => JSON::PP::true,
      messages => [{ role => 'user', content => 'stream_error' }] });
@d = sse_data($r);
ok ref $d[-1] && $d[-1]{error}, 'error event at the end';
like ref $d[-1] && $d[-1]{error}{message}, qr/internal server error/,
     'Cohere message kept';
ok !(grep { !ref $_ } @d), 'no [DONE] after the error';

# Backend errors keep status and message
$r = post_json('/v1/chat/completions',
    { model => 'command-r-plus',
      messages => [{ role => 'user', content => 'overloaded' }] });
is $r->{status}, 503, 'overloaded -> 503';
like $r->{json}{error}{message}, qr/overloaded/, 'message kept';
$r = post_json('/v1/chat/completions',
    { model => 'command-r-plus',
      messages => [{ role => 'user', content => 'rate_limit' }] });
is $r->{status}, 429, '429 kept';
is $r->{json}{error}{type}, 'rate_limit_error';

# Embeddings: float and base64
$r = post_json('/v1/embeddings',
    { model => 'embed-english-v3.0', input => ['hello', 'world'] });
is $r->{status}, 200, 'embeddings status';
is scalar @{ $r->{json}{data} || [] }, 2, 'two vectors';
is scalar @{ $r->{json}{data}[1]{embedding} || [] }, 4, 'floats';
$seen = last_request(qr{^/cohere/v2/embed$});
$nb = json_decode($seen ? $seen->{body} : '{}');
is $nb->{input_type}, 'search_document', 'default input_type';
$r = post_json('/v1/embeddings',
    { model => 'embed-english-v3.0', input => 'hello',
      encoding_format => 'base64' });
is length(decode_base64($r->{json}{data}[0]{embedding} // '')), 16,
   'base64 float32';
