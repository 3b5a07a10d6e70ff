# An https gateway: buffered calls through mod_proxy_http and mod_ssl (make
# test) or libcurl (make test-worker, LLMProxyUseModProxy Off), with the
# peer checks LLMProxySSLVerify and LLMProxyCACertificateFile ask for and
# no SSLProxy* directive; streams through libcurl.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;
use Time::HiRes qw(sleep);

plan tests => 41;

my $modproxy = ($ENV{LLMP_MODPROXY} || 'On') =~ /^on$/i;
my $via = $modproxy ? 'mod_proxy' : 'libcurl';

sub chat {
    my ($module, $model, $text) = @_;
    return post_json('/v1/chat/completions',
        { model => $model, messages => [{ role => 'user', content => $text }] },
        module => $module);
}

sub log_lines {
    sleep 1;   # the access log is written after the answer
    open my $fh, '<', 't/logs/llmproxy_log' or die $!;
    my @l = <$fh>;
    return @l;
}

# llmp_tls: the mock's certificate from the configured CA
ok wait_list('llmp_tls'), 'llmp_tls: model list over https';
my $r = chat('llmp_tls', 'gpt-4o-mini', 'tls-chat-1');
is $r->{status}, 200, 'chat over https';
is $r->{json}{choices}[0]{message}{content}, 'echo: tls-chat-1',
   'the answer came back';
$r = post_json('/v1/embeddings', { model => 'text-embedding-3-small',
                                   input => ['tls-a', 'tls-b'] },
               module => 'llmp_tls');
is $r->{status}, 200, 'embeddings over https';
is scalar @{ $r->{json}{data} || [] }, 2, 'both vectors';
$r = post_json('/v1/chat/completions',
    { model => 'claude-3-7-sonnet-20250219', max_tokens => 20,
      messages => [{ role => 'user', content => 'tls-anthropic' }] },
    module => 'llmp_tls');
is $r->{status}, 200, 'a translated call (Anthropic) over https';
is $r->{json}{object}, 'chat.completion', 'in OpenAI shape';
# a few more on the same server: connections reused
my $ok = 0;
for my $i (1 .. 5) {
    $r = chat('llmp_tls', 'gpt-4o-mini', "tls-again-$i");
    $ok++ if $r->{status} == 200
             && $r->{json}{choices}[0]{message}{content} eq "echo: tls-again-$i";
}
is $ok, 5, 'five more calls';

my $res = stream_raw('/v1/chat/completions',
    { model => 'gpt-4o-mini', stream => JSON::PP::true,
      messages => [{ role => 'user', content => 'tls stream' }] },
    module => 'llmp_tls');
is $res->{status}, 200, 'a stream over https';
my @d = sse_data($res);
is $d[-1], '[DONE]', 'to its end';
ok length(stream_text(@d)), 'with text';

my @log = log_lines();
ok scalar(grep { /chat\.completions model=gpt-4o-mini .*backend=200 .*via=\Q$via\E$/ } @log),
   "chat over https via $via";
ok scalar(grep { /embeddings model=text-embedding-3-small .*backend=200 .*via=\Q$via\E$/ } @log),
   "embeddings over https via $via";
ok scalar(grep { /model=claude-3-7-sonnet-20250219 .*backend=200 .*via=\Q$via\E$/ } @log),
   "translated call over https via $via";
ok !grep({ /model=gpt-4o-mini .*backend=200 .*via=mod_proxy$/ } @log) || $modproxy,
   'LLMProxyUseModProxy Off: never mod_proxy';
# (a stream is never buffered: libcurl; its note is checked in 04_stream.t)

# llmp_tls_badca: a CA that does not sign the mock's certificate. The list
# does not load (libcurl refuses the gateway); nothing is served.
$r = HTTP::Tiny->new(timeout => 10)
    ->get('http://' . hostport_of('llmp_tls_badca') . '/v1/models');
is $r->{status}, 503, 'bad CA: no model list';
$r = chat('llmp_tls_badca', 'gpt-4o-mini', 'tls-badca');
is $r->{status}, 503, 'bad CA: a call is refused';
is json_decode($r->{content})->{error}{code}, 'model_list_unavailable',
   '... as the list is not there';
my $elog = do { local $/; open my $efh, '<', 't/logs/error_log' or die $!; <$efh> };
like $elog, qr{fetching https://127\.0\.0\.1:\d+/models failed: SSL certificate problem},
     'and the error log says why';

# llmp_tls_sysca: no CA file, the system's CAs (libcurl's default bundle);
# the test CA is not one of them
$r = chat('llmp_tls_sysca', 'gpt-4o-mini', 'tls-sysca');
is $r->{status}, 503, 'system CAs: the list is refused';
if ($modproxy) {
    like $elog, qr{calls to https://127\.0\.0\.1:\d+ through mod_proxy_http and mod_ssl: certificate checked against /\S+ .*\(libcurl's default\)},
         'system CAs: mod_ssl checks against the system bundle';
}
else {
    pass 'LLMProxyUseModProxy Off: libcurl uses its own';
}

# llmp_tls_shared: llmp_tls's settings, but the main server's mod_proxy
# configuration, shared with llmp_tls_badca: libcurl, and the log says why
ok wait_list('llmp_tls_shared'), 'shared configuration: model list';
$r = chat('llmp_tls_shared', 'accounts/fireworks/models/llama-v3p1-405b-instruct',
          'tls-shared');
is $r->{status}, 200, 'shared configuration: chat';
@log = log_lines();
ok scalar(grep { m{model=accounts/fireworks/\S+ .*backend=200 .*via=libcurl$} } @log),
   'shared configuration, other certificate checks: via libcurl';
if ($modproxy) {
    like $elog, qr{sharing a mod_proxy configuration \(so its worker for https://127\.0\.0\.1:\d+\) check the gateway's certificate differently},
         '... and the error log says why';
}
else {
    pass 'LLMProxyUseModProxy Off: no worker';
}

# llmp_tls_noverify: LLMProxySSLVerify off, the wrong CA: works
ok wait_list('llmp_tls_noverify'), 'no verification: model list';
$r = chat('llmp_tls_noverify', 'GigaChat-2-Max', 'tls-noverify');
is $r->{status}, 200, 'no verification: chat';
is $r->{json}{choices}[0]{message}{content}, 'echo: tls-noverify', '... answered';
@log = log_lines();
ok scalar(grep { /model=GigaChat-2-Max .*backend=200 .*via=\Q$via\E$/ } @log),
   "no verification: via $via";

# llmp_tls_swap: its gateway's certificate is replaced while the server
# runs, by one from the right CA for another name, then by one from another
# CA: every call fails from then on, buffered (new connections through
# mod_proxy) or streamed
ok wait_list('llmp_tls_swap'), 'swap: model list';
my $mark = () = log_lines();   # (other test files log such calls too)
$r = chat('llmp_tls_swap', 'gpt-4o-mini', 'tls-swap-before');
is $r->{status}, 200, 'swap: a call before';

sub swap_to {
    my $n = shift;
    # (the control call itself checks nothing: the name no longer matches)
    my $r = HTTP::Tiny->new(timeout => 10, verify_SSL => 0)->post(
        "https://127.0.0.1:$ENV{LLMP_MOCK_TLS2_PORT}/__mock/tls-alt?n=$n");
    sleep 0.5;
    return $r->{status} == 200 && $r->{content} =~ /"ok"/;
}

sub all_fail {
    my ($what) = @_;
    my (%st, %code);
    for my $i (1 .. 3) {
        $r = chat('llmp_tls_swap', 'gpt-4o-mini', "tls-swap-after-$i");
        $st{$r->{status}}++;
        $code{(json_decode($r->{content}) || {})->{error}{code} // ''}++;
    }
    is_deeply \%st, { 502 => 3 }, "$what: every buffered call fails (502)";
    ok !grep({ $_ !~ /^backend_(error|unreachable)$/ } keys %code),
       "$what: as backend_error or backend_unreachable"
       or diag explain \%code;
}

ok swap_to(0), 'the gateway now shows a certificate for another name';
all_fail('another name');
if ($modproxy) {
    $elog = do { local $/; open my $efh, '<', 't/logs/error_log' or die $!; <$efh> };
    like $elog, qr{\[ssl:\w+\].*Peer certificate does not match for hostname 127\.0\.0\.1},
         'another name: mod_ssl refused it';
}
else {
    pass 'LLMProxyUseModProxy Off: libcurl refused it';
}

ok swap_to(1), 'the gateway now shows a certificate from another CA';
all_fail('another CA');
$res = stream_raw('/v1/chat/completions',
    { model => 'gpt-4o-mini', stream => JSON::PP::true,
      messages => [{ role => 'user', content => 'tls stream after' }] },
    module => 'llmp_tls_swap');
is $res->{status}, 502, 'another CA: a stream fails too';
@log = log_lines();
splice @log, 0, $mark;
is scalar(grep { /^502 chat\.completions model=gpt-4o-mini .*error=backend_\w+ via=\Q$via\E$/ } @log),
   $modproxy ? 6 : 7, "the failed buffered calls went via $via"
   . ($modproxy ? '' : ' (and the stream)');
$elog = do { local $/; open my $efh, '<', 't/logs/error_log' or die $!; <$efh> };
if ($modproxy) {
    like $elog, qr{\[ssl:\w+\].*Certificate Verification: Error},
         'another CA: mod_ssl refused it';
}
else {
    pass 'LLMProxyUseModProxy Off: libcurl refused it';
}
