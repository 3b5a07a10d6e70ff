# Pools of duplicate entries, passive health, retries, fallbacks and
# per-prefix base URLs (issue 14), through httpd against a mock gateway
# that fails on command (POST /__mock/fault) and counts calls per path
# (GET /__mock/calls). Virtual host llmp_pool (t/conf/extra.conf.in): the
# list t/mock/lists/pool.json, LLMProxyBackoff 3, LLMProxyRetries 2,
# LLMProxyRetryMaxWait 2.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use HTTP::Tiny;
use Time::HiRes qw(time sleep);
use LLMPTest;

my $M = 'llmp_pool';
ok wait_list($M), 'model list loaded';
mock_reset();

my $user = [{ role => 'user', content => 'Say hi' }];
my $A = '/pool-a/v1/chat/completions';
my $B = '/pool-b/v1/chat/completions';

sub calls { my $c = mock_get('/__mock/calls', @_) || {}; $c }
sub ncalls { my ($c, $p) = @_; $c->{$p} // 0 }
sub fault { mock_post('/__mock/fault', { @_ }) }
sub chat {
    my ($model, %o) = @_;
    return post_json('/v1/chat/completions',
                     { model => $model, messages => $user, %{ $o{extra} || {} } },
                     module => $M, headers => $o{headers});
}
sub health {
    my $r = HTTP::Tiny->new(timeout => 10)->get('http://' . hostport_of($M)
                                                . '/health');
    return json_decode($r->{content}) || {};
}
sub in_backoff {
    my $re = shift;
    return grep { $_->{member} =~ $re } @{ health()->{members_in_backoff} || [] };
}
# the lines of this virtual host's access log (attempts, served-by)
my $plog = 't/logs/pool_log';
sub log_lines {
    open my $fh, '<', $plog or return ();
    my @l = <$fh>;
    return @l;
}
# run $code (a request); the log line it left
sub logged {
    my $code = shift;
    my $n = () = log_lines();
    my @ret = $code->();
    for (1 .. 30) {
        my @l = log_lines();
        return ($l[-1], @ret) if @l > $n;
        sleep 0.1;
    }
    return ('', @ret);
}

# ---- /v1/models lists a pool once ----
{
    my $r = HTTP::Tiny->new->get('http://' . hostport_of($M) . '/v1/models');
    my @ids = map { $_->{id} } @{ (json_decode($r->{content}) || {})->{data} || [] };
    is scalar(grep { $_ eq 'pool-gpt' } @ids), 1, '/v1/models lists a pool once';
    is scalar(grep { $_ eq 'pool-all' } @ids), 1, '... a pool of three too';
}

# ---- a pool whose first member answers 503 ----
fault(path => $A, status => 503);
my ($r, $line);
for my $i (1 .. 2) {
    ($line, $r) = logged(sub { chat('pool-gpt') });
    is $r->{status}, 200, "pool with a failing member: request $i served"
        or diag $r->{content};
    last if ncalls(calls(), $A);
}
my $c = calls();
is ncalls($c, $A), 1, 'the failing member was called once';
like $line, qr/^200 .*attempts=2 served=\/pool-b\/v1\/chat\/completions http:/,
     'notes: attempts and served-by name the member that answered';
like $line, qr/ provider=openai handle=\/pool-b\/v1\/chat\/completions backend=200 via=\S+$/,
     '... and the notes of the call are the last call\'s (not the 503\'s)';
my ($m) = in_backoff(qr{pool-gpt .*/pool-a/});
ok $m, '/health lists the member in back-off' or diag explain health();
is $m && $m->{reason}, 'http-503', '... with the reason';
ok !in_backoff(qr{/pool-b/}), '... and not the healthy one';
{
    my $s = HTTP::Tiny->new->get('http://' . hostport_of() . '/server-status?auto');
    like $s->{content}, qr/LLMProxyMembersInBackoff: [1-9]/, 'mod_status counts it'
        if $s->{status} == 200;
    like $s->{content}, qr/LLMProxyBackoff\d+: pool-gpt \S+\/pool-a\/\S+ http-503 1 \d+/,
         '... and lists it' if $s->{status} == 200;
}
{
    # /metrics is mounted at server level: this virtual host serves it too
    my $s = HTTP::Tiny->new(timeout => 10)->get('http://' . hostport_of($M) . '/metrics');
    my ($g) = ($s->{content} // '') =~ /^llmproxy_pool_members_in_backoff (\d+)$/m;
    is $s->{status}, 200, '/metrics on the pool\'s virtual host';
    ok defined $g && $g >= 1, '... llmproxy_pool_members_in_backoff counts the member in back-off'
        or diag $s->{content};
}
# shared by every child: new connections (any child) do not try it
for my $i (1 .. 8) {
    $r = chat('pool-gpt', headers => { Connection => 'close' });
    is $r->{status}, 200, "request $i while in back-off";
}
$c = calls();
is ncalls($c, $A), 1, 'no child tried the member in back-off';
ok ncalls($c, $B) >= 9, '... the other served everything';

# ---- recovery after the back-off (3 s) ----
fault(path => $A);                  # healthy again
sleep 3.3;
for (1 .. 4) {
    $r = chat('pool-gpt');
    is $r->{status}, 200, 'after the back-off: served';
    last if ncalls(calls(), $A) >= 2;
}
is ncalls(calls(), $A), 2, 'the member is tried again after its back-off';
ok !in_backoff(qr{pool-gpt .*/pool-a/}), '... and leaves back-off on success';

# ---- a stream that breaks before its first event is retried ----
my $S1 = '/pool-s1/v1/chat/completions';
my $S2 = '/pool-s2/v1/chat/completions';
# (on one member: the retry goes to the other; round robin makes the
# first or the second request call it)
fault(path => $S1, mode => 'empty-stream', times => 1);
my ($s, @d);
for my $i (1 .. 2) {
    my $before = calls();
    $s = stream_raw('/v1/chat/completions',
                    { model => 'pool-stream', messages => $user,
                      stream => JSON::PP::true() }, module => $M);
    $c = calls();
    next unless ncalls($c, $S1) > ncalls($before, $S1);
    is $s->{status}, 200, 'stream broken before its first event: retried, 200';
    @d = sse_data($s);
    is $d[-1], '[DONE]', '... a whole stream';
    ok !grep({ ref $_ && $_->{error} } @d), '... without an error event';
    is ncalls($c, $S1) + ncalls($c, $S2) - ncalls($before, $S1)
       - ncalls($before, $S2), 2, '... two backend calls';
    last;
}
is ncalls(calls(), $S1), 1, 'the broken member was called';

# ---- one that breaks after its third event is not ----
fault(path => $S1);
fault(path => $S2);
sleep 3.3;                          # out of back-off: either member
fault(path => $S1, mode => 'drop-after', n => 3, times => 1);
fault(path => $S2, mode => 'drop-after', n => 3, times => 1);
my $before = calls();
$s = stream_raw('/v1/chat/completions',
                { model => 'pool-stream', messages => [{ role => 'user',
                  content => 'one two three four five six' }],
                  stream => JSON::PP::true() },
                module => $M);
is $s->{status}, 200, 'stream broken after three events: 200 (started)';
@d = sse_data($s);
ok scalar(grep { ref $_ && $_->{choices} } @d) >= 3, '... its three events relayed';
ok ref $d[-1] && $d[-1]{error}, '... then the error event' or diag $s->{raw};
$c = calls();
is ncalls($c, $S1) + ncalls($c, $S2) - ncalls($before, $S1) - ncalls($before, $S2),
   1, '... and no retry (one backend call)';
fault(path => $S1);
fault(path => $S2);

# ---- 400 is never retried ----
my $C1 = '/pool-c1/v1/chat/completions';
my $C2 = '/pool-c2/v1/chat/completions';
fault(path => $C1, status => 400, times => 1);
fault(path => $C2, status => 400, times => 1);
$r = chat('pool-bad');
is $r->{status}, 400, '400 from a member: relayed';
$c = calls();
is ncalls($c, $C1) + ncalls($c, $C2), 1, '... not retried';
ok !in_backoff(qr{pool-bad}), '... and no back-off';
fault(path => $C1);
fault(path => $C2);

# ---- with the client's own credential forwarded (LLMProxyForwardClientAuth
# on, no token), a 429 is about that credential: not retried on the other
# member, no back-off for everyone ----
{
    ok wait_list('llmp_pool_fwd'), 'the forwarding virtual host has its list';
    my $b4 = calls();
    fault(path => $C1, status => 429, times => 1);
    fault(path => $C2, status => 429, times => 1);
    my $q = post_json('/v1/chat/completions',
                      { model => 'pool-bad', messages => $user },
                      module => 'llmp_pool_fwd',
                      headers => { Authorization => 'OAuth ' . token() });
    is $q->{status}, 429, 'client credential forwarded: its 429 relayed';
    my $c2 = calls();
    is ncalls($c2, $C1) + ncalls($c2, $C2) - ncalls($b4, $C1)
       - ncalls($b4, $C2), 1, '... not retried on the other member';
    ok !in_backoff(qr{pool-bad}), '... and no member put in back-off';
    fault(path => $C1);
    fault(path => $C2);
}

# ---- fallback: an Anthropic model to an OpenAI-compatible one ----
my $CL = '/anthropic/pool/v1/messages';
my $FB = '/pool-fb/v1/chat/completions';
fault(path => $CL, status => 529);
($line, $r) = logged(sub { chat('pool-claude') });
is $r->{status}, 200, 'fallback: the Anthropic model fails (529), the alternative answers'
    or diag $r->{content};
is $r->{json}{model}, 'pool-gpt-fb', '... the answer names the model that served it';
is $r->{json}{object}, 'chat.completion', '... a chat completion';
my $sent = last_request(qr{^\Q$CL\E$});
my $nat = json_decode($sent ? $sent->{body} : '{}');
is $nat->{model}, 'pool-claude', 'the Anthropic member got its own model ...';
ok defined $nat->{max_tokens} && $sent->{headers}{'anthropic-version'},
   '... in Anthropic\'s shape';
$sent = last_request(qr{^\Q$FB\E$});
$nat = json_decode($sent ? $sent->{body} : '{}');
is $nat->{model}, 'pool-gpt-fb', 'the fallback got its own model name ...';
is $nat->{messages}[0]{content}, 'Say hi', '... and the OpenAI-shaped request';
like $line, qr/attempts=2 served=\/pool-fb\//,
     '... two attempts, served by the fallback';
like $line, qr/ provider=openai handle=\/pool-fb\/v1\/chat\/completions backend=200 /,
     '... its notes name the fallback\'s provider, handle and status';

# the same through /v1/messages: the answer in Anthropic's shape
$r = post_json('/v1/messages', { model => 'pool-claude', max_tokens => 50,
                                 messages => $user },
               module => $M, headers => { 'anthropic-version' => '2023-06-01' });
is $r->{status}, 200, '/v1/messages falls back too' or diag $r->{content};
is $r->{json}{type}, 'message', '... a Messages answer';
is $r->{json}{model}, 'pool-gpt-fb', '... naming the fallback';
# and through /v1/responses
$r = post_json('/v1/responses', { model => 'pool-claude', input => 'Say hi' },
               module => $M);
is $r->{status}, 200, '/v1/responses falls back too' or diag $r->{content};
is $r->{json}{object}, 'response', '... a Response';
is $r->{json}{model}, 'pool-gpt-fb', '... naming the fallback';
fault(path => $CL);

# ---- Retry-After honoured within the cap (a pool of one) ----
my $ONE = '/pool-one/v1/chat/completions';
# (LLMProxyLimit's count before: a request that is not retried)
$r = chat('pool-one');
my $left = $r->{headers}{'x-ratelimit-remaining-requests'};
ok defined $left, 'the limit\'s headers are there';
my $one_before = ncalls(calls(), $ONE);
fault(path => $ONE, status => 429, retry_after => '1', times => 1);
my $t0 = time;
$r = chat('pool-one');
my $dt = time - $t0;
is $r->{status}, 200, 'Retry-After: 1 within the 2 s cap: waited and retried';
ok $dt >= 0.9, "... after the wait ($dt s)";
is ncalls(calls(), $ONE) - $one_before, 2, '... two calls';
# the limits count the request once, not once per backend call
is $r->{headers}{'x-ratelimit-remaining-requests'}, ($left // 0) - 1,
   '... counted once by LLMProxyLimit (one fewer left, not two)';
fault(path => $ONE, status => 429, retry_after => '30', times => 1);
$t0 = time;
$r = chat('pool-one');
$dt = time - $t0;
is $r->{status}, 429, 'Retry-After: 30 beyond the cap: the 429 relayed';
ok $dt < 5, "... at once ($dt s)";
is ncalls(calls(), $ONE) - $one_before, 3, '... one call';

# ---- LLMProxyBackendURL: a prefix on the second mock, its own token ----
my $M2 = $ENV{LLMP_MOCK2_PORT};
# (t/05_timeouts.t stops the second mock: start one of ours on its port,
# stopped at the end)
my $own_mock;
unless (mock_get('/__mock/stats', $M2)) {
    $own_mock = fork // die "fork: $!";
    if (!$own_mock) {
        open STDOUT, '>>', 't/logs/mock2.log';
        open STDERR, '>&', \*STDOUT;
        exec 'python3', 't/mock/upstream.py', '--port', $M2,
             '--token', token() or exit 1;
    }
    for (1 .. 50) { last if mock_get('/__mock/stats', $M2); sleep 0.1 }
}
END { if ($own_mock) { local $?; kill 'TERM', $own_mock; waitpid $own_mock, 0 } }
mock_post('/__mock/reset', undef, $M2);
mock_post('/__mock/accept-token', { token => 'pool-remote-token-7Q' }, $M2);
($line, $r) = logged(sub { chat('pool-remote') });
is $r->{status}, 200, 'LLMProxyBackendURL: served' or diag $r->{content};
my @on2 = grep { $_->{path} eq '/base/remote/v1/chat/completions' }
          @{ mock_get('/__mock/requests', $M2) || [] };
is scalar(@on2), 1, '... by the second mock, at URL + handle';
is $on2[0] && $on2[0]{headers}{authorization}, 'OAuth pool-remote-token-7Q',
   '... with the prefix\'s own token';
ok !ncalls(calls(), '/remote/v1/chat/completions'), '... not by the list\'s host';
like $line, qr{served=/remote/v1/chat/completions http://127\.0\.0\.1:$M2/base},
     'served-by names the base URL';

# ---- a backend that fails everything: no amplification ----
my @X = map { "/pool-x$_/v1/chat/completions" } 1 .. 4;
fault(path => $_, status => 503) for @X;
$before = calls();
$r = chat('pool-all');
is $r->{status}, 503, 'everything fails: the last 503 relayed';
$c = calls();
my $n = 0;
$n += ncalls($c, $_) - ncalls($before, $_) for @X;
is $n, 3, '... after LLMProxyRetries + 1 = 3 calls';
for my $i (1 .. 4) {
    $before = $c;
    $r = chat('pool-all');
    $c = calls();
    $n = 0;
    $n += ncalls($c, $_) - ncalls($before, $_) for @X;
    ok $n >= 1 && $n <= 3, "request $i: $n calls (at most 3)";
}
fault(path => $_) for @X;

# ---- the token is never logged ----
{
    my $el = 't/logs/error_log';
    open my $fh, '<', $el or die "$el: $!";
    local $/;
    my $all = <$fh>;
    unlike $all, qr/pool-remote-token-7Q/, 'the prefix token is in no log line';
    like $all, qr/retry 1 of model 'pool-gpt': \/pool-a\/v1\/chat\/completions failed \(http-503\)/,
         'a debug line per retry, with its reason';
}

# ---- directives: mistakes are configtest errors ----
{
    require File::Temp;
    my $cfg = Apache::Test::config();
    my $moddir = `$cfg->{vars}{apxs} -q LIBEXECDIR`;
    chomp $moddir;
    my $dir = File::Temp::tempdir(CLEANUP => 1);
    my $configtest = sub {
        open my $fh, '>', "$dir/httpd.conf" or die $!;
        print $fh qq{ServerRoot "$dir"\nPidFile "$dir/httpd.pid"\n}
            . qq{ErrorLog "$dir/error_log"\nListen 127.0.0.1:1\n}
            . qq{LoadModule mpm_event_module "$moddir/mod_mpm_event.so"\n}
            . qq{LoadModule authz_core_module "$moddir/mod_authz_core.so"\n}
            . qq{LoadModule llmproxy_module "$ENV{LLMP_SO}"\n}
            . "LLMProxyModelListURL https://gw.example/models\n$_[0]\n";
        close $fh;
        my $out = `$cfg->{vars}{httpd} -t -f $dir/httpd.conf 2>&1`;
        return ($? >> 8, $out);
    };
    my ($rc, $out) = $configtest->(join "\n", 'LLMProxyBackoff 10',
        'LLMProxyRetries 0', 'LLMProxyRetryMaxWait 0.5',
        'LLMProxyFallback a b c', 'LLMProxyBackendURL /x/ https://h.example:8443/base/',
        'LLMProxyBackendToken /x/ tok', 'LLMProxyBackendToken /y/ none');
    is $rc, 0, 'configtest: every directive' or diag $out;
    for ([ 'LLMProxyRetries 11', qr/LLMProxyRetries/ ],
         [ 'LLMProxyBackoff -1', qr/LLMProxyBackoff/ ],
         [ 'LLMProxyRetryMaxWait 61', qr/LLMProxyRetryMaxWait/ ],
         [ 'LLMProxyFallback a', qr/LLMProxyFallback/ ],
         [ 'LLMProxyFallback a a', qr/itself/ ],
         [ 'LLMProxyBackendURL /x/ ftp://h.example', qr/LLMProxyBackendURL/ ],
         [ 'LLMProxyBackendURL /x/ https://u:p@h.example', qr/no credentials/ ],
         [ 'LLMProxyBackendURL //evil/ https://h.example', qr/plain path/ ],
         [ 'LLMProxyBackendURL x/ https://h.example', qr/plain path/ ]) {
        ($rc, $out) = $configtest->($_->[0]);
        isnt $rc, 0, "configtest refuses '$_->[0]'";
        like $out, $_->[1], '... and says why';
    }
}

done_testing();
