package LLMPTest;
# Helpers for the mod_llmproxy Apache::Test suite: the mock gateway's
# control API, JSON, and a raw-socket client that timestamps SSE events.
use strict;
use warnings FATAL => 'all';
use Exporter 'import';
use HTTP::Tiny;
use IO::Socket::INET;
use IO::Select;
use JSON::PP;
use Time::HiRes qw(time sleep);
use Apache::Test;
use Apache::TestRequest;

our @EXPORT = qw(mock_get mock_post mock_reset mock_requests mock_stats
                 json_decode json_encode wait_list post_json stream_raw
                 hostport_of last_request token sse_data stream_text
                 stream_finish node_cases named_events free_port
                 own_httpd_head);

my $JSON = JSON::PP->new->utf8->canonical;

sub token { $ENV{LLMP_TOKEN} }
sub json_decode { my $s = shift; my $r = eval { $JSON->decode($s) }; $r }
sub json_encode { $JSON->encode(shift) }

sub mock_base { "http://127.0.0.1:" . ($_[0] || $ENV{LLMP_MOCK_PORT}) }

sub mock_get {
    my ($path, $port) = @_;
    my $r = HTTP::Tiny->new(timeout => 10)->get(mock_base($port) . $path);
    return json_decode($r->{content});
}

sub mock_post {
    my ($path, $body, $port) = @_;
    $body = json_encode($body) if ref $body;
    my $r = HTTP::Tiny->new(timeout => 10)->post(mock_base($port) . $path,
        { content => defined $body ? $body : '',
          headers => { 'Content-Type' => 'application/json' } });
    return json_decode($r->{content});
}

sub mock_reset    { mock_post('/__mock/reset') }
sub mock_requests { mock_get('/__mock/requests') }
sub mock_stats    { mock_get('/__mock/stats') }

# The last request the mock received whose path matches $re.
sub last_request {
    my $re = shift;
    my @r = grep { $_->{path} =~ $re } @{ mock_requests() || [] };
    return $r[-1];
}

sub hostport_of {
    my $module = shift;
    local $Apache::TestRequest::Module = $module if $module;
    return Apache::TestRequest::hostport(Apache::Test::config());
}

# Wait until the virtual host's model list is loaded (or 20 s).
sub wait_list {
    my ($module, $secs) = @_;
    my $hp = hostport_of($module);
    my $deadline = time + ($secs || 20);
    while (time < $deadline) {
        my $r = HTTP::Tiny->new(timeout => 5)->get("http://$hp/v1/models");
        return 1 if $r->{status} == 200;
        sleep 0.2;
    }
    return 0;
}

# POST a JSON body (a ref is encoded) to $path on a virtual host.
sub post_json {
    my ($path, $body, %opt) = @_;
    my $hp = hostport_of($opt{module});
    $body = json_encode($body) if ref $body;
    if ($opt{chunked}) {
        # a code ref makes HTTP::Tiny send Transfer-Encoding: chunked
        my @pieces = unpack '(a1000)*', $body;
        $body = sub { shift @pieces };
    }
    my $r = HTTP::Tiny->new(timeout => $opt{timeout} || 30)->request(
        $opt{method} || 'POST', "http://$hp$path",
        { content => $body,
          headers => { 'Content-Type' => 'application/json',
                       %{ $opt{headers} || {} } } });
    $r->{json} = json_decode($r->{content});
    return $r;
}

# Send a request over a raw socket and read the answer, noting when each
# "data:" line arrives. close_after => N hangs up after N events.
sub stream_raw {
    my ($path, $body, %opt) = @_;
    my $hp = hostport_of($opt{module});
    my ($host, $port) = split /:/, $hp;
    $body = json_encode($body) if ref $body;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Timeout => 5) or die "connect: $!";
    my $extra = join '', map { "$_: $opt{headers}{$_}\r\n" }
                keys %{ $opt{headers} || {} };
    print $s "POST $path HTTP/1.1\r\nHost: $hp\r\nContent-Type: "
           . "application/json\r\nContent-Length: " . length($body)
           . "\r\n${extra}Connection: close\r\n\r\n$body";
    my $sel = IO::Select->new($s);
    my ($raw, $pending, @events) = ('', '');
    my $t0 = time;
    my $deadline = $t0 + ($opt{timeout} || 30);
    while (time < $deadline) {
        last unless $sel->can_read($deadline - time);
        my $n = sysread($s, my $buf, 65536);
        last unless $n;
        my $now = time;
        $raw .= $buf;
        $pending .= $buf;
        while ($pending =~ s/^.*?(data: [^\r\n]*)\r?\n//s) {
            push @events, [ $now - $t0, $1 ];
        }
        if ($opt{close_after} && @events >= $opt{close_after}) {
            close $s;
            return { raw => $raw, events => \@events, closed => 1,
                     elapsed => time - $t0 };
        }
    }
    close $s;
    my ($head) = split /\r\n\r\n/, $raw, 2;
    my ($status) = ($head || '') =~ m{^HTTP/1\.\d (\d+)};
    return { raw => $raw, head => $head || '', status => $status || 0,
             events => \@events, elapsed => time - $t0 };
}

# The JSON payloads of the events ("[DONE]" kept as a string).
sub sse_data {
    my $res = shift;
    return map { my $d = $_->[1]; $d =~ s/^data: //;
                 $d eq '[DONE]' ? $d : json_decode($d) } @{ $res->{events} };
}

# The text a translated OpenAI stream carries (its content deltas joined)
# and the finish_reason of its final chunk.
sub stream_text {
    return join '', map { ref $_ && @{ $_->{choices} || [] }
                          ? ($_->{choices}[0]{delta}{content} // '') : '' } @_;
}

sub stream_finish {
    my ($fin) = grep { ref $_ && @{ $_->{choices} || [] }
                       && $_->{choices}[0]{finish_reason} } @_;
    return $fin && $fin->{choices}[0]{finish_reason};
}

# The events of a whole stream body of named events (Responses, Messages):
# [name, decoded data] for each event that has data.
sub named_events {
    my $body = shift;
    my @ev;
    for my $block (split /\r?\n\r?\n/, $body) {
        my ($name) = $block =~ /^event: ([^\r\n]*)/m;
        my $data = join "\n", $block =~ /^data: ([^\r\n]*)/mg;
        next unless length $data;
        push @ev, [ $name, json_decode($data) ];
    }
    return @ev;
}

# Run a script of tests/sdk that prints one JSON line per case
# ({"name","ok","detail"[,"todo"]}), with the environment given ("K=V ..."):
# one test per case (a case with "todo" is a known failure), and one that
# at least $min cases ran. Returns how many ran.
our $TODO;
sub node_cases {
    my ($env, $script, $min, $what) = @_;
    my @lines = `$env node tests/sdk/$script 2>&1`;
    my $n = 0;
    for my $l (@lines) {
        my $r = json_decode($l);
        unless ($r) { Test::More::diag($l); next }
        $n++;
        local $TODO = $r->{todo} if $r->{todo};
        Test::More::ok($r->{ok}, $r->{name})
            or Test::More::diag($r->{detail});
    }
    Test::More::ok($n >= $min, "every $what case ran ($n)");
    return $n;
}

# A port on 127.0.0.1 that is free now (for a server a test starts itself).
sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1) or die $!;
    my $p = $s->sockport;
    close $s;
    return $p;
}

# The first lines of the config of an httpd a test starts itself in $dir on
# 127.0.0.1:$port: the suite's MPM (LLMP_MPM), authz_core, the modules
# named (e.g. 'authn_core'), then mod_llmproxy (LLMP_SO).
sub own_httpd_head {
    my ($dir, $port, @modules) = @_;
    my $cfg = Apache::Test::config();
    my $moddir = `$cfg->{vars}{apxs} -q LIBEXECDIR`;
    chomp $moddir;
    my $mpm = $ENV{LLMP_MPM} || 'event';
    my $user = $< == 0 ? "User www-data\nGroup www-data\n" : '';
    return join '', qq(ServerRoot "$dir"\nServerName 127.0.0.1\n),
        qq(PidFile "$dir/httpd.pid"\nErrorLog "$dir/error_log"\n),
        "LogLevel warn\nListen 127.0.0.1:$port\n$user\n",
        qq(LoadModule mpm_${mpm}_module "$moddir/mod_mpm_$mpm.so"\n),
        map({ qq(LoadModule ${_}_module "$moddir/mod_$_.so"\n) }
            'authz_core', @modules),
        qq(LoadModule llmproxy_module "$ENV{LLMP_SO}"\n);
}

1;
