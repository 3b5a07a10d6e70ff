# Anthropic's Messages API (POST /v1/messages, /v1/messages/count_tokens)
# through the module, for each backend family against the strict mocks: an
# Anthropic model passed through byte for byte (anthropic-version and
# anthropic-beta forwarded, the client's key never), the others translated
# (llmp_messages.c): text, streams (the whole event sequence), a tool_use /
# tool_result round trip, thinking, max_tokens, a cut stream, errors in
# Anthropic's shape, count_tokens (forwarded or estimated), the log note.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;

ok wait_list(), 'model list loaded';
mock_reset();

my $KEY = 'sk-ant-client-key-0123456789';
my %H = ('x-api-key' => $KEY, 'anthropic-version' => '2023-06-01');

# model, family, backend path, does it think
my @families = (
    [ 'claude-sonnet-4-5', 'anthropic', qr{^/anthropic/v1/messages$}, 1 ],
    [ 'gpt-4o-mini', 'openai', qr{^/openai/v1/chat/completions$}, 0 ],
    [ 'gemini-2.5-flash', 'gemini', qr{^/google/v1beta/models/gemini-2\.5-flash:}, 1 ],
    [ 'command-r-plus', 'cohere', qr{^/cohere/v2/chat$}, 0 ],
);

my $weather = { name => 'get_weather', description => 'Weather of a city',
                input_schema => { type => 'object',
                                  properties => { location => { type => 'string' } },
                                  required => ['location'] } };

# The events of a Messages stream: [name, data] (LLMPTest::named_events).
sub events_of { named_events(shift) }

sub msg {
    my ($body, %opt) = @_;
    return post_json($opt{path} || '/v1/messages', $body,
                     headers => { %H, %{ $opt{headers} || {} } });
}

sub stream {
    my ($body, %opt) = @_;
    my $r = msg({ %$body, stream => JSON::PP::true }, %opt);
    $r->{events} = [ events_of($r->{content}) ];
    return $r;
}

sub text_of {
    my $m = shift;
    return join '', map { $_->{text} // '' }
        grep { $_->{type} eq 'text' } @{ $m->{content} || [] };
}

# An error in Anthropic's shape with this status and error type.
sub anthropic_error {
    my ($r, $status, $type, $what) = @_;
    is $r->{status}, $status, "$what: $status";
    is $r->{json}{type}, 'error', "$what: type error";
    is $r->{json}{error}{type}, $type, "$what: $type";
    ok defined $r->{json}{error}{message} && !ref $r->{json}{error}{message},
        "$what: a message";
}

# What every Messages stream must be: message_start first, message_stop
# last and once, each event named as its type, blocks started, delta'd and
# stopped in order. Returns (text, message_delta, start message).
sub check_stream {
    my ($r, $what) = @_;
    my @ev = @{ $r->{events} };
    is $r->{status}, 200, "$what: 200" or diag substr $r->{content}, 0, 600;
    like $r->{headers}{'content-type'} || '', qr{^text/event-stream},
        "$what: an event stream";
    my @bad = grep { !ref $_->[1] || ($_->[0] // '') ne ($_->[1]{type} // '') }
              @ev;
    ok @ev && !@bad, "$what: each event named as its type";
    my @names = grep { $_ ne 'ping' } map { $_->[0] // '' } @ev;
    is $names[0], 'message_start', "$what: message_start first";
    is $names[-1], 'message_stop', "$what: message_stop last";
    is scalar(grep { $_ eq 'message_stop' } @names), 1,
        "$what: one message_stop";
    is $names[-2], 'message_delta', "$what: message_delta before it";
    my %open;
    my ($order_ok, $text) = (1, '');
    my $next = 0;
    for my $e (@ev) {
        my $d = $e->[1];
        next unless ref $d;
        if ($d->{type} eq 'content_block_start') {
            $order_ok = 0 if $d->{index} != $next || %open;
            $open{ $d->{index} } = $d->{content_block}{type};
        }
        elsif ($d->{type} eq 'content_block_delta') {
            $order_ok = 0 unless exists $open{ $d->{index} };
            $text .= $d->{delta}{text} // '' if $d->{delta}{type} eq 'text_delta';
        }
        elsif ($d->{type} eq 'content_block_stop') {
            $order_ok = 0 unless exists $open{ $d->{index} };
            delete $open{ $d->{index} };
            $next++;
        }
    }
    ok $order_ok && !%open, "$what: blocks started, delta'd, stopped in order";
    my ($md) = map { $_->[1] } grep { ($_->[0] // '') eq 'message_delta' } @ev;
    my ($ms) = map { $_->[1]{message} } grep { ($_->[0] // '') eq 'message_start' } @ev;
    like $ms->{id} // '', qr/^msg_/, "$what: message id msg_...";
    return ($text, $md, $ms, \@ev);
}

for my $f (@families) {
    my ($model, $fam, $path, $thinks) = @$f;
    my $t = "$fam ($model)";
    mock_reset();

    # ---- plain ----
    my $body = json_encode({ model => $model, max_tokens => 100,
        messages => [ { role => 'user', content => 'hello there' } ] });
    my $r = msg($body, headers => { 'anthropic-beta' => 'tools-2024-04-04' });
    is $r->{status}, 200, "$t: 200" or diag $r->{content};
    is $r->{json}{type}, 'message', "$t: a message";
    is $r->{json}{role}, 'assistant', "$t: role assistant";
    like $r->{json}{id} // '', qr/^msg_/, "$t: id msg_...";
    like text_of($r->{json}), qr/hello there/, "$t: the answer's text";
    is $r->{json}{stop_reason}, 'end_turn', "$t: stop_reason end_turn";
    ok(($r->{json}{usage}{input_tokens} // 0) > 0
       && ($r->{json}{usage}{output_tokens} // 0) > 0, "$t: usage");
    my $seen = last_request($path);
    ok $seen, "$t: the backend was called";
    ok !exists $seen->{headers}{'x-api-key'}, "$t: x-api-key not forwarded";
    is $seen->{headers}{authorization}, 'OAuth ' . token(),
        "$t: the gateway's token";
    unlike json_encode($seen), qr/\Q$KEY\E/, "$t: the client's key is nowhere";
    if ($fam eq 'anthropic') {
        is $seen->{body}, $body, "$t: the body forwarded byte for byte";
        is $seen->{headers}{'anthropic-version'}, '2023-06-01',
            "$t: anthropic-version forwarded";
        is $seen->{headers}{'anthropic-beta'}, 'tools-2024-04-04',
            "$t: anthropic-beta forwarded";
    }
    else {
        ok !exists $seen->{headers}{'anthropic-beta'},
            "$t: no anthropic-beta to another family";
    }

    # ---- streamed ----
    $r = stream(json_decode($body));
    my ($text, $md) = check_stream($r, "$t stream");
    like $text, qr/hello there/, "$t stream: the text";
    is $md->{delta}{stop_reason}, 'end_turn', "$t stream: end_turn";
    ok(($md->{usage}{output_tokens} // 0) > 0, "$t stream: output tokens");

    # ---- tool_use / tool_result round trip, streamed and not ----
    my $ask = { model => $model, max_tokens => 200, tools => [$weather],
                messages => [ { role => 'user',
                                content => 'use_tool for Paris' } ] };
    $r = msg($ask);
    is $r->{status}, 200, "$t tool: 200" or diag $r->{content};
    is $r->{json}{stop_reason}, 'tool_use', "$t tool: stop_reason tool_use";
    my ($use) = grep { $_->{type} eq 'tool_use' } @{ $r->{json}{content} || [] };
    ok $use && $use->{id} && ($use->{name} // '') eq 'get_weather'
       && ref $use->{input} eq 'HASH', "$t tool: a tool_use block";
    my $back = { %$ask, messages => [ @{ $ask->{messages} },
        { role => 'assistant', content => $r->{json}{content} },
        { role => 'user', content => [ { type => 'tool_result',
            tool_use_id => $use ? $use->{id} : 'x', content => 'sunny' } ] } ] };
    $r = msg($back);
    is $r->{status}, 200, "$t tool result: 200" or diag $r->{content};
    like text_of($r->{json}), qr/sunny/, "$t tool result: the answer uses it";
    $r = stream($ask);
    my (undef, $tmd, undef, $ev) = check_stream($r, "$t tool stream");
    is $tmd->{delta}{stop_reason}, 'tool_use', "$t tool stream: tool_use";
    my ($tstart) = grep { ref $_->[1] && $_->[1]{type} eq 'content_block_start'
                          && $_->[1]{content_block}{type} eq 'tool_use' } @$ev;
    my $json = join '', map { $_->[1]{delta}{partial_json} // '' }
        grep { ref $_->[1] && $_->[1]{type} eq 'content_block_delta'
               && $_->[1]{delta}{type} eq 'input_json_delta' } @$ev;
    ok $tstart && $tstart->[1]{content_block}{id}, "$t tool stream: the call";
    ok ref json_decode($json) eq 'HASH', "$t tool stream: its input is JSON";

    # ---- max_tokens ----
    $r = msg({ model => $model, max_tokens => 2, messages => [
        { role => 'user', content => 'max_tokens one two three four five six' } ] });
    is $r->{json}{stop_reason}, 'max_tokens', "$t: max_tokens"
        or diag $r->{content};

    # ---- thinking ----
    if ($thinks) {
        my $th = { model => $model, max_tokens => 4000,
                   thinking => { type => 'enabled', budget_tokens => 1024 },
                   messages => [ { role => 'user', content => 'thinking: why' } ] };
        $r = msg($th);
        is $r->{status}, 200, "$t thinking: 200" or diag $r->{content};
        my @types = map { $_->{type} } @{ $r->{json}{content} || [] };
        is $types[0], 'thinking', "$t thinking: a thinking block first";
        ok length($r->{json}{content}[0]{thinking} // ''),
            "$t thinking: its text";
        $r = stream($th);
        my (undef, undef, undef, $tev) = check_stream($r, "$t thinking stream");
        ok scalar(grep { ref $_->[1] && ($_->[1]{delta}{type} // '') eq 'thinking_delta' } @$tev),
            "$t thinking stream: thinking_delta";
    }

    # ---- a backend stream cut before its end ----
    $r = stream({ model => $model, max_tokens => 100,
                  messages => [ { role => 'user', content => 'stream_cut now' } ] })
        unless $fam eq 'openai';
    $r = stream({ model => 'hostile-truncated', max_tokens => 100,
                  messages => [ { role => 'user', content => 'hi' } ] })
        if $fam eq 'openai';
    is $r->{status}, 200, "$t cut: 200 (the stream had begun)";
    my @names = map { $_->[0] // '' } @{ $r->{events} };
    is $names[-1], 'error', "$t cut: the last event is an error";
    ok !grep({ $_ eq 'message_stop' } @names), "$t cut: no message_stop";
    like $r->{events}[-1][1]{error}{type} // '', qr/^(api_error|overloaded_error)$/,
        "$t cut: Anthropic's error type";

    # ---- bad input, unknown model ----
    $r = msg({ model => $model, max_tokens => 10, messages => 'hello' });
    anthropic_error($r, 400, 'invalid_request_error', "$t bad messages");
    $r = msg({ model => $model, max_tokens => 10, messages => [] });
    anthropic_error($r, 400, 'invalid_request_error', "$t no messages");
    $r = msg({ model => $model, messages => [ { role => 'user', content => 'x' } ] });
    anthropic_error($r, 400, 'invalid_request_error', "$t no max_tokens");

    # ---- count_tokens ----
    mock_reset();
    $r = msg({ model => $model, messages => [ { role => 'user',
              content => 'count these words please' } ], tools => [$weather] },
             path => '/v1/messages/count_tokens?beta=true',
             headers => { 'anthropic-beta' => 'token-counting-2024-11-01' });
    is $r->{status}, 200, "$t count_tokens: 200" or diag $r->{content};
    ok(($r->{json}{input_tokens} // 0) > 0, "$t count_tokens: input_tokens");
    is_deeply [ sort keys %{ $r->{json} || {} } ], ['input_tokens'],
        "$t count_tokens: {\"input_tokens\":N}";
    $seen = last_request(qr{count_tokens});
    if ($fam eq 'anthropic') {
        is $seen && $seen->{path}, '/anthropic/v1/messages/count_tokens',
            "$t count_tokens: forwarded to the handle's counter";
        ok $seen && !exists $seen->{headers}{'x-api-key'},
            "$t count_tokens: x-api-key not forwarded";
        is $seen && $seen->{headers}{'anthropic-version'}, '2023-06-01',
            "$t count_tokens: anthropic-version forwarded";
        is $seen && $seen->{headers}{'anthropic-beta'}, 'token-counting-2024-11-01',
            "$t count_tokens: anthropic-beta forwarded";
    }
    elsif ($fam eq 'gemini') {
        # Gemini's own counter: the request as generateContent would get it
        $seen = last_request(qr{:countTokens$});
        like $seen && $seen->{path}, qr{^/google/v1beta/models/gemini-2\.5-flash:countTokens$},
            "$t count_tokens: Gemini's countTokens";
        my $sent = json_decode($seen ? $seen->{body} : '') || {};
        is $sent->{generateContentRequest}{model}, 'models/gemini-2.5-flash',
            "$t count_tokens: a generateContentRequest of the model";
        ok $sent->{generateContentRequest}{tools},
            "$t count_tokens: with the tools";
        is $r->{json}{input_tokens}, 7,
            "$t count_tokens: the backend's count (the mock's 3 + 4 words)";
        # any failure of the counter: the estimate, never an error
        mock_reset();
        my $f = msg({ model => $model, messages => [ { role => 'user',
                      content => 'count_fail please' } ] },
                    path => '/v1/messages/count_tokens?beta=true');
        is $f->{status}, 200, "$t count_tokens: a failing counter: 200";
        ok(($f->{json}{input_tokens} // 0) > 0, "$t ... an estimate");
        ok last_request(qr{:countTokens$}), "$t ... after asking the backend";
    }
    else {
        ok !$seen, "$t count_tokens: estimated, no backend call";
    }
}

# ---- Anthropic pass-through details ----
{
    my $m = 'claude-sonnet-4-5';
    mock_reset();
    # the version default when the client sends none
    my $r = post_json('/v1/messages?beta=true', { model => $m, max_tokens => 10,
        messages => [ { role => 'user', content => 'hi' } ] },
        headers => { Authorization => "Bearer $KEY" });
    is $r->{status}, 200, 'no anthropic-version: 200' or diag $r->{content};
    my $seen = last_request(qr{^/anthropic/v1/messages$});
    is $seen->{headers}{'anthropic-version'}, '2023-06-01',
        'no anthropic-version: the default is sent';
    unlike json_encode($seen), qr/\Q$KEY\E/, 'a Bearer key is not forwarded';
    # the gateway's envelope unwrapped
    $r = msg({ model => $m, max_tokens => 20,
               messages => [ { role => 'user', content => 'envelope please' } ] });
    is $r->{status}, 200, 'envelope: 200';
    is $r->{json}{type}, 'message', 'envelope: unwrapped, a message';
    like text_of($r->{json}), qr/envelope please/, 'envelope: its text';
    ok !exists $r->{json}{response}, 'envelope: no "response" member';
    # a beta field with and without its beta
    my $cm = { model => $m, max_tokens => 10,
               context_management => { edits => [] },
               messages => [ { role => 'user', content => 'hi' } ] };
    $r = msg($cm);
    anthropic_error($r, 400, 'invalid_request_error',
                    'a beta field without its beta (the backend\'s error relayed)');
    $r = msg($cm, headers => { 'anthropic-beta' => 'context-management-2025-06-27' });
    is $r->{status}, 200, 'a beta field with its beta: 200' or diag $r->{content};
    $r = msg($cm, headers => { 'anthropic-beta' => 'a;b=c' });
    anthropic_error($r, 400, 'invalid_request_error', 'a malformed anthropic-beta');
    # the backend's own errors relayed
    $r = msg({ model => $m, max_tokens => 10,
               messages => [ { role => 'user', content => 'overloaded' } ] });
    anthropic_error($r, 529, 'overloaded_error', 'overloaded relayed');
    # an error event in a stream relayed, nothing after it
    $r = stream({ model => $m, max_tokens => 50,
                  messages => [ { role => 'user', content => 'stream_error x' } ] });
    my @names = map { $_->[0] // '' } @{ $r->{events} };
    is $names[-1], 'error', 'stream error event relayed';
    is $r->{events}[-1][1]{error}{type}, 'overloaded_error', '... as it came';
    is scalar(grep { $_ eq 'error' } @names), 1, '... once';
    # a pass-through stream: the gateway's token scrubbed from the events,
    # a clean end without message_stop ends with an error event
    $r = stream({ model => 'hostile-anthropic-echo-auth', max_tokens => 50,
                  messages => [ { role => 'user', content => 'hi' } ] });
    is $r->{status}, 200, 'echo-auth stream: 200';
    my $tok = token();
    unlike $r->{content}, qr/\Q$tok\E/, 'echo-auth stream: no token relayed';
    like $r->{content}, qr/\[redacted\]/, '... it was redacted';
    is $r->{events}[-1][0], 'message_stop', '... and the stream ended well';
    $r = stream({ model => 'hostile-anthropic-cut', max_tokens => 50,
                  messages => [ { role => 'user', content => 'hi' } ] });
    is $r->{events}[-1][0], 'error', 'a pass-through stream cut: an error event last';
    is $r->{events}[-1][1]{type}, 'error', '... of type error';
    is $r->{events}[-1][1]{error}{type}, 'api_error', '... api_error';
    like $r->{events}[-1][1]{error}{message}, qr/ended without its last event/,
        '... saying the stream ended early';
    $r = stream({ model => 'hostile-anthropic-html', max_tokens => 50,
                  messages => [ { role => 'user', content => 'hi' } ] });
    anthropic_error($r, 502, 'api_error', 'an HTML page for a stream');
    # a non-JSON error from the backend becomes Anthropic-shaped
    $r = msg({ model => 'mock-h-anthropic-html', max_tokens => 10,
               messages => [ { role => 'user', content => 'hi' } ] });
    ok $r->{status} >= 400, 'an HTML error page: an error';
    is $r->{json}{type}, 'error', '... in Anthropic\'s shape';
}

# ---- the module's own errors, in Anthropic's shape ----
{
    my $r = msg({ model => 'no-such-model', max_tokens => 10,
                  messages => [ { role => 'user', content => 'hi' } ] });
    anthropic_error($r, 404, 'not_found_error', 'unknown model');
    $r = msg('{"model": ');
    anthropic_error($r, 400, 'invalid_request_error', 'bad JSON');
    $r = msg({ max_tokens => 10, messages => [] });
    anthropic_error($r, 400, 'invalid_request_error', 'no model');
    $r = post_json('/v1/messages', undef, method => 'GET');
    anthropic_error($r, 405, 'invalid_request_error', 'GET /v1/messages');
    $r = msg({ model => 'x' }, path => '/v1/messages/batches');
    anthropic_error($r, 404, 'not_found_error', 'an unknown /v1/messages/ URL');
    $r = msg({ model => 'text-embedding-3-small', max_tokens => 10,
               messages => [ { role => 'user', content => 'hi' } ] });
    anthropic_error($r, 400, 'invalid_request_error', 'an embeddings model');
    # LimitRequestBody 2048 on /limited/v1: httpd's refusal, with a
    # Content-Length or chunked, in Anthropic's shape too
    my $big = json_encode({ model => 'gpt-4o-mini', max_tokens => 10,
        messages => [ { role => 'user', content => 'x' x 4000 } ] });
    for my $chunked (0, 1) {
        $r = post_json('/limited/v1/messages', $big, chunked => $chunked,
                       headers => \%H);
        anthropic_error($r, 413, 'request_too_large',
                        'a body over LimitRequestBody' . ($chunked ? ' (chunked)' : ''));
    }
}

# ---- Claude Code's own request (tests/fixtures/messages: adaptive thinking,
# output_config, context_management, cache_control, a mid-conversation
# system turn, a thinking block with Anthropic's signature) to each
# translated family: every strict mock takes what the front makes ----
{
    open my $fh, '<', 'tests/fixtures/messages/claude_code_request.json' or die $!;
    my $cc = json_decode(do { local $/; <$fh> });
    my $beta = 'claude-code-20250219,interleaved-thinking-2025-05-14,'
             . 'context-management-2025-06-27,effort-2025-11-24';
    # (gemini-2.0-flash: a Gemini thinking model wants its own signature on
    # each function call of the history, which a conversation begun with
    # another model cannot give)
    for my $model ('gpt-4o-mini', 'gemini-2.0-flash', 'command-r-plus') {
        my $r = stream({ %$cc, model => $model },
                       path => '/v1/messages?beta=true',
                       headers => { 'anthropic-beta' => $beta });
        my ($text, $md) = check_stream($r, "Claude Code's request to $model");
        like $md->{delta}{stop_reason} // '', qr/^(end_turn|tool_use)$/,
            "Claude Code's request to $model: a stop reason";
    }
}

# ---- ping on a long silence of a translated stream ----
# (llmp_ping: after 1 s instead of Anthropic's 10; the mock pauses 2.5 s
# after its first word)
{
    my $r = post_json('/v1/messages', { model => 'mock-pause-stream',
        max_tokens => 32, stream => JSON::PP::true,
        messages => [{ role => 'user', content => 'hi' }] },
        headers => \%H, module => 'llmp_ping');
    is $r->{status}, 200, 'a stream with a pause: 200' or diag $r->{content};
    my @names = map { $_->[0] } events_of($r->{content});
    my $seq = join ' ', @names;
    like $seq, qr/^message_start .*\bping\b.* message_stop$/,
        'ping events during the silence, after message_start'
        or diag $seq;
    my @pings = grep { $_->[0] eq 'ping' } events_of($r->{content});
    ok @pings >= 1 && @pings <= 3, 'a ping about each second of silence'
        or diag scalar @pings;
    is_deeply $pings[0][1], { type => 'ping' }, '... {"type":"ping"}';
    # the same stream on the main server (10 s): no ping
    $r = post_json('/v1/messages', { model => 'mock-pause-stream',
        max_tokens => 32, stream => JSON::PP::true,
        messages => [{ role => 'user', content => 'hi' }] }, headers => \%H);
    $seq = join ' ', map { $_->[0] } events_of($r->{content});
    unlike $seq, qr/\bping\b/, 'no ping under 10 s of silence' or diag $seq;
}

# ---- the client's key is in no log ----
for my $log ('t/logs/error_log', 't/logs/llmproxy_log') {
    open my $fh, '<', $log or die $!;
    my $all = do { local $/; <$fh> };
    unlike $all, qr/\Q$KEY\E/, "$log: the client's key is not logged";
}

# ---- the access log: %{llmproxy-endpoint}n ----
{
    open my $fh, '<', 't/logs/llmproxy_log' or die $!;
    my @lines = <$fh>;
    ok scalar(grep { /^200 messages model=gpt-4o-mini provider=openai/ } @lines),
        'llmproxy-endpoint is "messages" in the log';
    ok scalar(grep { /^200 count_tokens model=claude-sonnet-4-5 provider=anthropic/ } @lines),
        'llmproxy-endpoint is "count_tokens" in the log';
    ok scalar(grep { /^200 count_tokens model=gemini-2\.5-flash .* ct=backend / } @lines),
        'llmproxy-count-tokens: "backend" for Gemini\'s counter';
    ok scalar(grep { /^200 count_tokens model=gpt-4o-mini .* ct=estimate / } @lines),
        'llmproxy-count-tokens: "estimate" for an OpenAI model';
}

Test::More::done_testing();
