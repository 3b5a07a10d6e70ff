# Stored responses (LLMProxyResponseStore, LLMProxyResponseStoreTTL):
# GET /v1/responses/{id}, previous_response_id, store:false, expiry, no
# store, a record too large for the cache; and the Responses-native
# pass-through (a model whose handle ends with /responses).
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;
use Time::HiRes qw(sleep);
use IO::Socket::INET;

plan tests => 111;

my $T = JSON::PP::true;
my $F = JSON::PP::false;

ok wait_list(), 'model list loaded';
ok wait_list($_), "$_: model list loaded"
    for qw(llmp_rstore_ttl llmp_rstore_none llmp_rstore_small);

sub get_resp {
    my ($id, %opt) = @_;
    return post_json("/v1/responses/$id", '', method => 'GET', %opt);
}

sub out_text {
    my $j = shift;
    return join '', map { $_->{type} eq 'message'
                          ? (map { $_->{text} // '' } @{ $_->{content} }) : ()
                        } @{ ($j || {})->{output} || [] };
}

# ---- a stored response, fetched ----
mock_reset();
my $r = post_json('/v1/responses', { model => 'gpt-4o-mini',
                                     input => 'first' });
is $r->{status}, 200, 'translated call: 200';
my $id1 = $r->{json}{id} // '';
like $id1, qr/^resp_[A-Za-z0-9_-]+$/, '... a response id of ours';
$r = get_resp($id1);
is $r->{status}, 200, 'GET /v1/responses/{id}: 200';
is $r->{json}{id}, $id1, '... the response';
is $r->{json}{object}, 'response', '... a response object';
is $r->{json}{status}, 'completed', '... completed';
is out_text($r->{json}), 'echo: first', '... with its output';
# the store is shared with the virtual hosts that do not name their own
is get_resp($id1, module => 'llmp_rstore_ttl')->{status}, 200,
   'a host that inherits the store sees it';
is get_resp($id1, module => 'llmp_rstore_none')->{status}, 404,
   'a host without a store does not';

# ---- previous_response_id continues the conversation ----
mock_reset();
$r = post_json('/v1/responses', { model => 'gpt-4o-mini', input => 'second',
                                  previous_response_id => $id1 });
is $r->{status}, 200, 'previous_response_id: 200';
is out_text($r->{json}), 'echo: second', '... the answer';
is $r->{json}{previous_response_id}, $id1, '... names the previous one';
my $id2 = $r->{json}{id};
my $sent = json_decode((last_request(qr{/openai/v1/chat/completions})
                        || {})->{body} || '{}');
my @msgs = @{ $sent->{messages} || [] };
is scalar @msgs, 3, 'the backend got the earlier turns';
is_deeply [map { $_->{role} } @msgs], [qw(user assistant user)],
    '... user, assistant, user';
like json_encode($msgs[0]), qr/first/, '... the first question';
like json_encode($msgs[1]), qr/echo: first/, '... the first answer';
# and a third turn sees both earlier ones
mock_reset();
$r = post_json('/v1/responses', { model => 'gpt-4o-mini', input => 'third',
                                  previous_response_id => $id2 });
is $r->{status}, 200, 'a third turn';
$sent = json_decode((last_request(qr{/openai/v1/chat/completions})
                     || {})->{body} || '{}');
is scalar @{ $sent->{messages} || [] }, 5, '... all earlier turns sent';

# a stream is stored too (once it completed)
my $s = stream_raw('/v1/responses', { model => 'gpt-4o-mini', stream => $T,
                                      input => 'streamed' });
my ($done) = grep { ref $_ && ($_->{type} // '') eq 'response.completed' }
             sse_data($s);
my $sid = $done ? $done->{response}{id} : 'none';
$r = get_resp($sid);
is $r->{status}, 200, 'a streamed response is stored';
is out_text($r->{json}), 'echo: streamed', '... with its output';

# ---- the owner of a stored response ----
# with Apache's authentication: the user's; another user sees none
use MIME::Base64 qw(encode_base64);
my %alice = (module => 'llmp_rstore_auth', headers => { Authorization =>
    'Basic ' . encode_base64('alice:alice-pw-throwaway', '') });
my %bob = (module => 'llmp_rstore_auth', headers => { Authorization =>
    'Basic ' . encode_base64('bob:bob-pw-throwaway', '') });
$r = post_json('/v1/responses', { model => 'gpt-4o-mini', input => 'mine' },
               %alice);
is $r->{status}, 200, 'authenticated user: 200';
my $ida = $r->{json}{id} // 'resp_x';
is get_resp($ida, %alice)->{status}, 200, '... the user gets it back';
$r = get_resp($ida, %bob);
is $r->{status}, 404, '... another user: 404';
is $r->{json}{error}{code}, 'response_not_found', '... as for an unknown id';
is get_resp($ida)->{status}, 404, '... no credential: 404';
$r = post_json('/v1/responses', { model => 'gpt-4o-mini', input => 'x',
                                  previous_response_id => $ida }, %bob);
is $r->{status}, 404, '... another user cannot continue it';
is post_json("/v1/responses/$ida", '', method => 'DELETE', %bob)->{status},
   404, '... nor delete it';
is get_resp($ida, %alice)->{status}, 200, '... still there for its user';
$r = post_json('/v1/responses', { model => 'gpt-4o-mini', input => 'x',
                                  previous_response_id => $ida }, %alice);
is $r->{status}, 200, '... who continues it';
# without Apache's authentication: the client's credential (hashed)
my %k1 = (headers => { Authorization => 'Bearer sk-client-one-0001' });
my %k2 = (headers => { Authorization => 'Bearer sk-client-two-0002' });
$r = post_json('/v1/responses', { model => 'gpt-4o-mini', input => 'k1' },
               %k1);
my $idk = $r->{json}{id} // 'resp_x';
is get_resp($idk, %k1)->{status}, 200, 'bearer token: its client gets it';
is get_resp($idk, %k2)->{status}, 404, '... another token: 404';
is get_resp($idk)->{status}, 404, '... no token: 404';
is get_resp($idk, headers => { 'x-api-key' => 'sk-client-one-0001' })
   ->{status}, 404, '... the same secret in another header: 404';
is post_json("/v1/responses/$idk", '', method => 'DELETE', %k2)->{status},
   404, '... another token cannot delete it';
is post_json("/v1/responses/$idk", '', method => 'DELETE', %k1)->{status},
   200, '... its own can';

# ---- a streamed response is stored before its end reaches the client ----
# (the GET goes on a connection opened beforehand, the moment the event
# name response.completed arrives: a store after the flush loses the race)
{
    my ($hp) = hostport_of();
    my $big = 'w' x 300000;       # a large record: slower to keep
    my ($ok, $n) = (0, 6);
    for my $i (1 .. $n) {
        my $s = IO::Socket::INET->new(PeerAddr => $hp, Timeout => 10);
        my $g = IO::Socket::INET->new(PeerAddr => $hp, Timeout => 10);
        last unless $s && $g;
        my $b = json_encode({ model => 'gpt-4o-mini', stream => $T,
                              input => "race $i $big" });
        print $s "POST /v1/responses HTTP/1.1\r\nHost: $hp\r\n"
               . "Content-Type: application/json\r\nContent-Length: "
               . length($b) . "\r\nConnection: close\r\n\r\n$b";
        my ($head, $id, $tail) = ('', undef, '');
        while (sysread($s, my $buf, 65536)) {
            if (!defined $id) {
                $head .= $buf;
                ($id) = $head =~ /"id":"(resp_[A-Za-z0-9_-]+)"/;
            }
            # only the new bytes (and a few before) are looked at
            $tail = substr($tail, -40) . $buf;
            last if defined $id && index($tail, 'event: response.completed') >= 0;
        }
        next unless defined $id;
        print $g "GET /v1/responses/$id HTTP/1.1\r\nHost: $hp\r\n"
               . "Connection: close\r\n\r\n";
        my $ans = '';
        while (sysread($g, my $buf, 65536)) { $ans .= $buf }
        $ok++ if $ans =~ m{^HTTP/1\.1 200 };
        close $s;
        close $g;
    }
    is $ok, $n, "GET right after response.completed finds it ($n times)";
}

# ---- store: false ----
$r = post_json('/v1/responses', { model => 'gpt-4o-mini', input => 'x',
                                  store => $F });
is $r->{status}, 200, 'store:false: 200';
is $r->{json}{store}, $F, '... says so';
is get_resp($r->{json}{id} // 'resp_x')->{status}, 404, '... nothing kept';

# ---- unknown ids ----
for my $bad ('resp_0123456789abcdef01234567', 'resp_nope', 'abc',
             'resp_' . ('a' x 200)) {
    $r = get_resp($bad);
    is $r->{status}, 404, "unknown id '" . substr($bad, 0, 20) . "': 404";
}
is $r->{json}{error}{type}, 'invalid_request_error', '... an OpenAI error';
$r = post_json('/v1/responses', { model => 'gpt-4o-mini', input => 'x',
    previous_response_id => 'resp_0123456789abcdef01234567' });
is $r->{status}, 404, 'previous_response_id unknown: 404';
is $r->{json}{error}{param}, 'previous_response_id', '... naming it';

# ---- expiry (LLMProxyResponseStoreTTL 2) ----
$r = post_json('/v1/responses', { model => 'gpt-4o-mini', input => 'brief' },
               module => 'llmp_rstore_ttl');
my $idt = $r->{json}{id} // 'resp_x';
is get_resp($idt, module => 'llmp_rstore_ttl')->{status}, 200,
   'TTL 2: there at once';
sleep 3.2;
is get_resp($idt, module => 'llmp_rstore_ttl')->{status}, 404,
   '... gone after 3 s';
$r = post_json('/v1/responses', { model => 'gpt-4o-mini', input => 'again',
    previous_response_id => $idt }, module => 'llmp_rstore_ttl');
is $r->{status}, 404, '... and previous_response_id to it is a 404';

# ---- LLMProxyResponseStore none ----
$r = post_json('/v1/responses', { model => 'gpt-4o-mini', input => 'x' },
               module => 'llmp_rstore_none');
is $r->{status}, 200, 'no store: the call works';
my $idn = $r->{json}{id} // 'resp_x';
is get_resp($idn, module => 'llmp_rstore_none')->{status}, 404,
   '... nothing kept';
$r = post_json('/v1/responses', { model => 'gpt-4o-mini', input => 'x',
    previous_response_id => $idn }, module => 'llmp_rstore_none');
is $r->{status}, 404, '... previous_response_id: 404';

# ---- a record larger than the cache takes (a 128K shmcb) ----
$r = post_json('/v1/responses', { model => 'gpt-4o-mini', input => 'small' },
               module => 'llmp_rstore_small');
is get_resp($r->{json}{id} // 'resp_x', module => 'llmp_rstore_small')
   ->{status}, 200, 'small cache: a small record is kept';
my $big = 'z' x 200_000;
$r = post_json('/v1/responses', { model => 'gpt-4o-mini', input => $big },
               module => 'llmp_rstore_small');
is $r->{status}, 200, 'a record too large for the cache: the call works';
is length(out_text($r->{json})), 6 + 200_000, '... the whole answer';
is get_resp($r->{json}{id} // 'resp_x', module => 'llmp_rstore_small')
   ->{status}, 404, '... it is not kept';
my $log = do { local $/; open my $fh, '<', 't/logs/error_log'; <$fh> };
ok $log =~ /\[llmproxy:info\].*is larger than the response store \(shmcb\)/,
   '... which the log says (at info)';
sleep 1;   # the access log is written after the answer
my @acc = do { open my $fh, '<', 't/logs/llmproxy_log'; <$fh> };
ok scalar(grep { /^200 responses model=gpt-4o-mini .*rstore=too-large / }
          @acc), '%{llmproxy-rstore}n: too-large';
ok scalar(grep { /^200 responses model=gpt-4o-mini .*rstore=stored / } @acc),
   '... and stored';

# ---- Responses-native backends: the body passed through ----
mock_reset();
my $body = qq({"model": "gpt-5-resp",\n  "input":"hello there" ,)
         . qq("metadata":{"k":"v\\u00e9"},"tools":[{"type":"web_search"}]});
$r = post_json('/v1/responses', $body);
is $r->{status}, 200, 'native: 200';
is $r->{json}{object}, 'response', '... the backend\'s response';
is out_text($r->{json}), 'echo: hello there', '... its output';
like $r->{json}{id}, qr/^resp_mock/, '... its id';
my $req = last_request(qr{/openai/v1/responses$});
is $req && $req->{body}, $body, '... the request body forwarded byte for byte';
is $req && $req->{headers}{authorization}, 'OAuth ' . token(),
   '... with the gateway token';
$r = post_json('/v1/chat/completions', { model => 'gpt-5-resp',
    messages => [{ role => 'user', content => 'hi' }] });
is $r->{status}, 400, 'native model on chat completions: 400';
is $r->{json}{error}{code}, 'wrong_endpoint', '... wrong_endpoint';
like $r->{json}{error}{message}, qr{/v1/responses}, '... naming /v1/responses';
$r = post_json('/v1/embeddings', { model => 'gpt-5-resp', input => 'x' });
is $r->{json}{error}{code}, 'wrong_endpoint', '... and on embeddings';
# the backend's refusal relayed
$r = post_json('/v1/responses', { model => 'gpt-5-resp', input => 'x',
                                  bogus => 1 });
is $r->{status}, 400, 'native: the backend\'s 400';
is $r->{json}{error}{code}, 'unknown_parameter', '... as it said';
$r = post_json('/v1/responses', { model => 'mock-responses-error',
                                  input => 'x' });
is $r->{status}, 429, 'native: the backend\'s 429';
is $r->{json}{error}{code}, 'rate_limit_exceeded', '... its error';
$s = stream_raw('/v1/responses', { model => 'mock-responses-error',
                                   input => 'x', stream => $T });
is $s->{status}, 429, 'native stream: the backend\'s 429 before any event';

# a stream: named events relayed as they come, response.completed last
mock_reset();
$body = qq({"model":"mock-responses-slow","stream":true,"input":"a b c"});
$s = stream_raw('/v1/responses', $body);
is $s->{status}, 200, 'native stream: 200';
$req = last_request(qr{/openai/v1/responses$});
is $req && $req->{body}, $body, '... the request forwarded byte for byte';
my @ev = sse_data($s);
my @names = $s->{raw} =~ /^event: (\S+)/mg;
is scalar @names, scalar @ev, '... every event named';
is_deeply [map { ref $_ ? $_->{type} : $_ } @ev], \@names,
    '... by its type';
is $names[0], 'response.created', '... response.created first';
is $names[-1], 'response.completed', '... response.completed last';
ok !(grep { !ref $_ } @ev), '... no [DONE]';
is join('', map { $_->{delta} } grep { $_->{type} =~ /text\.delta$/ } @ev),
   'echo: a b c', '... the text';
my @seq = map { $_->{sequence_number} } @ev;
is_deeply \@seq, [0 .. $#seq], '... sequence numbers as sent';
my @t = map { $_->[0] } @{ $s->{events} };
ok $t[-1] - $t[0] > 1.5, '... each event when it came';

# cut before response.completed: error, then response.failed
for my $m (qw(mock-responses-cut mock-responses-reset)) {
    $s = stream_raw('/v1/responses', { model => $m, stream => $T,
                                       input => 'a b' });
    @ev = sse_data($s);
    @names = $s->{raw} =~ /^event: (\S+)/mg;
    is_deeply [@names[-2, -1]], ['error', 'response.failed'],
        "$m: ends with error, response.failed";
    is $ev[-2]{type}, 'error', '... an error event';
    like $ev[-2]{code} // '', qr/^(stream_truncated|backend_error)$/,
         '... saying why';
    is $ev[-1]{response}{status}, 'failed', '... a failed response';
    is $ev[-1]{response}{id}, $ev[0]{response}{id}, '... the one created';
    is $ev[-1]{sequence_number}, $ev[-2]{sequence_number} + 1,
       '... numbered on';
}

# a backend that reflects the gateway's token in response.created, then
# cuts the stream: no event shows it, response.failed (made of
# response.created) neither
$s = stream_raw('/v1/responses', { model => 'mock-responses-cut',
                                   stream => $T, input => 'reflect_auth' });
@names = $s->{raw} =~ /^event: (\S+)/mg;
is $names[-1], 'response.failed', 'reflected token: ends with response.failed';
ok index($s->{raw}, token()) < 0, '... no event holds the gateway token';
like $s->{raw}, qr/"instructions":"OAuth /, '... it was reflected (redacted)';

# cut before any response.created: response.failed still carries a whole
# Response (the fields the schema requires, from the request)
$s = stream_raw('/v1/responses', { model => 'mock-responses-cut',
    stream => $T, input => 'no_created', instructions => 'Be brief.',
    temperature => 0.5, metadata => { k => 'v' } });
@ev = sse_data($s);
@names = $s->{raw} =~ /^event: (\S+)/mg;
is $names[-1], 'response.failed', 'no response.created: response.failed';
my $fr = ref $ev[-1] ? $ev[-1]{response} || {} : {};
ok !(grep { !exists $fr->{$_} } qw(id object created_at status error
    incomplete_details instructions model output parallel_tool_calls
    metadata tools tool_choice temperature top_p)),
   '... with the fields a Response requires';
is_deeply [@$fr{qw(instructions temperature status)}],
   ['Be brief.', 0.5, 'failed'], '... from the request';
is_deeply $fr->{metadata}, { k => 'v' }, '... its metadata';

# a response.completed that cannot be relayed (a raw control byte): the
# client still gets an end, error then response.failed
$s = stream_raw('/v1/responses', { model => 'gpt-5-resp', stream => $T,
                                   input => 'esc_completed' });
@names = $s->{raw} =~ /^event: (\S+)/mg;
is_deeply [@names[-2, -1]], ['error', 'response.failed'],
    'bad response.completed: ends with error, response.failed';
ok index($s->{raw}, "\x1b") < 0, '... the bad event not relayed';

# the backend's own failure: relayed, nothing added
$s = stream_raw('/v1/responses', { model => 'mock-responses-failed',
                                   stream => $T, input => 'a' });
@names = $s->{raw} =~ /^event: (\S+)/mg;
is scalar(grep { $_ eq 'error' } @names), 1, 'backend failure: one error';
is $names[-1], 'response.failed', '... then its response.failed, last';
