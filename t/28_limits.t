# Rate limits and budgets (LLMProxyLimit, LLMProxyLimitStore,
# LLMProxyLimitStoreFailure, LLMProxyLimitStateFile): requests a minute,
# an <If> override for one user, 100 requests in parallel, token and cost
# budgets, the headers and error shapes of OpenAI and Anthropic, Redis
# shared by two httpd servers, Redis stopped (open and closed), counters
# across a graceful restart and (shm + state file) a stop and start.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;
use HTTP::Tiny;
use MIME::Base64 qw(encode_base64);
use Time::HiRes qw(sleep time);
use POSIX qw(WNOHANG);
use File::Path qw(make_path remove_tree);
use Cwd qw(abs_path);
use IO::Socket::INET;

plan tests => 111;

my $PW = 'limits-pw-throwaway';
sub basic { ('Authorization' => 'Basic ' . encode_base64("$_[0]:$PW", '')) }

# Fixed windows: a minute's counters start at :00. Begin a scenario early
# in a minute so that it does not straddle two.
sub fresh_minute {
    my $latest = shift // 45;
    my $s = (gmtime)[0];
    sleep(61 - $s) if $s >= $latest;
}

my $chat = { model => 'gpt-4o-mini',
             messages => [{ role => 'user', content => 'hi' }] };

sub chat {
    my ($user, %opt) = @_;
    return post_json($opt{path} || '/v1/chat/completions', $opt{body} || $chat,
                     module => $opt{module} || 'llmp_limits',
                     headers => { $user ? basic($user) : () });
}

# llmproxy_limit_refusals_total{limit="$label"} in /metrics (mounted at
# server level: every virtual host serves it); with $more, waits (10 s at
# most) until it is at least $more (a refusal is counted at
# log_transaction, after its answer went out).
sub refusals {
    my ($label, $more) = @_;
    my $deadline = time + 10;
    while (1) {
        my $r = HTTP::Tiny->new(timeout => 10)->get('http://' . hostport_of('llmp_limits') . '/metrics');
        my ($v) = ($r->{content} // '') =~ /^llmproxy_limit_refusals_total\{limit="\Q$label\E"\} (\d+)$/m;
        $v //= 0;
        return $v if !defined $more || $v >= $more || time > $deadline;
        sleep 0.1;
    }
}

ok wait_list(), "model list loaded";
ok wait_list($_), "$_: model list loaded"
    for qw(llmp_limits_redis llmp_limits_closed);

# ---- N+1 requests against N a minute: exactly one 429 ----
fresh_minute();
mock_reset();
my $refused0 = refusals('requests/minute/user');
my $other0 = refusals('other');
my @st;
my $last;
for my $i (1 .. 6) {
    $last = chat('req');
    push @st, $last->{status};
}
is "@st", '200 200 200 200 200 429', '6 requests against 5 a minute: the 6th is refused';
is $last->{headers}{'retry-after'} =~ /^\d+$/ ? 1 : 0, 1, '... Retry-After in seconds';
my $ra = $last->{headers}{'retry-after'} // 0;
my $left = 60 - (gmtime)[0];
ok $ra >= 1 && $ra <= 60 && abs($ra - $left) <= 2,
   "... until the end of the minute ($ra s, $left s left)";
is $last->{json}{error}{code}, 'rate_limit_exceeded', '... code rate_limit_exceeded';
is $last->{json}{error}{type}, 'rate_limit_exceeded', '... type rate_limit_exceeded';
like $last->{json}{error}{message}, qr/Rate limit reached for requests/, '... a message';
is $last->{headers}{'x-ratelimit-limit-requests'}, 5, '... x-ratelimit-limit-requests on the refusal';
is $last->{headers}{'x-ratelimit-remaining-requests'}, 0, '... none remaining';
like $last->{headers}{'x-ratelimit-reset-requests'} // '', qr/^(\d+m)?\d+s$/, '... x-ratelimit-reset-requests';
is scalar(grep { $_->{path} =~ m{/openai/} } @{ mock_requests() }), 5,
   '... the refused request never reached the backend';
is refusals('requests/minute/user', $refused0 + 1) - $refused0, 1,
   '/metrics: llmproxy_limit_refusals_total{limit="requests/minute/user"} counts it';
is refusals('other'), $other0, '... and nothing as "other"';

# the headers on a served answer
fresh_minute();
my $r = chat('msg');
is $r->{status}, 200, 'another user has his own counter';
is $r->{headers}{'x-ratelimit-limit-requests'}, 5, '... x-ratelimit-limit-requests';
is $r->{headers}{'x-ratelimit-remaining-requests'}, 4, '... x-ratelimit-remaining-requests';
like $r->{headers}{'x-ratelimit-reset-requests'} // '', qr/^(\d+m)?\d+s$/, '... x-ratelimit-reset-requests';
ok !exists $r->{headers}{'anthropic-ratelimit-requests-limit'}, '... no Anthropic headers on chat completions';

# ---- the Messages front: Anthropic's headers and error ----
my $msg = { model => 'gpt-4o-mini', max_tokens => 20,
            messages => [{ role => 'user', content => 'hi' }] };
for (1 .. 3) { $r = chat('msg', path => '/v1/messages', body => $msg) }
is $r->{status}, 200, '/v1/messages under the limit: 200';
is $r->{headers}{'anthropic-ratelimit-requests-limit'}, 5, '... anthropic-ratelimit-requests-limit';
is $r->{headers}{'anthropic-ratelimit-requests-remaining'}, 1, '... anthropic-ratelimit-requests-remaining';
like $r->{headers}{'anthropic-ratelimit-requests-reset'} // '',
     qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, '... anthropic-ratelimit-requests-reset (RFC 3339)';
is $r->{headers}{'x-ratelimit-remaining-requests'}, 1, '... and OpenAI\'s';
chat('msg', path => '/v1/messages', body => $msg);
$r = chat('msg', path => '/v1/messages', body => $msg);
is $r->{status}, 429, '/v1/messages over the limit: 429';
is $r->{json}{type}, 'error', '... Anthropic\'s error shape';
is $r->{json}{error}{type}, 'rate_limit_error', '... rate_limit_error';
ok $r->{headers}{'retry-after'} >= 1, '... Retry-After';
is $r->{headers}{'anthropic-ratelimit-requests-remaining'}, 0, '... none remaining';

# ---- <If> for one user ----
fresh_minute();
@st = map { chat('alice')->{status} } 1 .. 9;
is "@st", '200 200 200 200 200 200 200 200 429', 'alice (<If>): 8 a minute';
is chat('alice')->{headers}{'x-ratelimit-limit-requests'}, 8, '... her limit in the headers';

# ---- 100 requests in parallel never let more than the limit through ----
{
    fresh_minute(20);
    my $hp = hostport_of('llmp_limits');
    my $body = json_encode($chat);
    my @kids;
    my $dir = "t/logs/limits-par";
    remove_tree($dir); make_path($dir);
    for my $i (1 .. 100) {
        my $pid = fork();
        die "fork: $!" unless defined $pid;
        if (!$pid) {
            my $res = HTTP::Tiny->new(timeout => 60)->post(
                "http://$hp/v1/chat/completions",
                { content => $body, headers => { 'Content-Type' => 'application/json', basic('conc') } });
            open my $fh, '>', "$dir/$i" or POSIX::_exit(1);
            print $fh $res->{status};
            close $fh;
            POSIX::_exit(0);
        }
        push @kids, $pid;
    }
    waitpid($_, 0) for @kids;
    my %n;
    for my $i (1 .. 100) {
        open my $fh, '<', "$dir/$i" or next;
        my $s = <$fh> // ''; close $fh;
        $n{$s}++;
    }
    is $n{200} // 0, 5, '100 requests in parallel against 5 a minute: 5 served';
    is $n{429} // 0, 95, '... 95 refused';
}

# ---- /health shows the store ----
$r = HTTP::Tiny->new->get('http://' . hostport_of('llmp_limits') . '/health');
my $h = json_decode($r->{content});
is $h->{limits}{store}, 'shm', '/health: limits store shm';
is $h->{limits}{state}, 'ok', '... ok';
ok $h->{limits}{refusals} >= 95, '... refusals counted';
$r = HTTP::Tiny->new->get('http://' . hostport_of() . '/server-status?auto');
like $r->{content}, qr/^LLMProxyLimitRefusals: (\d+)$/m, 'mod_status: LLMProxyLimitRefusals';
like $r->{content}, qr/^LLMProxyLimitStoreDown: 0$/m, '... LLMProxyLimitStoreDown';

# ---- token and cost budgets: the call after the one that used them up
# is refused (the charge comes when a call ends, streams included) ----
fresh_minute();
my $tb = { model => 'gpt-4o-mini', messages => [{ role => 'user',
           content => 'one two three four five six seven eight nine ten' }] };
my (@ts, @rem);
for my $i (1 .. 8) {
    my $body = $i == 2 ? { %$tb, stream => JSON::PP::true } : $tb;
    $r = chat(undef, path => '/tokens/v1/chat/completions', body => $body);
    push @ts, $r->{status};
    push @rem, $r->{headers}{'x-ratelimit-remaining-tokens'} // -1;
    last if $r->{status} != 200;
    sleep 0.3;      # the charge is made at log_transaction, after the answer
}
is $ts[-1], 429, "tokens 30 a minute: refused at last (@ts; remaining @rem)";
ok @ts >= 3 && !grep({ $_ != 200 } @ts[0 .. $#ts - 1]), '... after calls served';
is $rem[0], 30, '... x-ratelimit-remaining-tokens: 30 before the first';
ok $rem[1] < 30 && $rem[1] > 0, '... the first call charged';
ok $rem[2] < $rem[1], '... the streamed call charged (from the usage the stream carried)';
ok !grep({ $_ <= 0 } @rem[0 .. $#rem - 1]) && $rem[-1] == 0,
   '... refused exactly when nothing remained';
is $r->{json}{error}{code}, 'rate_limit_exceeded', '... rate_limit_exceeded';
is $r->{headers}{'x-ratelimit-limit-tokens'}, 30, '... x-ratelimit-limit-tokens';
ok !exists $r->{headers}{'x-ratelimit-limit-requests'}, '... no request headers without a request limit';

# cost: 0.000003 a minute for the model; a call of "hi" to gpt-4o-mini
# costs 3 x 0.00015/1000 + 2 x 0.0006/1000 = 0.00000165 (t/25_usage.t)
my @cs;
fresh_minute();
for (1 .. 5) {
    $r = chat(undef, path => '/cost/v1/chat/completions');
    push @cs, $r->{status};
    last if $r->{status} != 200;
    sleep 0.3;
}
is "@cs", '200 200 429', 'cost 0.000003 a minute: the 3rd call (after 0.0000033) is refused';
ok refusals('cost/minute/model', 1) >= 1, '/metrics: a refusal by the budget under limit="cost/minute/model"';
is $r->{json}{error}{code}, 'insufficient_quota', '... insufficient_quota';
is $r->{json}{error}{type}, 'insufficient_quota', '... type insufficient_quota';
ok $r->{headers}{'retry-after'} >= 1, '... Retry-After';
$r = chat(undef, path => '/cost/v1/messages', body => $msg);
is $r->{status}, 429, '... on /v1/messages too';
is $r->{json}{error}{type}, 'rate_limit_error', '... as rate_limit_error';

# ---- the official SDKs: a refusal is their RateLimitError ----
my ($node) = grep { -x "$_/node" } split /:/, $ENV{PATH} || '';
SKIP: {
    skip 'node or the SDKs are missing (make test installs them)', 5
        unless $node && -d 'tests/sdk/node_modules/openai'
               && -d 'tests/sdk/node_modules/@anthropic-ai/sdk';
    node_cases('BASE_URL=http://' . hostport_of('llmp_limits'), 'limits_e2e.mjs', 4,
               'limits SDK');
}

# ---- Redis shared by two httpd servers; a second httpd for restarts ----
# The test starts its own redis-server (an append-only file, written at
# every command: what it counted survives its restart) on LLMP_REDIS_PORT
# and a second httpd (a process of its own, not a virtual host of the test
# server: it can be restarted, gracefully or not, and it shares nothing
# with the test server but Redis) on LLMP_HTTPD2_PORT (shm counters with a
# state file) and the port after it (the test server's Redis).
my $top = abs_path('.');
my $rport = $ENV{LLMP_REDIS_PORT} or die 'LLMP_REDIS_PORT';
my $p2 = $ENV{LLMP_HTTPD2_PORT} or die 'LLMP_HTTPD2_PORT';
my $p2r = $p2 + 1;
my $wd = "$top/t/logs/limits2";
remove_tree($wd);
make_path("$wd/redis", "$wd/logs", "$wd/run", "$wd/state");
my $as_root = $> == 0;
if ($as_root) {
    my ($uid, $gid) = (getpwnam('www-data'))[2, 3];
    chown $uid, $gid, "$wd/state", "$wd/run";
}

my $redis_pid;
sub redis_start {
    $redis_pid = fork();
    die "fork: $!" unless defined $redis_pid;
    if (!$redis_pid) {
        open STDOUT, '>>', "$wd/redis.log"; open STDERR, '>&', \*STDOUT;
        no warnings 'exec';
        exec 'redis-server', '--port', $rport, '--bind', '127.0.0.1',
             '--save', '', '--appendonly', 'yes', '--appendfsync', 'always',
             '--dir', "$wd/redis",
             '--protected-mode', 'yes';
        POSIX::_exit(127);
    }
    for (1 .. 100) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $rport, Timeout => 1);
        if ($s) {
            print $s "PING\r\n";
            my $l = <$s> // '';
            return 1 if $l =~ /PONG/;
        }
        sleep 0.1;
    }
    return 0;
}
sub redis_stop {
    return unless $redis_pid;
    kill 'TERM', $redis_pid;
    waitpid($redis_pid, 0);
    undef $redis_pid;
}

my ($mpm) = ($ENV{LLMP_MPM} || 'event');
(my $sodir = $ENV{LLMP_SO}) =~ s{/[^/]+$}{};
my $inherit = "$sodir/inherit-$mpm.conf";
my $httpd = Apache::Test::vars('httpd');
my $conf2 = "$wd/httpd.conf";
{
    open my $fh, '>', $conf2 or die "$conf2: $!";
    my $user = $as_root ? "User www-data\nGroup www-data\n" : '';
    print $fh <<"CONF";
Include $inherit
ServerRoot $wd
ServerName 127.0.0.1
${user}PidFile $wd/run/httpd.pid
DefaultRuntimeDir $wd/run
ErrorLog $wd/logs/error_log
LogLevel info llmproxy:debug
Listen 127.0.0.1:$p2
Listen 127.0.0.1:$p2r
StartServers 2
LoadModule llmproxy_module $ENV{LLMP_SO}
LLMProxyModelListURL http://127.0.0.1:$ENV{LLMP_MOCK_PORT}/models
LLMProxyAuthToken $ENV{LLMP_TOKEN}
LLMProxyUseModProxy Off
LLMProxyLimitStateFile $wd/state/limits.state
<VirtualHost 127.0.0.1:$p2>
    <Location /v1>
        SetHandler llmproxy
        LLMProxyLimit requests 5/day
    </Location>
</VirtualHost>
<VirtualHost 127.0.0.1:$p2r>
    LLMProxyLimitStore redis://127.0.0.1:$rport/3
    <Location /v1>
        SetHandler llmproxy
        LLMProxyLimit requests 6/minute server
    </Location>
    <Location /tokens/v1>
        SetHandler llmproxy
        LLMProxyLimit tokens 28/minute server
    </Location>
    <Location /health>
        SetHandler llmproxy
    </Location>
</VirtualHost>
CONF
    close $fh;
}
sub httpd2_pid {
    open my $fh, '<', "$wd/run/httpd.pid" or return 0;
    my $p = <$fh> // 0; close $fh; chomp $p; return $p + 0;
}
sub httpd2_up {
    for (1 .. 150) {
        my $r = HTTP::Tiny->new(timeout => 5)->get("http://127.0.0.1:$p2r/health");
        return 1 if $r->{status} == 200;
        sleep 0.1;
    }
    return 0;
}
sub httpd2_start {
    system($httpd, '-f', $conf2, '-k', 'start') == 0 or return 0;
    return httpd2_up();
}
sub httpd2_stop {
    my $pid = httpd2_pid() or return;
    kill 'TERM', $pid;
    for (1 .. 200) { last unless kill 0, $pid; sleep 0.05 }
}
sub chat2 {
    my ($port, $path, $body) = @_;
    my $hp = "127.0.0.1:$port";
    my $r = HTTP::Tiny->new(timeout => 30)->post("http://$hp" . ($path // '/v1/chat/completions'),
        { content => json_encode($body // $chat), headers => { 'Content-Type' => 'application/json' } });
    $r->{json} = json_decode($r->{content});
    return $r;
}

ok redis_start(), 'redis-server started';
ok httpd2_start(), 'second httpd started' or diag `tail -5 $wd/logs/error_log`;

# one combined limit: 6 a minute for both servers
fresh_minute();
my @a;
for (1 .. 3) {
    push @a, chat(undef, module => 'llmp_limits_redis')->{status};
    push @a, chat2($p2r)->{status};
}
is "@a", '200 200 200 200 200 200', 'Redis: 3 + 3 requests on two servers against 6 a minute';
$r = chat(undef, module => 'llmp_limits_redis');
is $r->{status}, 429, '... the 7th on the first server is refused';
is $r->{headers}{'x-ratelimit-remaining-requests'}, 0, '... none remaining';
$r = chat2($p2r);
is $r->{status}, 429, '... and on the second';
ok $r->{headers}{'retry-after'} >= 1 && $r->{headers}{'retry-after'} <= 60, '... Retry-After';
is chat(undef, module => 'llmp_limits_closed')->{status}, 200, 'closed policy, Redis up: 200';
$h = json_decode(HTTP::Tiny->new->get('http://' . hostport_of('llmp_limits_redis') . '/health')->{content});
is $h->{limits}{store}, 'redis', '/health: limits store redis';
is $h->{limits}{state}, 'ok', '... ok';

# ---- a token budget in Redis, charged by both servers (a charge goes
# without waiting for Redis' answer, ahead of the next check on the same
# connection), across restarts of Redis: between two calls, and in the
# middle of a stream (checked before the restart, charged after it) ----
fresh_minute(40);
my $slow = { model => 'mock-slow-stream', stream => JSON::PP::true,
             stream_options => { include_usage => JSON::PP::true },
             messages => [{ role => 'user', content => 'hi' }] };
my (@rt, @rr, @rs);
my $tpath = '/tokens/v1/chat/completions';
for my $i (1 .. 8) {
    if ($i == 4) {
        # a stream of 1.5 s on the first server; Redis restarts under it
        my $out = "$wd/stream.out";
        unlink $out;
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            my $r = chat(undef, module => 'llmp_limits_redis', path => $tpath, body => $slow);
            my ($t) = ($r->{content} // '') =~ /"total_tokens":\s*(\d+)/;
            open my $fh, '>', $out or POSIX::_exit(1);
            print $fh join(' ', $r->{status}, $r->{headers}{'x-ratelimit-remaining-tokens'} // -1, $t // 0);
            close $fh;
            POSIX::_exit(0);
        }
        sleep 0.5;
        redis_stop();
        ok redis_start(), 'Redis restarted in the middle of a stream';
        waitpid($pid, 0);
        my $res = do { local $/; open my $fh, '<', $out; <$fh> // '0 -1 0' };
        my ($st, $rem, $tot) = split / /, $res;
        push @rt, $st; push @rr, $rem; push @rs, $tot;
        sleep 0.3;
        next;
    }
    $r = $i % 2
        ? chat(undef, module => 'llmp_limits_redis', path => $tpath, body => $tb)
        : chat2($p2r, $tpath, $tb);
    push @rt, $r->{status};
    push @rr, $r->{headers}{'x-ratelimit-remaining-tokens'} // -1;
    push @rs, $r->{json}{usage}{total_tokens} // 0;
    last if $r->{status} != 200;
    sleep 0.3;
    if ($i == 2) {
        # the connections both servers keep to Redis are dead after this
        redis_stop();
        ok redis_start(), 'Redis restarted (its append-only file kept)';
    }
}
is $rt[-1], 429, "Redis: tokens 28 a minute for both servers: refused at last (@rt; remaining @rr; used @rs)";
ok @rt >= 5 && !grep({ $_ != 200 } @rt[0 .. $#rt - 1]), '... after calls served on both servers';
is $rr[0], 28, '... 28 remaining before the first';
ok $rs[3] > 0, '... the stream carried its usage';
ok !grep({ $rr[$_] != $rr[$_ - 1] - $rs[$_ - 1] } 1 .. $#rt - 1),
   '... each call sees the charges of every earlier one, on either server, across both restarts';
is $rr[-1], 0, '... refused when nothing remained';
is $r->{json}{error}{code}, 'rate_limit_exceeded', '... rate_limit_exceeded';
$h = json_decode(HTTP::Tiny->new->get('http://' . hostport_of('llmp_limits_redis') . '/health')->{content});
is $h->{limits}{state}, 'ok', '... and the restarts went unnoticed (/health ok)';

# ---- Redis stopped: open serves (counting here), closed refuses ----
redis_stop();
$r = chat(undef, module => 'llmp_limits_redis');
is $r->{status}, 200, 'Redis stopped, policy open: served';
is $r->{headers}{'x-ratelimit-remaining-requests'}, 5, '... counted in this server';
$r = chat(undef, module => 'llmp_limits_closed');
is $r->{status}, 503, 'Redis stopped, policy closed: 503';
is $r->{json}{error}{code}, 'limit_store_unavailable', '... limit_store_unavailable';
ok $r->{headers}{'retry-after'}, '... Retry-After';
$h = json_decode(HTTP::Tiny->new->get('http://' . hostport_of('llmp_limits_redis') . '/health')->{content});
is $h->{limits}{state}, 'unreachable', '/health: the store unreachable';
like $h->{limits}{last_error} // '', qr/redis:/, '... and why';
is chat2($p2r)->{status}, 200, 'the second server (open by default) serves too';
# Redis back: the shared counters again (a child retries after 1 s)
ok redis_start(), 'redis-server started again';
sleep 1.2;
$r = chat(undef, module => 'llmp_limits_closed');
is $r->{status}, 200, 'Redis back: closed serves again';
$h = json_decode(HTTP::Tiny->new->get('http://' . hostport_of('llmp_limits_redis') . '/health')->{content});
is $h->{limits}{state}, 'ok', '/health: ok again';

# ---- shm counters across a graceful restart and a stop and start ----
@a = map { chat2($p2)->{status} } 1 .. 2;
is "@a", '200 200', 'second httpd (shm): 2 of 5 a day';
my $pid = httpd2_pid();
kill 'USR1', $pid;       # apachectl graceful
sleep 1;
ok httpd2_up(), '... up after a graceful restart';
$r = chat2($p2);
is $r->{status}, 200, '... served';
is $r->{headers}{'x-ratelimit-remaining-requests'}, 2, '... the count survived the graceful restart';
httpd2_stop();
ok -s "$wd/state/limits.state", '... stopped: the state file is written';
ok httpd2_start(), '... started again' or diag `tail -5 $wd/logs/error_log`;
$r = chat2($p2);
is $r->{status}, 200, '... served';
is $r->{headers}{'x-ratelimit-remaining-requests'}, 1, '... the count survived the stop (state file)';
@a = map { chat2($p2)->{status} } 1 .. 2;
is "@a", '200 429', '... and the limit holds';
httpd2_stop();
redis_stop();
my $err2 = do { local $/; open my $fh, '<', "$wd/logs/error_log"; <$fh> // '' };
ok $err2 !~ /exit signal|Segmentation fault|AddressSanitizer/, 'second httpd: no crash';
ok index($err2, $ENV{LLMP_TOKEN}) < 0, '... no token in its log';

# ---- configuration mistakes fail configtest ----
{
    my $moddir = `apxs -q LIBEXECDIR`; chomp $moddir;
    my $ct = "$wd/ct";
    make_path($ct);
    my $configtest = sub {
        my $lines = shift;
        open my $fh, '>', "$ct/httpd.conf" or die $!;
        print $fh <<"EOC";
ServerRoot "$ct"
PidFile "$ct/httpd.pid"
ErrorLog "$ct/error_log"
Listen 127.0.0.1:1
LoadModule mpm_event_module "$moddir/mod_mpm_event.so"
LoadModule authz_core_module "$moddir/mod_authz_core.so"
LoadModule llmproxy_module "$ENV{LLMP_SO}"
LLMProxyModelListURL http://127.0.0.1:1/models
$lines
EOC
        close $fh;
        my $out = `$httpd -t -f $ct/httpd.conf 2>&1`;
        return ($? >> 8, $out);
    };
    my @bad = (
        ['LLMProxyLimit calls 5/minute', qr/not requests, tokens or cost/],
        ['LLMProxyLimit requests 5/week', qr/period 'week'/],
        ['LLMProxyLimit requests 0/minute', qr/not a positive integer/],
        ['LLMProxyLimit tokens 5/day group', qr/scope 'group'/],
        ['LLMProxyLimitStore memcache://127.0.0.1:1', qr/not shm or redis/],
        ['LLMProxyLimitStore redis://127.0.0.1:6379/x', qr/database 'x'/],
        ['LLMProxyLimitStoreFailure maybe', qr/open or closed/],
        ["<VirtualHost 127.0.0.1:1>\nLLMProxyLimitStateFile /tmp/x\n</VirtualHost>",
         qr/LLMProxyLimitStateFile/],
    );
    for my $b (@bad) {
        my ($rc, $out) = $configtest->($b->[0]);
        ok $rc != 0 && $out =~ $b->[1], "configtest refuses: " . join(" ", split /\n/, $b->[0])
            or diag $out;
    }
    my ($rc, $out) = $configtest->(
        "LLMProxyLimitStore redis://127.0.0.1:6379/2\nLLMProxyLimitStoreFailure closed\n"
        . "<Location /v1>\nLLMProxyLimit cost 12.5/month user\n"
        . "<If \"%{REMOTE_USER} == 'a'\">\nLLMProxyLimit requests 10/second model\n</If>\n</Location>");
    is $rc, 0, 'configtest accepts the limits' or diag $out;
}
