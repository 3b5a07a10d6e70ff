# Backends that misbehave while streaming: a stream that loses its end, an
# event that is not JSON, an answer that is not a stream, a stream without
# end in bytes or in time, a backend that goes silent. The client sees an
# error (an HTTP error before the first event, the final error event
# after), never a clean end of a broken answer nor bytes it cannot parse.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;
use Time::HiRes qw(time sleep);

plan tests => 63 + 12 + 9;

ok wait_list(), 'model list loaded';
ok wait_list('llmp_smallstream'), 'model list loaded (small stream limits)';
ok wait_list('llmp_timeout'), 'model list loaded (short timeout)';

sub req {
    my ($model, %opt) = @_;
    return stream_raw('/v1/chat/completions',
        { model => $model, stream => JSON::PP::true,
          messages => [{ role => 'user', content => 'hi' }] }, %opt);
}

# The body of a chunked answer, then its events as [event, data] pairs
# (data lines joined by "\n", comments as ['#', text]).
sub events_of {
    my $res = shift;
    my (undef, $body) = split /\r\n\r\n/, $res->{raw}, 2;
    my $plain = '';
    while ($body =~ s/^([0-9a-fA-F]+)\r\n//) {
        my $n = hex $1;
        last unless $n;
        $plain .= substr $body, 0, $n, '';
        $body =~ s/^\r\n//;
    }
    my @ev;
    for my $block (split /\n\n/, $plain) {
        my ($event, @data) = ('');
        for my $line (split /\n/, $block) {
            if ($line =~ /^:(.*)$/) { push @ev, ['#', $1]; next }
            $event = $1 if $line =~ /^event: ?(.*)$/;
            push @data, $1 if $line =~ /^data: ?(.*)$/;
        }
        push @ev, [$event, join "\n", @data] if @data;
    }
    return ($plain, @ev);
}

sub last_error {
    my @d = sse_data(shift);
    my $last = $d[-1];
    return ref $last && $last->{error} ? $last->{error} : undef;
}

# 1. A stream that ends without "data: [DONE]" (the backend closed early,
#    cleanly) is no clean end: the error event says the answer lost its end
my $res = req('hostile-truncated');
is $res->{status}, 200, 'truncated: 200 (events came)';
my @d = sse_data($res);
is stream_text(@d), 'ab', 'truncated: the events that came were relayed';
my $err = last_error($res);
ok $err, 'truncated: ends with an error event';
is $err && $err->{code}, 'stream_truncated', '... code stream_truncated';
is $err && $err->{type}, 'api_error', '... type api_error';
ok !(grep { !ref $_ } @d), '... and no [DONE]';

# ... the same for a translated stream that lacks its end (Anthropic
# without message_stop)
$res = req('hostile-anthropic-cut');
$err = last_error($res);
is $err && $err->{code}, 'stream_truncated',
   'translated stream without its end: stream_truncated';

# A backend's own error event ends its stream: relayed, nothing added
$res = req('hostile-error-event');
@d = sse_data($res);
is ref $d[-1] && $d[-1]{error}{message}, 'upstream overloaded',
   'backend error event relayed last';
is scalar(grep { ref $_ && $_->{error} } @d), 1, '... the only error event';

# 2. An event whose data is not JSON ends the stream with the error event;
#    nothing of it (nor after it) is relayed
$res = req('hostile-notjson');
is $res->{status}, 200, 'not JSON mid-stream: 200 (events came)';
unlike $res->{raw}, qr/html|Bad Gateway/i, '... the HTML never reaches the client';
@d = sse_data($res);
is stream_text(@d), 'a', '... events before it relayed, none after';
$err = last_error($res);
is $err && $err->{code}, 'bad_backend_response', '... bad_backend_response';
ok !(grep { !defined $_ } @d), "... every relayed event is JSON";

# ... as the first event: nothing was sent yet, a plain HTTP 502
$res = req('hostile-notjson-first');
is $res->{status}, 502, 'not JSON as the first event: 502';
my ($body) = $res->{raw} =~ /\r\n\r\n(?:[0-9a-f]+\r\n)?(\{.*\})/s;
my $j = json_decode($body || '');
is $j && $j->{error}{code}, 'bad_backend_response', '... bad_backend_response';
unlike $res->{raw}, qr/Internal error, try/, '... the text is not relayed';

# Comments, "event:"/"id:"/"retry:" fields, CRLF line ends and an event
# whose JSON spans two data lines all pass
$res = req('hostile-shapes');
my ($plain, @ev) = events_of($res);
my @json = map { json_decode($_->[1]) } grep { $_->[0] ne '#' } @ev;
is scalar(grep { !defined $_ } @json), 1, 'shapes: one event is [DONE], all others JSON';
is $ev[-1][1], '[DONE]', '... ends with [DONE]';
is stream_text(grep { ref $_ } @json), 'abc', '... every content chunk relayed';
ok scalar(grep { $_->[0] eq '#' && $_->[1] eq ' still thinking' } @ev),
   '... a keep-alive comment relayed';
ok scalar(grep { $_->[0] eq 'message' } @ev), '... the event name relayed';
unlike $plain, qr/\r/, '... with plain line ends';
unlike $plain, qr/^(?:id|retry):/m, '... without id and retry fields';

# 3. A stream request answered with a 200 that is not an event stream
for my $m (qw(hostile-html hostile-brace hostile-json-other
              hostile-anthropic-html)) {
    $res = req($m);
    is $res->{status}, 502, "$m: 502";
    like $res->{head}, qr{Content-Type: application/json}i, "$m: a JSON error";
    ($body) = $res->{raw} =~ /\r\n\r\n(?:[0-9a-f]+\r\n)?(\{.*\})/s;
    $j = json_decode($body || '');
    is $j && $j->{error}{code}, 'bad_backend_response',
       "$m: bad_backend_response";
    unlike $res->{raw}, qr/temporarily|oops|queued/, "$m: the body is not relayed";
}

# 4. LLMProxyMaxStreamBytes counts the backend's bytes after decoding: a
#    gzip stream of a few KB that inflates to 1.2 MB is cut at 64K
$res = req('hostile-gzip', module => 'llmp_smallstream');
is $res->{status}, 200, 'gzip bomb: 200 (events came)';
$err = last_error($res);
is $err && $err->{code}, 'stream_too_large', '... ends with stream_too_large';
is $err && $err->{type}, 'api_error', '... type api_error';
ok length($res->{raw}) < 100_000, '... after about 64K, not 1.2 MB'
    or diag length $res->{raw};
like last_request(qr{^/hostile-stream/})->{headers}{'accept-encoding'} || '',
     qr/gzip/, '... the request accepted gzip';
# (the main server's default, 256M, lets it through whole)
$res = req('hostile-gzip');
@d = sse_data($res);
is $d[-1], '[DONE]', 'the same stream under the default limit: whole';
is scalar @d, 2403, '... every event';

# 5. LLMProxyStreamMaxDuration: a 10 s stream is cut after 2 s, and the
#    backend transfer stops
mock_reset();
my $t0 = time;
$res = req('mock-long-stream', module => 'llmp_smallstream');
my $took = time - $t0;
$err = last_error($res);
ok $err, 'long stream: ends with an error event';
is $err && $err->{code}, 'stream_too_long', '... stream_too_long';
ok scalar(sse_data($res)) > 3, '... after the events of the first 2 s';
ok $took < 5, sprintf('... after about 2 s (%.1f s)', $took);
my $stopped = 0;
for (1 .. 40) {
    if ((mock_stats()->{disconnects} || 0) >= 1) { $stopped = 1; last }
    sleep 0.1;
}
ok $stopped, '... and the backend transfer stopped';
# translated too
$res = req('hostile-anthropic-long', module => 'llmp_smallstream');
$err = last_error($res);
is $err && $err->{code}, 'stream_too_long', 'translated long stream: stream_too_long';
ok stream_text(sse_data($res)) =~ /^w0 /, '... after its first deltas';

# 6. A backend that goes silent mid-stream: 504 backend_timeout, pass-through
#    and translated
for my $m (qw(mock-stall-stream hostile-anthropic-stall)) {
    $t0 = time;
    $res = req($m, module => 'llmp_timeout');
    $err = last_error($res);
    is $err && $err->{code}, 'backend_timeout', "$m: backend_timeout event";
    is $err && $err->{type}, 'api_error', "$m: api_error";
    ok time - $t0 < 4.8, "$m: after the 2 s stall timeout";
}

# 7. A backend that reflects the request's credentials in its stream: the
#    token never reaches the client, in a chunk, an event name or a comment
#    (pass-through) nor in translated text
my $tok = token();
$res = req('hostile-echo-auth');
is $res->{status}, 200, 'echo-auth stream: 200';
ok index($res->{raw}, $tok) < 0, '... the token is not in any byte relayed';
like stream_text(sse_data($res)), qr/your header was: OAuth \[redacted\]/,
    '... it is replaced by [redacted] in the chunk';
like $res->{raw}, qr/^event: x-OAuth-\[redacted\]$/m, '... and in the event name';
like $res->{raw}, qr/^: debug OAuth \[redacted\]$/m, '... and in the comment';
ok $res->{raw} =~ /data: \[DONE\]/, '... and the stream ends well';
$res = req('hostile-anthropic-echo-auth');
ok index($res->{raw}, $tok) < 0, 'translated echo-auth: the token is not relayed';
like stream_text(sse_data($res)), qr/header: OAuth \[redacted\]/,
    '... [redacted] in the translated text';

# 8. An event whose JSON holds invalid UTF-8: not relayed, the error event
#    ends the stream
$res = req('hostile-badutf8');
$err = last_error($res);
is $err && $err->{code}, 'bad_backend_response', 'invalid UTF-8 event: bad_backend_response';
like $err && $err->{message}, qr/UTF-8/, '... that says why';
ok $res->{raw} !~ /\xff\xfe/, '... the bad bytes are not relayed';
ok $res->{raw} !~ /data: \[DONE\]/, '... and no clean end';

# 9. Event data with bytes after its JSON, or a raw control byte in a
#    string: not relayed, the error event ends the stream
for my $m (qw(hostile-trailing hostile-esc)) {
    $res = req($m);
    $err = last_error($res);
    is $err && $err->{code}, 'bad_backend_response', "$m: bad_backend_response";
    ok $res->{raw} !~ /junk|\x1b/, "$m: the bad bytes are not relayed";
    ok $res->{raw} !~ /data: \[DONE\]/, "$m: no clean end";
}
# ... a comment that is not plain text becomes a plain keep-alive, an event
#     name that is not a token is dropped; the events themselves go on
$res = req('hostile-dirty-meta');
ok $res->{raw} !~ /\x1b/, 'dirty comment: no control byte relayed';
like $res->{raw}, qr/^: keep-alive$/m, '... a keep-alive instead';
ok $res->{raw} !~ /bad name/ && $res->{raw} =~ /data: \[DONE\]/,
   '... the bad event name is dropped, the stream ends well';
