# The OpenAI Responses API (POST /v1/responses, GET /v1/responses/{id})
# through the module, for each backend family against the strict mocks:
# text, tool round trips, a custom tool, json_schema, max_output_tokens,
# streamed and not; errors in OpenAI's shape; a cut stream.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;

ok wait_list(), 'model list loaded';
mock_reset();

# model, family, backend path of its answers, what the mock says to a tool
# result
my @families = (
    [ 'gpt-4o-mini', 'openai', qr{^/openai/v1/chat/completions$} ],
    [ 'claude-3-7-sonnet-20250219', 'anthropic', qr{^/anthropic/v1/messages$} ],
    [ 'gemini-2.0-flash', 'gemini', qr{^/google/v1beta/models/gemini-2\.0-flash:} ],
    [ 'command-r-plus', 'cohere', qr{^/cohere/v2/chat$} ],
);

my $weather = { type => 'function', name => 'get_weather',
                description => 'Weather of a city', strict => JSON::PP::false,
                parameters => { type => 'object',
                                properties => { location => { type => 'string' } },
                                required => ['location'] } };
my $patch = { type => 'custom', name => 'apply_patch',
              description => 'Apply a patch to the files' };

sub native_body {
    my $seen = last_request(shift);
    return json_decode($seen ? $seen->{body} : '{}') || {};
}

# The events of a Responses stream: [name, data] (LLMPTest::named_events).
sub events_of { named_events(shift) }

sub stream {
    my ($body, %opt) = @_;
    my $r = post_json('/v1/responses', { %$body, stream => JSON::PP::true },
                      %opt);
    $r->{events} = [ events_of($r->{content}) ];
    return $r;
}

sub output_text {
    my $resp = shift;
    return join '', map { $_->{text} // '' }
        map { @{ $_->{content} || [] } }
        grep { $_->{type} eq 'message' } @{ $resp->{output} || [] };
}

sub items_of_type {
    my ($resp, $type) = @_;
    return grep { $_->{type} eq $type } @{ $resp->{output} || [] };
}

# What every Responses stream must be: each event named as its type,
# sequence numbers increasing, created then in_progress first, exactly one
# terminal event and it is the last. Returns the terminal event's response.
sub check_sequence {
    my ($r, $what, $terminal) = @_;
    my @ev = @{ $r->{events} };
    is $r->{status}, 200, "$what: 200";
    like $r->{headers}{'content-type'} || '', qr{^text/event-stream},
        "$what: an event stream";
    unlike $r->{content}, qr/\[DONE\]/, "$what: no [DONE]";
    my @bad = grep { !ref $_->[1] || ($_->[0] // '') ne ($_->[1]{type} // '') }
              @ev;
    ok @ev && !@bad, "$what: each event named as its type"
        or diag explain [ map { $_->[0] } @bad ];
    my @seq = map { $_->[1]{sequence_number} } grep { ref $_->[1] } @ev;
    my $inc = !grep { !defined $seq[$_] || ($_ && $seq[$_] <= $seq[$_ - 1]) }
              0 .. $#seq;
    ok $inc, "$what: sequence_number increasing";
    is_deeply [ map { $_->[0] } @ev[0, 1] ],
        [ 'response.created', 'response.in_progress' ],
        "$what: created, in_progress first";
    my @term = grep { $_->[0] =~ /^response\.(?:completed|incomplete|failed)$/ }
               @ev;
    is scalar @term, 1, "$what: exactly one terminal event";
    is $ev[-1][0], $terminal, "$what: $terminal last";
    return ref $ev[-1][1] ? $ev[-1][1]{response} || {} : {};
}

# The text events of a stream, in order, and their consistency.
sub check_text_events {
    my ($r, $what, $resp) = @_;
    my @names = map { $_->[0] } @{ $r->{events} };
    my $order = join ' ', grep { /output_item|content_part|output_text/ }
                @names;
    like $order, qr/^response\.output_item\.added\ response\.content_part\.added
                    (?:\ response\.output_text\.delta)+
                    \ response\.output_text\.done
                    \ response\.content_part\.done
                    \ response\.output_item\.done/x,
        "$what: item, part, deltas, done events in order";
    my $deltas = join '', map { $_->[1]{delta} }
                 grep { $_->[0] eq 'response.output_text.delta' }
                 @{ $r->{events} };
    my ($done) = grep { $_->[0] eq 'response.output_text.done' }
                 @{ $r->{events} };
    is $done && $done->[1]{text}, $deltas, "$what: done text = the deltas";
    is output_text($resp), $deltas, "$what: the final response's text";
}

for my $f (@families) {
    my ($model, $fam, $path) = @$f;

    # ---- text, not streamed ----
    my $r = post_json('/v1/responses',
        { model => $model, instructions => 'Be brief.', input => 'hello there',
          max_output_tokens => 100, temperature => 0.5,
          metadata => { k => 'v' }, store => JSON::PP::false });
    is $r->{status}, 200, "$fam text: 200" or diag $r->{content};
    my $j = $r->{json} || {};
    is $j->{object}, 'response', "$fam text: a response";
    like $j->{id} // '', qr/^resp_/, "$fam text: resp_ id";
    is $j->{status}, 'completed', "$fam text: completed";
    is $j->{model}, $model, "$fam text: model";
    like output_text($j), qr/hello there/, "$fam text: the answer";
    ok $j->{usage} && $j->{usage}{input_tokens} && $j->{usage}{output_tokens}
       && $j->{usage}{total_tokens}, "$fam text: usage";
    my $nb = native_body($path);
    if ($fam eq 'openai') {
        like $nb->{messages}[0]{role}, qr/^(?:system|developer)$/,
            "$fam text: instructions first";
        is $nb->{max_completion_tokens} // $nb->{max_tokens}, 100,
            "$fam text: max_output_tokens";
        ok !exists $nb->{stream}, "$fam text: not a stream";
    }
    elsif ($fam eq 'anthropic') {
        is $nb->{max_tokens}, 100, "$fam text: max_tokens";
        like json_encode($nb->{system} // ''), qr/Be brief/,
            "$fam text: instructions -> system";
    }
    elsif ($fam eq 'gemini') {
        is $nb->{generationConfig}{maxOutputTokens}, 100,
            "$fam text: maxOutputTokens";
        like json_encode($nb->{systemInstruction} // ''), qr/Be brief/,
            "$fam text: instructions -> systemInstruction";
    }
    else {
        is $nb->{max_tokens}, 100, "$fam text: max_tokens";
        like json_encode($nb->{messages}[0]), qr/Be brief/,
            "$fam text: instructions -> system message";
    }

    # ---- text, streamed ----
    $r = stream({ model => $model, input => 'hello there' });
    my $resp = check_sequence($r, "$fam stream", 'response.completed');
    check_text_events($r, "$fam stream", $resp);
    is $resp->{status}, 'completed', "$fam stream: completed";
    ok $resp->{usage} && $resp->{usage}{output_tokens},
        "$fam stream: usage in response.completed";
    $nb = native_body($path);
    if ($fam eq 'openai') {
        ok $nb->{stream} && $nb->{stream_options}{include_usage},
            "$fam stream: asked with include_usage";
    }

    # ---- a tool round trip ----
    $r = post_json('/v1/responses',
        { model => $model, input => 'use_tool please',
          tools => [ $weather, { type => 'web_search' } ] });
    is $r->{status}, 200, "$fam tool: 200" or diag $r->{content};
    my ($call) = items_of_type($r->{json} || {}, 'function_call');
    ok $call, "$fam tool: a function_call item" or diag $r->{content};
    $call ||= {};
    is $call->{name}, 'get_weather', "$fam tool: its name";
    ok length($call->{call_id} // ''), "$fam tool: its call_id";
    ok ref json_decode($call->{arguments} // ''), "$fam tool: JSON arguments";
    $nb = native_body($path);
    my $ntools = $nb->{tools} || [];
    $ntools = $ntools->[0]{functionDeclarations} || [] if $fam eq 'gemini';
    is scalar @$ntools, 1, "$fam tool: the hosted tool dropped";
    $r = post_json('/v1/responses',
        { model => $model, tools => [ $weather ],
          input => [ { type => 'message', role => 'user',
                       content => 'use_tool please' },
                     { type => 'function_call', call_id => $call->{call_id},
                       name => 'get_weather',
                       arguments => $call->{arguments} // '{}' },
                     { type => 'function_call_output',
                       call_id => $call->{call_id},
                       output => 'sunny, 21 C' } ] });
    is $r->{status}, 200, "$fam tool output: 200" or diag $r->{content};
    like output_text($r->{json} || {}), qr/sunny, 21 C/,
        "$fam tool output: the model read the result";

    # ---- the tool call streamed ----
    $r = stream({ model => $model, input => 'use_tool please',
                  tools => [ $weather ] });
    $resp = check_sequence($r, "$fam tool stream", 'response.completed');
    my @names = map { $_->[0] } @{ $r->{events} };
    ok((grep { $_ eq 'response.function_call_arguments.done' } @names),
       "$fam tool stream: function_call_arguments.done");
    my ($scall) = items_of_type($resp, 'function_call');
    is $scall && $scall->{name}, 'get_weather',
        "$fam tool stream: the call in the response";
    my $args = join '', map { $_->[1]{delta} }
               grep { $_->[0] eq 'response.function_call_arguments.delta' }
               @{ $r->{events} };
    is $args, $scall && $scall->{arguments},
        "$fam tool stream: the argument deltas make the arguments";

    # ---- a custom tool (free-form input) ----
    $r = post_json('/v1/responses',
        { model => $model, input => 'use_tool now', tools => [ $patch ] });
    is $r->{status}, 200, "$fam custom: 200" or diag $r->{content};
    my ($cc) = items_of_type($r->{json} || {}, 'custom_tool_call');
    ok $cc, "$fam custom: a custom_tool_call item" or diag $r->{content};
    is $cc && $cc->{name}, 'apply_patch', "$fam custom: its name";
    ok $cc && defined $cc->{input} && !ref $cc->{input},
        "$fam custom: its input, a string";
    $r = post_json('/v1/responses',
        { model => $model, tools => [ $patch ],
          input => [ { type => 'message', role => 'user',
                       content => 'use_tool now' },
                     { type => 'custom_tool_call', call_id => 'call_p1',
                       name => 'apply_patch', input => '*** Begin Patch' },
                     { type => 'custom_tool_call_output',
                       call_id => 'call_p1', output => 'patched ok' } ] });
    is $r->{status}, 200, "$fam custom output: 200" or diag $r->{content};
    like output_text($r->{json} || {}), qr/patched ok/,
        "$fam custom output: the model read the result";

    # ---- text.format json_schema ----
    $r = post_json('/v1/responses',
        { model => $model, input => 'give json',
          text => { format => { type => 'json_schema', name => 'answer',
                                strict => JSON::PP::true,
                                schema => { type => 'object',
                                    properties => { answer => { type => 'string' } },
                                    required => ['answer'],
                                    additionalProperties => JSON::PP::false } } } });
    is $r->{status}, 200, "$fam json_schema: 200" or diag $r->{content};
    $nb = native_body($path);
    if ($fam eq 'openai') {
        is $nb->{response_format}{type}, 'json_schema',
            "$fam json_schema: response_format";
        is $nb->{response_format}{json_schema}{name}, 'answer',
            "$fam json_schema: its name";
        ok ref json_decode(output_text($r->{json} || {})),
            "$fam json_schema: JSON text";
    }
    elsif ($fam eq 'gemini') {
        is $nb->{generationConfig}{responseMimeType}, 'application/json',
            "$fam json_schema: responseMimeType";
        ok ref json_decode(output_text($r->{json} || {})),
            "$fam json_schema: JSON text";
    }
    elsif ($fam eq 'cohere') {
        is $nb->{response_format}{type}, 'json_object',
            "$fam json_schema: response_format";
    }
    else {
        like json_encode($nb->{system} // ''), qr/JSON/,
            "$fam json_schema: an instruction";
    }

    # ---- max_output_tokens: incomplete ----
    my $long = join ' ', 'max_tokens', map { "w$_" } 1 .. 40;
    $r = post_json('/v1/responses',
        { model => $model, input => $long, max_output_tokens => 16 });
    is $r->{status}, 200, "$fam incomplete: 200" or diag $r->{content};
    is $r->{json}{status}, 'incomplete', "$fam incomplete: status";
    is $r->{json}{incomplete_details}{reason}, 'max_output_tokens',
        "$fam incomplete: the reason";
    $r = stream({ model => $model, input => $long, max_output_tokens => 16 });
    $resp = check_sequence($r, "$fam incomplete stream", 'response.incomplete');
    is $resp->{status}, 'incomplete', "$fam incomplete stream: status";
}

# ---- the backend's reasoning: a reasoning item (the glue asks for it) ----
{
    my $r = post_json('/v1/responses',
        { model => 'claude-3-7-sonnet-20250219', input => 'thinking hard' });
    is $r->{status}, 200, 'anthropic thinking: 200' or diag $r->{content};
    like output_text($r->{json} || {}), qr/thinking hard/,
        'anthropic thinking: the answer';
    ok scalar(items_of_type($r->{json} || {}, 'reasoning')),
        'anthropic thinking: a reasoning item before the message';
}

# ---- reasoning settings reach an OpenAI-compatible chat backend only for
# its reasoning models (Codex always sends them; OpenAI refuses them for
# the others, and so does the mock) ----
for my $case ([ 'gpt-4o-mini', 0 ], [ 'o4-mini', 1 ]) {
    my ($model, $sent) = @$case;
    my $r = post_json('/v1/responses',
        { model => $model, input => 'hi there',
          reasoning => { effort => 'high', summary => 'auto' },
          text => { verbosity => 'low' } });
    is $r->{status}, 200, "$model with reasoning.effort: 200"
        or diag $r->{content};
    my $nb = native_body(qr{/openai/v1/chat/completions});
    is exists $nb->{reasoning_effort} ? 1 : 0, $sent,
        "$model: reasoning_effort " . ($sent ? 'sent' : 'dropped');
    ok !exists $nb->{verbosity}, "$model: verbosity dropped (gpt-5 only)";
}

# ---- a backend stream cut short: error, then response.failed ----
for my $cut ([ 'hostile-truncated', 'hostile-truncated', 'openai' ],
             [ 'claude-3-7-sonnet-20250219', 'stream_cut', 'anthropic' ],
             [ 'gemini-2.0-flash', 'stream_cut', 'gemini' ],
             [ 'command-r-plus', 'stream_cut', 'cohere' ]) {
    my ($model, $text, $fam) = @$cut;
    my $r = stream({ model => $model, input => $text });
    my $resp = check_sequence($r, "$fam cut stream", 'response.failed');
    my @names = map { $_->[0] } @{ $r->{events} };
    is $names[-2], 'error', "$fam cut stream: an error event before it";
    is $resp->{status}, 'failed', "$fam cut stream: failed";
}

# ---- a backend's error in the middle of a stream: error, response.failed ----
for my $mid ([ 'hostile-error-event', 'hi', 'openai' ],
             [ 'claude-3-7-sonnet-20250219', 'stream_error', 'anthropic' ],
             [ 'gemini-2.0-flash', 'stream_error', 'gemini' ],
             [ 'command-r-plus', 'stream_error', 'cohere' ]) {
    my ($model, $text, $fam) = @$mid;
    my $r = stream({ model => $model, input => $text });
    my $resp = check_sequence($r, "$fam error event", 'response.failed');
    my @ev = @{ $r->{events} };
    is $ev[-2][0], 'error', "$fam error event: an error event before it";
    ok length($ev[-2][1]{message} // ''), "$fam error event: with a message";
    ok((grep { $_->[0] eq 'response.output_text.delta' } @ev),
       "$fam error event: the text before it was sent");
}

# ---- a reset, a limit of this server's: error, response.failed ----
{
    my $r = stream({ model => 'mock-reset-stream', input => 'a b c d' });
    check_sequence($r, 'backend reset', 'response.failed');
    my @ev = @{ $r->{events} };
    is $ev[-2][0], 'error', 'backend reset: an error event before it';
    $r = stream({ model => 'mock-long-stream', input => 'hi' },
                module => 'llmp_smallstream');
    check_sequence($r, 'stream over LLMProxyStreamMaxDuration',
                   'response.failed');
    @ev = @{ $r->{events} };
    is $ev[-2][1]{code}, 'stream_too_long',
        'stream over LLMProxyStreamMaxDuration: stream_too_long';
}

# ---- each event leaves as soon as the backend's arrives ----
for my $slow ([ 'mock-slow-stream', 'hi', 'openai' ],
              [ 'command-r-plus', 'slow_stream a b c d', 'cohere' ]) {
    my ($model, $text, $fam) = @$slow;
    my $res = stream_raw('/v1/responses',
        { model => $model, input => $text, stream => JSON::PP::true },
        headers => { 'Accept-Encoding' => 'gzip' });
    is $res->{status}, 200, "$fam slow stream: 200";
    unlike $res->{head}, qr{Content-Encoding}i, "$fam slow stream: not compressed";
    my @t = map { $_->[0] } grep { $_->[1] =~ /output_text\.delta/ }
            @{ $res->{events} };
    ok @t >= 3 && $t[-1] - $t[0] > 0.5,
        sprintf("$fam slow stream: deltas arrive as the backend sends them "
                . "(%d over %.2fs)", scalar @t, @t ? $t[-1] - $t[0] : 0);
}

# ---- a client that leaves stops the backend ----
{
    mock_reset();
    my $res = stream_raw('/v1/responses',
        { model => 'mock-long-stream', input => 'hi',
          stream => JSON::PP::true }, close_after => 6);
    ok $res->{closed}, 'client hung up mid-stream';
    my $stopped = 0;
    for (1 .. 40) {
        if ((mock_stats()->{disconnects} || 0) >= 1) { $stopped = 1; last }
        select undef, undef, undef, 0.1;
    }
    ok $stopped, '... the backend transfer stopped';
}

# ---- a stream request answered with one JSON body: replayed as events ----
{
    my $r = stream({ model => 'mock-nostream', input => 'hi' });
    my $resp = check_sequence($r, 'JSON answer to a stream', 'response.completed');
    check_text_events($r, 'JSON answer to a stream', $resp);
    like output_text($resp), qr/echo: hi/, 'JSON answer to a stream: the text';
}

# ---- a backend error before the stream: a plain HTTP error ----
{
    my $r = stream({ model => 'claude-3-7-sonnet-20250219',
                     input => 'overloaded' });
    is $r->{status}, 503, 'overloaded before the stream: 503';
    is $r->{json}{error}{type}, 'overloaded_error',
        '... an OpenAI-shaped error' or diag $r->{content};
    $r = post_json('/v1/responses', { model => 'mock-error', input => 'hi' });
    is $r->{status}, 429, 'OpenAI-family 429: relayed status';
    is $r->{json}{error}{code}, 'rate_limit_exceeded', '... its code';
}

# ---- bad input: 400 naming the item ----
{
    my $r = post_json('/v1/responses',
        { model => 'gpt-4o-mini',
          input => [ { type => 'message', role => 'user', content => 'a' },
                     { type => 'message', role => 'wizard', content => 'b' } ] });
    is $r->{status}, 400, 'unknown role: 400';
    like(($r->{json}{error}{param} // '') . ' ' . ($r->{json}{error}{message} // ''),
         qr/input\W*1/, '... naming the item') or diag $r->{content};
    $r = post_json('/v1/responses',
        { model => 'claude-3-7-sonnet-20250219',
          input => [ { type => 'message', role => 'user', content => 'a' },
                     { type => 'function_call_output', call_id => 'call_nope',
                       output => 'x' } ] });
    is $r->{status}, 400, 'function_call_output without its call: 400';
    like(($r->{json}{error}{param} // '') . ' ' . ($r->{json}{error}{message} // ''),
         qr/input\W*1|call_nope/, '... naming the item') or diag $r->{content};
    $r = post_json('/v1/responses', { model => 'gpt-4o-mini', input => 7 });
    is $r->{status}, 400, 'input of the wrong type: 400';
    is $r->{json}{error}{param}, 'input', '... param input';
    $r = post_json('/v1/responses', '{"model":');
    is $r->{status}, 400, 'not JSON: 400';
    is $r->{json}{error}{code}, 'invalid_json', '... invalid_json';
}

# ---- routing and errors of the URLs ----
{
    my $r = post_json('/v1/responses',
        { model => 'text-embedding-3-small', input => 'x' });
    is $r->{status}, 400, 'an embeddings model: 400';
    is $r->{json}{error}{code}, 'wrong_endpoint', '... wrong_endpoint';
    $r = post_json('/v1/responses', { model => 'nope', input => 'x' });
    is $r->{status}, 404, 'unknown model: 404';
    is $r->{json}{error}{code}, 'model_not_found', '... model_not_found';
    $r = post_json('/v1/responses', '', method => 'PUT');
    is $r->{status}, 405, 'PUT /v1/responses: 405';
    is $r->{json}{error}{code}, 'method_not_allowed', '... OpenAI-shaped';
    is $r->{headers}{allow}, 'POST', '... Allow: POST';
    $r = post_json('/v1/responses/resp_doesnotexist', undef, method => 'GET');
    is $r->{status}, 404, 'GET an unknown response: 404';
    is $r->{json}{error}{code}, 'response_not_found', '... response_not_found';
    $r = post_json('/v1/responses/resp_x', '{}', method => 'POST');
    is $r->{status}, 405, 'POST /v1/responses/{id}: 405';
    is $r->{headers}{allow}, 'GET, HEAD, DELETE', '... Allow: GET, HEAD, DELETE';
    $r = post_json('/v1/responses',
        { model => 'gpt-4o-mini', input => 'x',
          previous_response_id => 'resp_unknown' });
    is $r->{status}, 404, 'unknown previous_response_id: 404';
    is $r->{json}{error}{code}, 'previous_response_not_found',
        '... previous_response_not_found';
    is $r->{json}{error}{param}, 'previous_response_id', '... its param';
    $r = post_json('/limited/v1/responses',
        { model => 'gpt-4o-mini', input => 'x' x 4000 });
    is $r->{status}, 413, 'a body over LimitRequestBody: 413';
    is $r->{json}{error}{code}, 'request_too_large', '... OpenAI-shaped';
}

# ---- the store: GET and previous_response_id (when the server keeps one) ----
SKIP: {
    my $r = post_json('/v1/responses',
        { model => 'claude-3-7-sonnet-20250219', input => 'remember kiwi' });
    my $id = $r->{json}{id} // '';
    my $g = post_json("/v1/responses/$id", undef, method => 'GET');
    skip 'no response store in this build', 10 if $g->{status} == 404;
    is $g->{status}, 200, 'GET a stored response: 200';
    is $g->{json}{id}, $id, '... the same id';
    is output_text($g->{json}), output_text($r->{json}), '... the same output';
    $r = post_json('/v1/responses',
        { model => 'claude-3-7-sonnet-20250219', input => 'and then',
          previous_response_id => $id });
    is $r->{status}, 200, 'previous_response_id: 200' or diag $r->{content};
    my $nb = native_body(qr{^/anthropic/v1/messages$});
    is scalar @{ $nb->{messages} || [] }, 3,
        '... the earlier turns sent again';
    like json_encode($nb->{messages}[0]), qr/remember kiwi/, '... in order';
    my $d = post_json("/v1/responses/$id", undef, method => 'DELETE');
    is $d->{status}, 200, 'DELETE a stored response: 200';
    is_deeply $d->{json}, { id => $id, object => 'response',
                            deleted => JSON::PP::true }, '... deleted';
    $g = post_json("/v1/responses/$id", undef, method => 'GET');
    is $g->{status}, 404, '... then GET: 404';
    $d = post_json("/v1/responses/$id", undef, method => 'DELETE');
    is $d->{status}, 404, '... and DELETE again: 404';
}
{
    my $r = post_json('/v1/responses',
        { model => 'gpt-4o-mini', input => 'forget me',
          store => JSON::PP::false });
    my $g = post_json("/v1/responses/" . ($r->{json}{id} // 'x'), undef,
                      method => 'GET');
    is $g->{status}, 404, 'store: false keeps nothing';
}

# ---- the access log: %{llmproxy-endpoint}n ----
{
    open my $fh, '<', 't/logs/llmproxy_log' or die $!;
    my @lines = grep { /^200 responses model=gpt-4o-mini provider=openai/ }
                <$fh>;
    ok scalar @lines, 'llmproxy-endpoint is "responses" in the log';
}

Test::More::done_testing();
