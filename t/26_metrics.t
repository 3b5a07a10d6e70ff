# Prometheus metrics (SetHandler llmproxy-metrics): the whole server's
# counts summed over every child, what promtool accepts, active streams, a
# graceful restart that keeps the counters, and a tiny table whose extra
# models and users are counted under "other".
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;
use HTTP::Tiny;
use IO::Socket::INET;
use File::Temp qw(tempdir);
use MIME::Base64 qw(encode_base64);
use POSIX ();
use Time::HiRes qw(time sleep);

my $CT = 'text/plain; version=0.0.4; charset=utf-8';

sub eventually {
    my ($cond, $secs) = @_;
    my $deadline = time + ($secs || 10);
    while (time < $deadline) {
        return 1 if $cond->();
        sleep 0.1;
    }
    return $cond->();
}

# GET the metrics of a server ("host:port"): the response and the series,
# { name => [ [ {labels}, value ], ... ] }.
sub scrape {
    my $hp = shift || hostport_of();
    my $r = HTTP::Tiny->new(timeout => 10)->get("http://$hp/metrics");
    my %m;
    for my $line (split /\n/, $r->{content} // '') {
        next if $line =~ /^#/ || $line !~ /\S/;
        my ($name, $labels, $v) = $line =~ /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/
            or next;
        my %l;
        while (($labels // '') =~ /(\w+)="((?:[^"\\]|\\.)*)"/g) {
            $l{$1} = $2;
        }
        push @{ $m{$name} }, [ \%l, $v ];
    }
    return ($r, \%m);
}

# The sum of the series of a metric whose labels match.
sub total {
    my ($m, $name, %want) = @_;
    my $sum = 0;
    SERIES: for my $s (@{ $m->{$name} || [] }) {
        for my $k (keys %want) {
            next SERIES unless defined $s->[0]{$k} && $s->[0]{$k} eq $want{$k};
        }
        $sum += $s->[1];
    }
    return $sum;
}

# A request is counted at log_transaction, just after its answer went out:
# scrape until the series matching %sel sum to at least $want (or 10 s).
sub scrape_until {
    my ($hp, $want, $name, %sel) = @_;
    my ($r, $m);
    my $deadline = time + 10;
    while (1) {
        ($r, $m) = scrape($hp);
        last if total($m, $name, %sel) >= $want || time > $deadline;
        sleep 0.1;
    }
    return ($r, $m);
}

sub promtool_check {
    my ($text, $name) = @_;
    SKIP: {
        my ($pt) = grep { -x "$_/promtool" }
                   split(/:/, $ENV{PATH} // ''), '/usr/bin', '/usr/local/bin';
        skip 'promtool (Debian package prometheus) not installed', 1
            unless $pt;
        my $f = File::Temp->new;
        print $f $text;
        close $f;
        my $out = `$pt/promtool check metrics < $f 2>&1`;
        is $? >> 8, 0, "$name: promtool check metrics passes"
            or diag $out;
    }
}

my $chat = sub {
    my $model = shift;
    return { model => $model,
             messages => [{ role => 'user', content => 'hello there' }] };
};

ok wait_list(), 'list loaded';
sleep 0.5;    # the previous test's last request is counted

# ---- the exposition ----
my ($r, $m0) = scrape();
is $r->{status}, 200, 'GET /metrics';
is $r->{headers}{'content-type'}, $CT, 'Prometheus text format 0.0.4';
like $r->{content}, qr/^# HELP llmproxy_requests_total .+\n# TYPE llmproxy_requests_total counter$/m,
     'HELP and TYPE lines';
for my $name (qw(llmproxy_requests_total llmproxy_tokens_total
                 llmproxy_cost_total llmproxy_backend_duration_seconds
                 llmproxy_time_to_first_token_seconds llmproxy_active_streams
                 llmproxy_model_list_models llmproxy_model_list_age_seconds
                 llmproxy_model_list_fetch_failures_total)) {
    like $r->{content}, qr/^# TYPE \Q$name\E (counter|gauge|histogram)$/m,
         "$name declared";
}
ok total($m0, 'llmproxy_model_list_models') >= 20,
   'llmproxy_model_list_models counts the list';
ok exists $m0->{llmproxy_model_list_age_seconds},
   'llmproxy_model_list_age_seconds present';
is(HTTP::Tiny->new->post('http://' . hostport_of() . '/metrics')->{status},
   405, 'POST /metrics: 405');

# ---- N requests over several children count exactly N ----
my ($clients, $each) = (6, 5);
my %sel = (model => 'gpt-4o-mini', endpoint => 'chat.completions',
           status => '200');
my $before = total($m0, 'llmproxy_requests_total', %sel);
my $hp = hostport_of();
my @kids;
for my $c (1 .. $clients) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $ua = HTTP::Tiny->new(timeout => 30, keep_alive => 0);
        my $bad = 0;
        for (1 .. $each) {
            my $res = $ua->post("http://$hp/v1/chat/completions",
                { content => json_encode($chat->('gpt-4o-mini')),
                  headers => { 'Content-Type' => 'application/json' } });
            $bad++ unless $res->{status} == 200;
        }
        POSIX::_exit($bad ? 1 : 0);
    }
    push @kids, $pid;
}
# the server's children (from /proc: ps hangs under ASan's LD_PRELOAD),
# at most while the clients run
my $ppid = do {
    my $cfg = Apache::Test::config();
    open my $f, '<', "$cfg->{vars}{t_logs}/httpd.pid" or die $!;
    my $p = <$f>;
    chomp $p;
    $p;
};
sub children_of {
    my $pp = shift;
    return scalar grep {
        my $line = '';
        # a process may end between the glob and the open
        if (open my $st, '<', $_) { $line = <$st> // '' }
        $line =~ /^\d+ \(.*\) \S (\d+)/ && $1 == $pp;
    } glob '/proc/[0-9]*/stat';
}
my ($failed, $children, %done) = (0, 0);
while (keys %done < @kids) {
    my $n = children_of($ppid);
    $children = $n if $n > $children;
    for my $k (@kids) {
        next if $done{$k};
        if (waitpid($k, POSIX::WNOHANG()) == $k) {
            $done{$k} = 1;
            $failed++ if $?;
        }
    }
    sleep 0.05;
}
is $failed, 0, "$clients concurrent clients x $each requests answered";
SKIP: {
    # make test runs the event MPM (LLMP_MPM: or worker) with 3 children
    # (t/conf/extra.conf.in); Apache::Test's prefork settings start one
    # and this burst is too short for more
    skip "prefork: $children child(ren) served the burst", 1
        if ($ENV{LLMP_MPM} // '') eq 'prefork' && $children < 2;
    ok $children >= 2, "the server has several children ($children)";
}
my ($r1, $m1) = scrape_until(undef, $before + $clients * $each,
                              'llmproxy_requests_total', %sel);
is total($m1, 'llmproxy_requests_total', %sel) - $before, $clients * $each,
   'llmproxy_requests_total counted every one exactly once';
my @prov = map { $_->[0]{provider} } grep { $_->[0]{model} eq 'gpt-4o-mini' }
           @{ $m1->{llmproxy_requests_total} };
is "@prov" =~ /^(openai ?)+$/ ? 1 : 0, 1, 'provider label: openai';
ok total($m1, 'llmproxy_backend_duration_seconds_count',
         model => 'gpt-4o-mini')
   >= $clients * $each, 'backend durations observed';

# ---- errors are counted with their status ----
{
    my ($x, $a) = scrape();
    my $nf = total($a, 'llmproxy_requests_total', model => '-',
                   endpoint => 'chat.completions', status => '404');
    my $e429 = total($a, 'llmproxy_requests_total', model => 'mock-error',
                     status => '429');
    is post_json('/v1/chat/completions', $chat->('no-such-model'))->{status},
       404, 'an unknown model: 404';
    is post_json('/v1/chat/completions', $chat->('mock-error'))->{status},
       429, 'an upstream 429';
    is post_json('/v1/nonsense', {})->{status}, 404, 'an unknown URL: 404';
    my (undef, $b) = scrape_until(undef, $e429 + 1, 'llmproxy_requests_total',
                                  model => 'mock-error', status => '429');
    (undef, $b) = scrape_until(undef, $nf + 1, 'llmproxy_requests_total',
                               model => '-', endpoint => 'chat.completions',
                               status => '404');
    is total($b, 'llmproxy_requests_total', model => '-',
             endpoint => 'chat.completions', status => '404') - $nf, 1,
       'the 404 counted under model "-" (never the client\'s name)';
    ok !grep({ $_->[0]{model} eq 'no-such-model' }
             @{ $b->{llmproxy_requests_total} }),
       'no series for a model that is not in the list';
    is total($b, 'llmproxy_requests_total', model => 'mock-error',
             status => '429') - $e429, 1, 'the 429 counted';
    ok total($b, 'llmproxy_requests_total', endpoint => 'unknown',
             status => '404') >= 1, 'the unknown URL counted';
}

# ---- tokens and cost of a translated model (the mock's known usage) ----
{
    my $model = 'claude-3-7-sonnet-20250219';
    my (undef, $a) = scrape();
    my ($p, $c, $n) = (0, 0, 3);
    for (1 .. $n) {
        my $res = post_json('/v1/chat/completions', $chat->($model));
        is $res->{status}, 200, "$model: 200";
        $p += $res->{json}{usage}{prompt_tokens} // 0;
        $c += $res->{json}{usage}{completion_tokens} // 0;
    }
    ok $p > 0 && $c > 0, "$model: the client saw usage ($p + $c)";
    my (undef, $b) = scrape_until(undef,
        total($a, 'llmproxy_requests_total', model => $model,
              provider => 'anthropic', status => '200') + $n,
        'llmproxy_requests_total', model => $model, provider => 'anthropic',
        status => '200');
    is total($b, 'llmproxy_requests_total', model => $model,
             provider => 'anthropic', status => '200')
       - total($a, 'llmproxy_requests_total', model => $model,
               provider => 'anthropic', status => '200'), $n,
       "$model: $n requests";
    my $dp = total($b, 'llmproxy_tokens_total', model => $model,
                   type => 'prompt')
             - total($a, 'llmproxy_tokens_total', model => $model,
                     type => 'prompt');
    my $dc = total($b, 'llmproxy_tokens_total', model => $model,
                   type => 'completion')
             - total($a, 'llmproxy_tokens_total', model => $model,
                     type => 'completion');
    my $dcost = total($b, 'llmproxy_cost_total', model => $model)
                - total($a, 'llmproxy_cost_total', model => $model);
    is $dp, $p, "$model: prompt tokens as the mock reported";
    is $dc, $c, "$model: completion tokens as the mock reported";
    my $want = $p / 1000 * 0.003 + $c / 1000 * 0.015;
    ok abs($dcost - $want) < 1e-9, "$model: cost $dcost == $want";
}

# ---- active streams ----
{
    my (undef, $a) = scrape();
    my $base = total($a, 'llmproxy_active_streams');
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $res = stream_raw('/v1/chat/completions',
            { model => 'mock-slow-stream', stream => JSON::PP::true(),
              messages => [{ role => 'user', content => 'x' }] });
        POSIX::_exit($res->{status} == 200 && @{ $res->{events} } >= 5
                     ? 0 : 1);
    }
    ok eventually(sub { total((scrape())[1], 'llmproxy_active_streams')
                        == $base + 1 }, 5),
       'llmproxy_active_streams rises during a slow stream';
    waitpid $pid, 0;
    is $?, 0, 'the stream was relayed whole';
    ok eventually(sub { total((scrape())[1], 'llmproxy_active_streams')
                        == $base }, 5),
       '... and falls back after it';
    my (undef, $b) = scrape_until(undef, 1, 'llmproxy_requests_total',
                                  model => 'mock-slow-stream');
    ok total($b, 'llmproxy_requests_total', model => 'mock-slow-stream',
             status => '200') >= 1, 'the stream counted';
    ok total($b, 'llmproxy_time_to_first_token_seconds_count',
             model => 'mock-slow-stream') >= 1,
       'time to first token observed';
}

promtool_check((scrape())[0]{content}, 'the test server');

# ---- a server of its own: tiny table, users, graceful restart ----
my $cfg = Apache::Test::config();
my $httpd = $cfg->{vars}{httpd};
my $dir = tempdir(CLEANUP => 1);
chmod 0755, $dir;

my $port = free_port();
my $htpasswd = "$cfg->{vars}{t_conf}/rstore.htpasswd";
open my $fh, '>', "$dir/httpd.conf" or die $!;
print $fh own_httpd_head($dir, $port, qw(authz_host authz_user authn_core
                                        authn_file auth_basic)), <<"EOC";
LLMProxyModelListURL http://127.0.0.1:$ENV{LLMP_MOCK_PORT}/models
LLMProxyAuthToken ${\ token()}
LLMProxyRefreshInterval 300
LLMProxyMetricsModels 2
LLMProxyMetricsUsers 1
LLMProxyMetricsPerUser on
StartServers 2
ServerLimit 4
<IfModule !mpm_prefork_module>
    ThreadsPerChild 4
    MinSpareThreads 4
    MaxSpareThreads 16
</IfModule>
MaxRequestWorkers 16
<Location /v1>
    SetHandler llmproxy
    AuthType Basic
    AuthName "llmproxy metrics test"
    AuthUserFile "$htpasswd"
    Require valid-user
</Location>
<Location /health>
    SetHandler llmproxy
</Location>
<Location /metrics>
    SetHandler llmproxy-metrics
    Require ip 127.0.0.1
</Location>
EOC
close $fh;
my $started;
END {
    if ($started) {
        system($httpd, '-f', "$dir/httpd.conf", '-k', 'stop');
        my $deadline = time + 10;
        sleep 0.2 while -e "$dir/httpd.pid" && time < $deadline;
    }
}
is system($httpd, '-f', "$dir/httpd.conf", '-k', 'start'), 0,
   'a server of its own starts (2 model slots, 1 user slot, per user)';
$started = 1;
my $own = "127.0.0.1:$port";
ok eventually(sub {
    my $h = HTTP::Tiny->new(timeout => 5)->get("http://$own/health");
    $h->{status} == 200;
}, 20), 'its list is loaded';

my %auth = map { $_ => { Authorization => 'Basic '
                         . encode_base64("$_:$_-pw-throwaway", '') } }
           qw(alice bob);
sub own_chat {
    my ($model, $who) = @_;
    return HTTP::Tiny->new(timeout => 30)->post(
        "http://$own/v1/chat/completions",
        { content => json_encode($chat->($model)),
          headers => { 'Content-Type' => 'application/json',
                       %{ $auth{$who} } } })->{status};
}
# one model after the other: the first two take the two slots
my @models = ('gpt-4o-mini', 'GigaChat-2-Max',
              'accounts/fireworks/models/llama-v3p1-405b-instruct');
is own_chat($models[0], 'alice'), 200, "$models[0] for alice";
is own_chat($models[1], 'alice'), 200, "$models[1] for alice";
is own_chat($models[2], 'bob'), 200, "$models[2] for bob";
is own_chat($models[2], 'alice'), 200, "$models[2] for alice";

my %chat200 = (endpoint => 'chat.completions', status => '200');
my ($or, $om) = scrape_until($own, 4, 'llmproxy_requests_total', %chat200);
is $or->{status}, 200, 'its /metrics';
is total($om, 'llmproxy_requests_total', %chat200), 4,
   'all four requests counted';
is total($om, 'llmproxy_requests_total', %chat200, model => $models[0]), 1,
   'the first model has a slot';
is total($om, 'llmproxy_requests_total', %chat200, model => $models[1]), 1,
   'the second model has a slot';
is total($om, 'llmproxy_requests_total', %chat200, model => 'other',
         provider => 'other'), 2,
   'the third model is counted under model="other"';
ok !grep({ $_->[0]{model} eq $models[2] } @{ $om->{llmproxy_requests_total} }),
   '... and has no series of its own';
is total($om, 'llmproxy_requests_total', %chat200, user => 'alice'), 3,
   'user label: alice (the one user slot)';
is total($om, 'llmproxy_requests_total', %chat200, user => 'other'), 1,
   'bob is counted under user="other"';
ok total($om, 'llmproxy_requests_total', endpoint => 'health', model => '-',
         user => '-') >= 1, 'no user, no model: "-"';
{
    like $or->{content},
         qr/^llmproxy_cost_total\{model="gpt-4o-mini",user="alice"\} /m,
         'cost by model and user';
}
promtool_check($or->{content}, 'a tiny table with users');

# ---- a graceful restart keeps the counters ----
my $count_resumed = sub {
    open my $l, '<', "$dir/error_log" or return 0;
    return scalar grep { /resuming normal operations/ } <$l>;
};
my $resumed = $count_resumed->();
is system($httpd, '-f', "$dir/httpd.conf", '-k', 'graceful'), 0,
   'graceful restart';
ok eventually(sub { $count_resumed->() > $resumed }, 20),
   'the server restarted';
ok eventually(sub {
    HTTP::Tiny->new(timeout => 5)->get("http://$own/health")->{status} == 200
}, 20), 'and serves again';
my (undef, $am) = scrape($own);
is total($am, 'llmproxy_requests_total', %chat200), 4,
   'the counters survived the restart'
    or diag `cat $dir/error_log`;
is own_chat($models[0], 'alice'), 200, 'one more request';
my (undef, $bm) = scrape_until($own, 2, 'llmproxy_requests_total', %chat200,
                               model => $models[0]);
is total($bm, 'llmproxy_requests_total', %chat200, model => $models[0]), 2,
   '... counted on top of the old ones';
is total($bm, 'llmproxy_requests_total', %chat200, model => 'other'), 2,
   'slots kept across the restart: the third model is still "other"';

done_testing();
