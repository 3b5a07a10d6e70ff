# A hostile backend (t/mock/providers/hostile.py): what it answers never
# reaches the client as it is, whichever transport made the call. The main
# server calls through mod_proxy_http (make test) or libcurl (make
# test-worker); llmp_curlfb always through libcurl.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;
use MIME::Base64 ();
use Time::HiRes qw(time);

plan tests => 155;

my $via = ($ENV{LLMP_MODPROXY} || 'On') =~ /^on$/i ? 'mod_proxy' : 'libcurl';
my $tok = token();

sub chat {
    my ($model, %opt) = @_;
    my $module = delete $opt{module};
    return post_json('/v1/chat/completions',
        { model => $model, messages => [{ role => 'user', content => 'x' }],
          %opt }, module => $module);
}

# An OpenAI-shaped error whose body is printable ASCII only
sub clean_err {
    my ($r, $status, $code, $name) = @_;
    is $r->{status}, $status, "$name: status $status";
    my $e = $r->{json} && $r->{json}{error};
    ok $e && defined $e->{message} && defined $e->{type}
       && exists $e->{param} && exists $e->{code}, "$name: OpenAI error shape";
    is $e && $e->{code}, $code, "$name: code" if defined $code;
    like $r->{content}, qr/^[\x20-\x7e]*\z/, "$name: printable ASCII only";
    ok index($r->{content}, $tok) < 0, "$name: no token";
}

for my $module (undef, 'llmp_curlfb') {
    my $t = $module ? 'libcurl' : $via;
    ok wait_list($module), "$t: list loaded";

    # 2xx bodies that are not valid JSON: 502 bad_backend_response
    for my $m (qw(mock-h-nul mock-h-badutf8 mock-h-truncated mock-h-deep
                   mock-h-trailing mock-h-esc)) {
        clean_err(chat($m, module => $module), 502, 'bad_backend_response',
                  "$t: $m");
    }
    # the envelope is unwrapped whenever the body parses
    my $r = chat('mock-h-envelope', module => $module);
    is $r->{status}, 200, "$t: envelope with an escaped key";
    is $r->{json}{choices}[0]{message}{content}, 'unwrapped',
       "$t: envelope unwrapped";

    # An HTML error page: an OpenAI error with the backend's status and a
    # short printable excerpt
    $r = chat('mock-h-html-500', module => $module);
    clean_err($r, 500, 'backend_http_error', "$t: HTML 500");
    like $r->{json}{error}{message}, qr/HTTP 500.*Internal Server Error/,
         "$t: HTML 500: the excerpt says what it was";
    ok length($r->{json}{error}{message} // "") < 400, "$t: HTML 500: short excerpt";
    # ... and from a translated provider's backend (Anthropic here)
    $r = chat('mock-h-anthropic-html', module => $module);
    clean_err($r, 500, undef, "$t: HTML 500 from a translated backend");
    like $r->{json}{error}{message}, qr/HTTP 500.*Internal Server Error/,
         "$t: HTML 500 from a translated backend: the excerpt";
    # ... for a stream request too (the backend never started a stream)
    clean_err(chat('mock-h-html-500', stream => JSON::PP::true,
                   module => $module),
              500, 'backend_http_error', "$t: HTML 500 to a stream request");

    # Statuses that are not HTTP answers
    clean_err(chat('mock-h-status-600', module => $module), 502,
              'bad_backend_response', "$t: status 600");
    $r = chat('mock-h-status-101', module => $module);
    clean_err($r, 502, undef, "$t: final 101");
    unlike $r->{content}, qr/SECRET-RAW-BYTES/, "$t: final 101: no backend bytes";

    # The token never reaches the client, even reflected by the backend
    $r = chat('mock-h-echo-auth', module => $module);
    is $r->{status}, 200, "$t: echo 200";
    ok index($r->{content}, $tok) < 0, "$t: echo 200: token scrubbed";
    like $r->{json}{choices}[0]{message}{content}, qr/\[redacted\]/,
         "$t: echo 200: [redacted] in its place";
    is $r->{headers}{'content-length'}, length($r->{content}),
       "$t: echo 200: Content-Length fixed up";
    ok index($r->{headers}{'content-type'} // '', $tok) < 0,
       "$t: echo 200: token scrubbed from the Content-Type relayed";
    $r = chat('mock-h-echo-auth', module => $module,
              stream => JSON::PP::true);
    ok index($r->{content}, $tok) < 0,
       "$t: echo 200 replayed as a stream: token scrubbed";
    $r = chat('mock-h-echo-auth-500', module => $module);
    is $r->{status}, 500, "$t: echo 500 passed through";
    ok index($r->{content}, $tok) < 0, "$t: echo 500: token scrubbed";
    like $r->{json}{error}{message}, qr/\[redacted\]/,
         "$t: echo 500: [redacted] in its place";

    # encoding_format base64 on a pass-through backend that answers floats
    $r = post_json('/v1/embeddings', { model => 'text-embedding-3-small',
        input => ['a', 'b'], encoding_format => 'base64' },
        module => $module);
    is $r->{status}, 200, "$t: base64 embeddings";
    my $d = $r->{json}{data} || [];
    is scalar @$d, 2, "$t: base64: two vectors";
    ok !ref $d->[1]{embedding}, "$t: base64: a string, not an array";
    is_deeply [unpack 'f<*', MIME::Base64::decode_base64($d->[1]{embedding} // '')],
              [0.5, -0.25], "$t: base64: little-endian float32";
    $r = post_json('/v1/embeddings', { model => 'text-embedding-3-small',
        input => 'a' }, module => $module);
    is_deeply $r->{json}{data}[0]{embedding}, [0.5, -0.25],
              "$t: floats when not asked for base64";
}

# LLMProxyForwardClientAuth: the client's credentials reflected by the
# backend are scrubbed too
ok wait_list('llmp_fwd'), 'llmp_fwd list loaded';
my $r = post_json('/v1/chat/completions',
    { model => 'mock-h-echo-auth', messages => [{ role => 'user', content => 'x' }] },
    module => 'llmp_fwd', headers => { Authorization => "OAuth $tok" });
is $r->{status}, 200, 'forwarded credentials: echo 200';
ok index($r->{content}, $tok) < 0, 'forwarded credentials: scrubbed';

# A backend that stops mid-body for longer than LLMProxyTimeout: 504
# whichever transport made the call
ok wait_list('llmp_timeout'), 'llmp_timeout list loaded';
my $t0 = time;
$r = chat('mock-h-stall-body', module => 'llmp_timeout');
is $r->{status}, 504, "$via: stall mid-body: 504";
is $r->{json} && $r->{json}{error}{code}, 'backend_timeout',
   "$via: stall mid-body: backend_timeout";
ok time - $t0 < 4.8, "$via: stall mid-body: after about the timeout";
