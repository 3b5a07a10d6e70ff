# The model list: an empty list is a failed refresh (unless
# LLMProxyAllowEmptyList on), and a fresh child never answers 503 while it
# parses a large list.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;
use HTTP::Tiny;
use IO::Socket::INET;
use File::Temp qw(tempdir);
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);

sub get_json {
    my ($module, $path) = @_;
    my $r = HTTP::Tiny->new(timeout => 10)->get('http://' . hostport_of($module)
                                                . $path);
    return ($r->{status}, json_decode($r->{content}) || {});
}

sub ids {
    my $module = shift;
    my (undef, $j) = get_json($module, '/v1/models');
    return map { $_->{id} } @{ $j->{data} || [] };
}

# Poll until $cond->() is true (or $secs pass).
sub eventually {
    my ($cond, $secs) = @_;
    my $deadline = time + ($secs || 10);
    while (time < $deadline) {
        return 1 if $cond->();
        sleep 0.3;
    }
    return $cond->();
}

my $chat = { model => 'gpt-4o-mini',
             messages => [{ role => 'user', content => 'x' }] };

# ---- an empty list keeps the last good one ----
ok wait_list() && wait_list('llmp_emptyok'), 'lists loaded';

for my $case (['{"models":[]}', qr/no entries/, 'empty list'],
              ['{"models":[{"model_version":"bad","handle":"//evil.example/x"},'
               . '{"model_version":"off","handle":"unavailable"},42]}',
               qr/none of its 3 entries is usable \(2 refused, 1 unavailable\)/,
               'list of refused entries']) {
    my ($doc, $why, $name) = @$case;
    mock_post('/__mock/models', $doc);
    # the host that accepts an empty list shows when the new one is in
    ok eventually(sub { !grep { $_ eq 'gpt-4o-mini' } ids('llmp_emptyok') }),
       "$name: accepted with LLMProxyAllowEmptyList on";
    my ($st, $h) = get_json('llmp_emptyok', '/health');
    is "$st $h->{status} $h->{models}", '200 ok 0',
       "$name: health ok with 0 models there";
    is post_json('/v1/chat/completions', $chat,
                 module => 'llmp_emptyok')->{status}, 404,
       "$name: and its models are gone";

    # the main server refuses it
    ok eventually(sub { ((get_json(undef, '/health'))[1]{last_error} // '')
                        =~ $why }), "$name: last_error says why";
    ($st, $h) = get_json(undef, '/health');
    is "$st $h->{status}", '200 degraded',
       "$name: health degraded (a list is loaded)";
    ok $h->{models} >= 20, "$name: health still counts the good list";
    ok((grep { $_ eq 'gpt-4o-mini' } ids()), "$name: /v1/models unchanged");
    is post_json('/v1/chat/completions', $chat)->{status}, 200,
       "$name: chat still served";

    # the gateway comes back
    mock_reset();
    ok eventually(sub { (get_json(undef, '/health'))[1]{status} eq 'ok' }),
       "$name: health ok again once the list is back";
    ok eventually(sub { grep { $_ eq 'gpt-4o-mini' } ids('llmp_emptyok') }),
       "$name: the host that took it has the models again";
}

# ---- a fresh child waits for its first parse instead of answering 503 ----
# A server of its own: 20,000 models, children that serve 50 connections
# each, keep-alive off, several clients at once. Every new child parses the
# list on its first requests; they all must be answered.
my $cfg = Apache::Test::config();
my $httpd = $cfg->{vars}{httpd};
my $dir = tempdir(CLEANUP => 1);
chmod 0755, $dir;

my $mport = free_port();
my $port = free_port();

my $mock = fork // die "fork: $!";
if (!$mock) {
    open STDOUT, '>', "$dir/mock.log";
    open STDERR, '>&', \*STDOUT;
    delete @ENV{qw(LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS)};
    exec 'python3', 't/mock/upstream.py', '--port', $mport,
         '--token', token();
    exit 127;
}
my $httpd_started;
END {
    if ($httpd_started) {
        system($httpd, '-f', "$dir/httpd.conf", '-k', 'stop');
        my $deadline = time + 10;
        sleep 0.2 while -e "$dir/httpd.pid" && time < $deadline;
    }
    kill 'TERM', $mock if $mock;
}
ok eventually(sub { mock_get('/__mock/stats', $mport) }, 10),
   'a mock gateway of its own';

my $n = 20000;
my $big = '{"models":[' . join(',', map {
    qq({"model_version":"m-$_","model_family":"gpt-4",)
    . qq("handle":"/openai/v1/chat/completions","prompt_price_1k":0.001})
} 1 .. $n) . ']}';
mock_post('/__mock/models', $big, $mport);

open my $fh, '>', "$dir/httpd.conf" or die $!;
print $fh own_httpd_head($dir, $port), <<"EOC";
LLMProxyModelListURL http://127.0.0.1:$mport/models
LLMProxyAuthToken ${\ token()}
LLMProxyRefreshInterval 300
KeepAlive Off
MaxConnectionsPerChild 50
StartServers 2
ServerLimit 6
ThreadsPerChild 8
MinSpareThreads 16
MaxSpareThreads 48
MaxRequestWorkers 48
<Location /v1>
    SetHandler llmproxy
</Location>
<Location /health>
    SetHandler llmproxy
</Location>
EOC
close $fh;
is system($httpd, '-f', "$dir/httpd.conf", '-k', 'start'), 0,
   'a server of its own starts';
$httpd_started = 1;
my $base = "http://127.0.0.1:$port";
ok eventually(sub {
    my $r = HTTP::Tiny->new(timeout => 5)->get("$base/health");
    $r->{status} == 200 && (json_decode($r->{content}) || {})->{models} == $n;
}, 30), "its list of $n models is loaded";

my ($clients, $each) = (6, 350);
my $t0 = time;
my @kids;
for my $c (1 .. $clients) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my %st;
        my $ua = HTTP::Tiny->new(timeout => 30, keep_alive => 0);
        for my $i (1 .. $each) {
            my $id = 'm-' . (1 + ($c * 7919 + $i * 104729) % $n);
            my $r = $ua->get("$base/v1/models/$id");
            my $ok = $r->{status} == 200
                     && (json_decode($r->{content}) || {})->{id} eq $id;
            $st{$ok ? 'ok' : $r->{status}}++;
        }
        open my $out, '>', "$dir/client.$c" or die $!;
        print $out join(' ', map { "$_=$st{$_}" } sort keys %st), "\n";
        close $out;
        POSIX::_exit(0);
    }
    push @kids, $pid;
}
waitpid $_, 0 for @kids;
my %total;
for my $c (1 .. $clients) {
    open my $in, '<', "$dir/client.$c" or next;
    for (split ' ', scalar <$in>) {
        my ($k, $v) = split /=/;
        $total{$k} += $v;
    }
}
my $summary = join ' ', map { "$_=$total{$_}" } sort keys %total;
my $secs = sprintf '%.1f', time - $t0;
is $total{ok} || 0, $clients * $each,
   "every request over a new connection answered by fresh children "
   . "($summary in $secs s)";
ok !$total{503}, 'no 503 while a child parses its first list';
my $log = do { local $/; open my $l, '<', "$dir/error_log"; <$l> // '' };
unlike $log, qr/exit signal|AddressSanitizer/, 'no child crashed';

done_testing();
