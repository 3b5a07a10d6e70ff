# Chat pass-through: body forwarded byte for byte, OAuth header, no client
# credentials, backend status and body returned, envelope unwrapped, notes.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;
use Encode ();

plan tests => 41;

ok wait_list(), 'model list loaded';
mock_reset();

# An unusual but valid body: odd spacing, unicode, unknown fields, key order
my $body = qq({ "messages":[{"role":"user","content":"h\\u00e9llo \x{e2}\x{9c}\x{93}"}],)
         . qq(  "model" : "gpt-4o-mini", "x_custom": [1, 2.50, null] ,"temperature":0.7 });
my $r = post_json('/v1/chat/completions', $body,
                  headers => { Authorization => 'Bearer sk-client-secret',
                               Cookie => 'session=abc' });
is $r->{status}, 200, 'pass-through chat';
is $r->{json}{object}, 'chat.completion';
like $r->{json}{choices}[0]{message}{content}, qr/^echo: h/, 'backend answer';
like $r->{headers}{'content-type'}, qr{^application/json}, 'content type';

my $seen = last_request(qr{^/openai/v1/chat/completions$});
ok $seen, 'backend called at origin + handle';
is Encode::encode_utf8($seen->{body}), $body, 'body forwarded byte for byte';
is $seen->{headers}{authorization}, 'OAuth ' . token(), 'OAuth token sent';
ok !exists $seen->{headers}{cookie}, 'client cookie not forwarded';
is $seen->{headers}{'content-type'}, 'application/json';

# Model id with slashes
$r = post_json('/v1/chat/completions',
    { model => 'accounts/fireworks/models/llama-v3p1-405b-instruct',
      messages => [{ role => 'user', content => 'hi' }] });
is $r->{status}, 200, 'model id with slashes';
ok last_request(qr{^/fireworks/chat/completions$}), 'fireworks handle';

# The gateway's {"response": ...} envelope is unwrapped
$r = post_json('/v1/chat/completions',
    { model => 'mock-envelope', messages => [{ role => 'user', content => 'x' }] });
is $r->{status}, 200;
is $r->{json}{object}, 'chat.completion', 'envelope unwrapped';
ok !exists $r->{json}{response};

# A backend's own error status and body are passed through
$r = post_json('/v1/chat/completions',
    { model => 'mock-error', messages => [{ role => 'user', content => 'x' }] });
is $r->{status}, 429, 'backend status passed through';
is $r->{json}{error}{code}, 'rate_limit_exceeded', 'backend body passed through';

# A success body that is not JSON (an HTML page, garbage) is a 502 with an
# OpenAI error, not a 200 the SDKs cannot parse
$r = post_json('/v1/chat/completions',
    { model => 'mock-garbage', messages => [{ role => 'user', content => 'x' }] });
is $r->{status}, 502, 'non-JSON success body: 502';
is $r->{json}{error}{code}, 'bad_backend_response', 'non-JSON body: OpenAI error';
unlike $r->{content}, qr/oops/, 'the garbage is not shown';

# A backend that resets the connection halfway through its answer: 502
$r = post_json('/v1/chat/completions',
    { model => 'mock-reset', messages => [{ role => 'user', content => 'x' }] });
is $r->{status}, 502, 'backend reset mid-answer: 502';
is $r->{json}{error}{code}, 'backend_error', 'backend reset: OpenAI error';

# A large request body reaches the backend whole (and the answer comes back)
my $long = join '', map { chr(97 + $_ % 26) } 1 .. 600_000;
$r = post_json('/v1/chat/completions',
    { model => 'gpt-4o-mini', messages => [{ role => 'user', content => $long }] });
is $r->{status}, 200, 'a 600 KB request';
is $r->{json}{choices}[0]{message}{content}, "echo: $long",
   'the whole body reached the backend';

# A virtual host whose timeouts differ from the main server's, sharing its
# mod_proxy configuration: its buffered calls go through libcurl, and the
# start-up log says why (checked in the log below)
ok wait_list('llmp_curlfb'), 'llmp_curlfb list loaded';
$r = post_json('/v1/chat/completions',
    { model => 'GigaChat-2-Max', messages => [{ role => 'user', content => 'x' }] },
    module => 'llmp_curlfb');
is $r->{status}, 200, 'a call from a host that cannot use the shared worker';

# Notes for LogFormat: %{llmproxy-model}n and %{llmproxy-backend-status}n
sleep 1;
open my $fh, '<', 't/logs/llmproxy_log' or die $!;
my @log = <$fh>;
close $fh;
ok scalar(grep { /model=mock-error provider=openai backend=429/ } @log),
   'log notes: model, provider, backend status';
ok scalar(grep { /chat\.completions model=gpt-4o-mini .*backend=200/ } @log),
   'log notes: endpoint';
# Buffered calls go through mod_proxy_http when it is loaded and
# LLMProxyUseModProxy is on (make test), through libcurl otherwise
# (make test-worker); streams always through libcurl
my $via = ($ENV{LLMP_MODPROXY} || 'On') =~ /^on$/i ? 'mod_proxy' : 'libcurl';
ok scalar(grep { /model=mock-error .*via=\Q$via\E$/ } @log),
   "log notes: buffered call via $via";
ok scalar(grep { /model=GigaChat-2-Max .*via=libcurl$/ } @log),
   'other timeouts than the shared worker: via libcurl';
my $elog = do { local $/; open my $efh, '<', 't/logs/error_log' or die $!; <$efh> };
if ($via eq 'mod_proxy') {
    like $elog, qr/the mod_proxy worker for http:\/\/127\.0\.0\.1:\d+ has other timeouts/,
         'and the error log says why';
}
else {
    pass 'LLMProxyUseModProxy Off: no worker to compare';
}

# Embeddings and legacy completions pass through for OpenAI handles
$r = post_json('/v1/embeddings', { model => 'text-embedding-3-small',
                                   input => ['a', 'b'] });
is scalar @{ $r->{json}{data} || [] }, 2, 'embeddings pass-through';

$r = post_json('/v1/completions', { model => 'gpt-3.5-turbo-instruct',
                                    prompt => 'Say this is a test' });
is $r->{status}, 200, 'legacy completions pass-through';
is $r->{json}{object}, 'text_completion';

# LLMProxyProviderRule: this handle ends in /messages (Anthropic's by the
# built-in rules) but the rule says OpenAI-compatible: passed through as is
my $cbody = '{"model":"custom-oai","messages":[{"role":"user","content":"hi"}]}';
$r = post_json('/v1/chat/completions', $cbody);
is $r->{status}, 200, 'provider rule: answered';
is $r->{json}{object}, 'chat.completion', 'provider rule: answer passed through';
my $native = last_request(qr{^/custom-oai/});
is $native && $native->{body}, $cbody, 'provider rule: body not translated';

# LLMProxyForwardClientAuth on (and no token): the client's credentials go
# to the backend, and nothing else does
ok wait_list('llmp_fwd'), 'llmp_fwd list loaded';
my $fwd = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}';
$r = post_json('/v1/chat/completions', $fwd, module => 'llmp_fwd',
               headers => { Authorization => 'OAuth ' . token() });
is $r->{status}, 200, 'client credentials forwarded when configured';
$r = post_json('/v1/chat/completions', $fwd, module => 'llmp_fwd');
is $r->{status}, 401, 'no credentials: the backend refuses';
ok !exists last_request(qr{^/openai/})->{headers}{authorization},
   'no Authorization header invented';
