# Anthropic Messages through the module: chat (plain, streaming, tools) and
# errors, against the strict mock (t/mock/providers/anthropic.py).
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;
use HTTP::Tiny;
use Digest::SHA ();

plan tests => 98;

ok wait_list(), 'model list loaded';
mock_reset();

my $model = 'claude-3-7-sonnet-20250219';
my $tools = [{ type => 'function', function => {
    name => 'get_weather', description => 'Weather of a city',
    parameters => { type => 'object',
                    properties => { location => { type => 'string' } },
                    required => ['location'] } } }];

sub native_body {
    my $seen = last_request(qr{^/anthropic/v1/messages$});
    return json_decode($seen ? $seen->{body} : '{}') || {};
}

sub native_version {
    my $seen = last_request(shift || qr{^/anthropic/v1/messages$});
    return $seen ? $seen->{headers}{'anthropic-version'} : undef;
}

# Plain chat: system, merged user turns, OpenAI-only fields dropped
my $r = post_json('/v1/chat/completions',
    { model => $model, max_tokens => 50, temperature => 1.5, top_p => 0.9,
      stop => ['zz', ' '], user => 'u1', seed => 3, n => 1,
      frequency_penalty => 0.1, logprobs => JSON::PP::false,
      messages => [{ role => 'developer', content => 'Be brief.' },
                   { role => 'user', content => 'hello' },
                   { role => 'user', content => [
                       { type => 'text', text => 'claude' }] }] });
is $r->{status}, 200, 'chat status';
is $r->{json}{object}, 'chat.completion';
is $r->{json}{model}, $model, 'model is the list model_version';
like $r->{json}{id}, qr/^chatcmpl-/, 'our id';
is $r->{json}{choices}[0]{message}{content}, 'echo: hello claude', 'answer';
is $r->{json}{choices}[0]{finish_reason}, 'stop';
is $r->{json}{usage}{prompt_tokens}, 4, 'usage prompt';
is $r->{json}{usage}{completion_tokens}, 3, 'usage completion';
my $nb = native_body();
is $nb->{model}, $model, 'native model';
is $nb->{max_tokens}, 50, 'max_tokens';
is $nb->{temperature}, 1, 'temperature clamped to 1';
is_deeply $nb->{system}, [{ type => 'text', text => 'Be brief.' }],
    'developer -> system';
is scalar @{ $nb->{messages} }, 1, 'consecutive user messages merged';
is_deeply $nb->{stop_sequences}, ['zz'], 'stop -> stop_sequences';
is $nb->{metadata}{user_id}, 'u1', 'user -> metadata.user_id';
ok !exists $nb->{seed} && !exists $nb->{n} && !exists $nb->{stream},
   'OpenAI-only fields dropped';
is native_version(), '2023-06-01', 'anthropic-version header (default)';

# The mock, as the Messages API, refuses a call without anthropic-version
{
    my $res = HTTP::Tiny->new(timeout => 10)->post(
        "http://127.0.0.1:$ENV{LLMP_MOCK_PORT}/anthropic/v1/messages",
        { content => json_encode({ model => $model, max_tokens => 5,
              messages => [{ role => 'user', content => 'hi' }] }),
          headers => { 'Content-Type' => 'application/json',
                       'Authorization' => 'OAuth ' . token() } });
    my $j = json_decode($res->{content}) || {};
    is $res->{status}, 400, 'mock: no anthropic-version -> 400';
    is_deeply [$j->{type}, $j->{error}{type}, $j->{error}{message}],
        ['error', 'invalid_request_error',
         'anthropic-version: header is required'], 'mock: the API\'s body';
}

# A raw handle gets it too
$r = post_json('/v1/chat/completions',
    { model => 'claude-raw', messages => [{ role => 'user', content => 'x' }] });
is $r->{status}, 200, 'raw handle status';
is native_version(qr{^/raw/anthropic/v1/messages$}), '2023-06-01',
   'raw handle: anthropic-version header';

# Defaults and finish reasons
$r = post_json('/v1/chat/completions',
    { model => $model, messages => [{ role => 'user', content => 'hi' }] });
is $r->{status}, 200, 'no max_tokens';
ok native_body()->{max_tokens} > 0, 'default max_tokens sent';
$r = post_json('/v1/chat/completions',
    { model => $model, max_completion_tokens => 2,
      messages => [{ role => 'user', content => 'one two three' }] });
is $r->{json}{choices}[0]{finish_reason}, 'length', 'max_tokens -> length';
$r = post_json('/v1/chat/completions',
    { model => $model,
      messages => [{ role => 'user', content => 'please refuse' }] });
is $r->{json}{choices}[0]{finish_reason}, 'content_filter',
   'refusal -> content_filter';
$r = post_json('/v1/chat/completions',
    { model => $model,
      messages => [{ role => 'user', content => 'thinking and cache' }] });
is $r->{json}{choices}[0]{message}{content}, 'echo: thinking and cache',
   'thinking block skipped';
is $r->{json}{usage}{prompt_tokens_details}{cached_tokens}, 100,
   'cached tokens';
is $r->{json}{usage}{prompt_tokens}, 3 + 100 + 10, 'prompt tokens with cache';

# reasoning_effort -> thinking, as the strict mock checks it (budget under
# max_tokens, no temperature); chat clients get no reasoning members
$r = post_json('/v1/chat/completions',
    { model => $model, reasoning_effort => 'high', temperature => 0.3,
      messages => [{ role => 'user', content => 'why so' }] });
is $r->{status}, 200, 'reasoning_effort high accepted by the strict mock';
is $r->{json}{choices}[0]{message}{content}, 'echo: why so',
   'answer unchanged';
ok !exists $r->{json}{choices}[0]{message}{reasoning_content}
   && !exists $r->{json}{choices}[0]{message}{reasoning_signature},
   'chat answer: no reasoning members';
$nb = native_body();
is_deeply $nb->{thinking}, { type => 'enabled', budget_tokens => 16384 },
    'thinking sent';
ok $nb->{max_tokens} > 16384 && !exists $nb->{temperature},
   'max_tokens raised, temperature dropped';
$r = stream_raw('/v1/chat/completions',
    { model => $model, stream => JSON::PP::true, reasoning_effort => 'low',
      messages => [{ role => 'user', content => 'why so' }] });
my @d = grep { ref $_ } sse_data($r);
is stream_text(@d), 'echo: why so', 'stream with thinking: text';
ok !(grep { @{ $_->{choices} || [] }
            && exists $_->{choices}[0]{delta}{reasoning_content} } @d),
   'stream: no reasoning for chat clients';
is native_body()->{thinking}{budget_tokens}, 1024, 'stream: thinking sent';
# a tool loop whose assistant turn comes back without its reasoning: the
# answer comes without thinking rather than a 400
$r = post_json('/v1/chat/completions',
    { model => $model, tools => $tools, reasoning_effort => 'medium',
      messages => [{ role => 'user', content => 'weather? use_tool' },
                   { role => 'assistant', content => undef, tool_calls => [{
                       id => 'toolu_x1', type => 'function', function => {
                       name => 'get_weather', arguments => '{}' } }] },
                   { role => 'tool', tool_call_id => 'toolu_x1',
                     content => 'rain' }] });
is $r->{status}, 200, 'tool loop without reasoning: accepted';
ok !exists native_body()->{thinking}, 'thinking left out';
# with the signed reasoning sent back (IR reasoning_content and
# reasoning_signature) it goes back as a thinking block, and thinking stays
sub loop_with {
    my ($sig) = @_;
    return post_json('/v1/chat/completions',
        { model => $model, tools => $tools, reasoning_effort => 'medium',
          messages => [{ role => 'user', content => 'weather? use_tool' },
                       { role => 'assistant', content => undef,
                         reasoning_content => 'Let me think about: weather?',
                         reasoning_signature => $sig,
                         tool_calls => [{
                           id => 'toolu_x1', type => 'function', function => {
                           name => 'get_weather', arguments => '{}' } }] },
                       { role => 'tool', tool_call_id => 'toolu_x1',
                         content => 'rain' }] });
}
$r = loop_with('EqQB' . substr(Digest::SHA::sha256_hex(
                                   'Let me think about: weather?'), 0, 24));
is $r->{status}, 200, 'signed reasoning accepted by the strict mock';
$nb = native_body();
is_deeply [$nb->{thinking}{type}, $nb->{messages}[1]{content}[0]{type},
           $nb->{messages}[1]{content}[0]{thinking}],
    ['enabled', 'thinking', 'Let me think about: weather?'],
    'it leads the assistant turn';
$r = loop_with('EqQB' . '0' x 24);
is $r->{status}, 400, 'a forged signature is refused by the mock';
like $r->{json}{error}{message}, qr/signature/, 'it says so';

# Thinking only for models that have it (Claude 3.7, 4 and later): Codex
# sends an effort on every call, and the strict mock, as the API, answers
# 400 to thinking for an older model; there the effort is dropped
$r = post_json('/v1/chat/completions',
    { model => 'claude-3-5-haiku-20241022', reasoning_effort => 'high',
      temperature => 0.3,
      messages => [{ role => 'user', content => 'why so' }] });
is $r->{status}, 200, 'Claude 3.5 with reasoning_effort: answered'
    or diag explain $r->{json};
is $r->{json}{choices}[0]{message}{content}, 'echo: why so', '... the answer';
$nb = native_body();
ok !exists $nb->{thinking} && $nb->{temperature} == 0.3,
   '... no thinking sent, sampling kept';
$r = stream_raw('/v1/chat/completions',
    { model => 'claude-3-5-haiku-20241022', stream => JSON::PP::true,
      reasoning_effort => 'low',
      messages => [{ role => 'user', content => 'why so' }] });
is stream_text(grep { ref $_ } sse_data($r)), 'echo: why so',
   'Claude 3.5 stream with reasoning_effort: answered';
ok !exists native_body()->{thinking}, '... no thinking sent';
$r = post_json('/v1/chat/completions',
    { model => 'claude-sonnet-4-5', reasoning_effort => 'medium',
      messages => [{ role => 'user', content => 'why so' }] });
is $r->{status}, 200, 'Claude 4.5: answered';
is native_body()->{thinking}{budget_tokens}, 4096, '... with thinking';
# an alias the gateway made up: thinking because LLMProxyReasoningModels
# names it (t/conf/extra.conf.in)
$r = post_json('/v1/chat/completions',
    { model => 'house-claude-thinker', reasoning_effort => 'low',
      messages => [{ role => 'user', content => 'why so' }] });
is $r->{status}, 200, 'an alias named by LLMProxyReasoningModels: answered';
is native_body()->{thinking}{budget_tokens}, 1024, '... with thinking';

# Refused before the backend
$r = post_json('/v1/chat/completions',
    { model => $model, n => 2, messages => [{ role => 'user', content => 'x' }] });
is $r->{status}, 400, 'n=2 refused';
is $r->{json}{error}{param}, 'n';
$r = post_json('/v1/chat/completions',
    { model => $model, messages => [
        { role => 'user', content => 'x' },
        { role => 'assistant', tool_calls => [{ id => 'c1', type => 'function',
          function => { name => 'f', arguments => '{bad' } }] }] });
is $r->{status}, 400, 'invalid tool arguments refused';

# Tools, non-streaming: call, then the tool result round trip
$r = post_json('/v1/chat/completions',
    { model => $model, tools => $tools, tool_choice => 'required',
      parallel_tool_calls => JSON::PP::false,
      messages => [{ role => 'user', content => 'weather in Paris? use_tool' }] });
is $r->{status}, 200, 'tool call status';
my $msg = $r->{json}{choices}[0]{message};
is $r->{json}{choices}[0]{finish_reason}, 'tool_calls';
like $msg->{tool_calls}[0]{id}, qr/^toolu_mock/, 'tool call id kept';
is $msg->{tool_calls}[0]{function}{name}, 'get_weather';
is_deeply json_decode($msg->{tool_calls}[0]{function}{arguments}),
    { location => 'Paris' }, 'arguments';
$nb = native_body();
is_deeply $nb->{tool_choice}, { type => 'any',
    disable_parallel_tool_use => JSON::PP::true }, 'tool_choice';
is $nb->{tools}[0]{input_schema}{type}, 'object', 'input_schema';

$r = post_json('/v1/chat/completions',
    { model => $model, tools => $tools,
      messages => [{ role => 'user', content => 'weather in Paris? use_tool' },
                   $msg,
                   { role => 'tool', tool_call_id => $msg->{tool_calls}[0]{id},
                     content => '21C and sunny' }] });
is $r->{status}, 200, 'tool result accepted by the strict mock';
is $r->{json}{choices}[0]{message}{content}, 'tool said: 21C and sunny';
$nb = native_body();
is $nb->{messages}[2]{content}[0]{type}, 'tool_result', 'tool -> tool_result';

# Streaming text
$r = stream_raw('/v1/chat/completions',
    { model => $model, stream => JSON::PP::true,
      stream_options => { include_usage => JSON::PP::true },
      messages => [{ role => 'user', content => 'a b c' }] });
is $r->{status}, 200, 'stream status';
like $r->{head}, qr{Content-Type: text/event-stream}i;
@d = sse_data($r);
is $d[0]{choices}[0]{delta}{role}, 'assistant', 'role chunk first';
is $d[0]{choices}[0]{delta}{content}, '', 'with empty content';
is stream_text(@d), 'echo: a b c', 'text deltas';
is stream_finish(@d), 'stop', 'final chunk';
is ref $d[-2] && $d[-2]{usage}{completion_tokens}, 4, 'usage chunk';
is ref $d[-2] && scalar @{ $d[-2]{choices} }, 0, 'usage chunk has no choices';
is $d[-1], '[DONE]', 'ends with [DONE]';
ok native_body()->{stream}, 'native stream: true';
is native_version(), '2023-06-01', 'stream: anthropic-version header';
my @t = map { $_->[0] } @{ $r->{events} };
ok @t > 3 && $t[-1] - $t[0] > 0.1, 'chunks arrive apart';

# Streaming tool calls (two)
$r = stream_raw('/v1/chat/completions',
    { model => $model, stream => JSON::PP::true, tools => $tools,
      messages => [{ role => 'user', content => 'use_tool twice please' }] });
@d = grep { ref $_ } sse_data($r);
my @tc = map { @{ $_->{choices}[0]{delta}{tool_calls} || [] } }
         grep { @{ $_->{choices} } } @d;
my @first = grep { exists $_->{id} } @tc;
is scalar @first, 2, 'two tool calls started';
like $first[0]{id}, qr/^toolu_mock/, 'first chunk has the id';
is $first[0]{type}, 'function';
is $first[0]{function}{name}, 'get_weather', 'and the name';
is $first[0]{function}{arguments}, '', 'and empty arguments';
is_deeply [map { $_->{index} } @first], [0, 1], 'indexes 0 and 1';
for my $i (0, 1) {
    is_deeply json_decode(join '', map { $_->{function}{arguments} // '' }
                          grep { $_->{index} == $i } @tc),
        { location => 'Paris' }, "arguments of call $i reassembled";
}
is $d[-1]{choices}[0]{finish_reason}, 'tool_calls', 'finish tool_calls';

# An error event mid-stream ends the stream with an error event
$r = stream_raw('/v1/chat/completions',
    { model => $model, stream => JSON::PP::true,
      messages => [{ role => 'user', content => 'x stream_error y' }] });
@d = sse_data($r);
ok ref $d[-1] && $d[-1]{error}, 'error event at the end';
is ref $d[-1] && $d[-1]{error}{message}, 'Overloaded', 'Anthropic message kept';
ok !(grep { !ref $_ } @d), 'no [DONE] after the error';

# A stream that ends without message_stop is reported, not completed
$r = stream_raw('/v1/chat/completions',
    { model => $model, stream => JSON::PP::true,
      messages => [{ role => 'user', content => 'x stream_cut' }] });
@d = sse_data($r);
ok ref $d[-1] && $d[-1]{error}, 'truncated stream -> error event';
like ref $d[-1] && $d[-1]{error}{message}, qr/message_stop/,
     'it says why';
ok !(grep { !ref $_ } @d), 'no [DONE] after a stream without message_stop';
ok !(grep { ref $_ && @{ $_->{choices} || [] }
            && $_->{choices}[0]{finish_reason} } @d), 'and no finish chunk';

# Backend errors keep status and message
$r = post_json('/v1/chat/completions',
    { model => $model, messages => [{ role => 'user', content => 'overloaded' }] });
is $r->{status}, 503, '529 overloaded -> 503';
is $r->{json}{error}{message}, 'Overloaded', 'message kept';
$r = post_json('/v1/chat/completions',
    { model => $model, stream => JSON::PP::true,
      messages => [{ role => 'user', content => 'overloaded' }] });
is $r->{status}, 503, 'stream: 529 before the first event -> 503';
$r = post_json('/v1/chat/completions',
    { model => $model, messages => [
        { role => 'user', content => 'x' },
        { role => 'tool', tool_call_id => 'nope', content => 'r' }] });
is $r->{status}, 400, 'backend 400 kept';
like $r->{json}{error}{message}, qr/tool_use_id/, 'with its message';
