# Usage and cost of every call (issue 12): the request notes
# llmproxy-prompt-tokens, -completion-tokens, -cached-tokens, -cost,
# -ttft-ms and -user, written by a CustomLog of t/conf/extra.conf.in
# (logs/usage_log), for each provider family, each protocol, streams and
# not; a pass-through stream whose client did not ask for the usage sees
# exactly what the backend would have sent it.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;
use HTTP::Tiny;
use MIME::Base64;
use Time::HiRes qw(sleep);

plan tests => 130;

ok wait_list(), 'model list loaded';
ok wait_list('llmp_usage_off'), 'model list loaded (LLMProxyStreamUsage off)';

# the prices of t/mock/models.json
my %price = (
    'gpt-4o-mini'                => [0.00015, 0.0006],
    'claude-3-7-sonnet-20250219' => [0.003, 0.015],
    'gemini-2.0-flash'           => [0.0001, 0.0004],
    'command-r-plus'             => [0.0025, 0.01],
    'gpt-5-resp'                 => [0.00125, 0.01],
    'gpt-3.5-turbo-instruct'     => [0.0015, 0.002],
    'text-embedding-3-small'     => [0.00002, 0],
    'embed-english-v3.0'         => [0.0001, 0],
);

my $run = "$$-" . int(rand(1e6));
my $n = 0;

# The usage_log line of the request tagged $id (written after the answer
# went out: waited for).
sub usage_line {
    my $id = shift;
    for (1 .. 50) {
        if (open my $fh, '<', 't/logs/usage_log') {
            for my $l (<$fh>) {
                next unless $l =~ /^id=\Q$id\E /;
                my %f = $l =~ /(\w+)=(\S*)/g;
                return \%f;
            }
        }
        sleep 0.1;
    }
    return {};
}

sub tag { 'u' . $run . '-' . ++$n }

sub call {
    my ($path, $body, %opt) = @_;
    my $id = tag();
    my $r = post_json($path, $body, %opt,
                      headers => { 'X-Usage-Test' => $id,
                                   %{ $opt{headers} || {} } });
    return ($r, usage_line($id));
}

sub stream {
    my ($path, $body, %opt) = @_;
    my $id = tag();
    my $r = stream_raw($path, $body, %opt,
                       headers => { 'X-Usage-Test' => $id,
                                    %{ $opt{headers} || {} } });
    return ($r, usage_line($id));
}

# Exact tokens, and the cost as the formula gives it (the same double),
# written as plain decimal text without exponent or trailing zeros.
sub usage_is {
    my ($u, $model, $prompt, $completion, $cached, $name) = @_;
    my ($pp, $cp) = @{ $price{$model} };
    my $cost = $prompt / 1000 * $pp + $completion / 1000 * $cp;
    is "$u->{prompt}/$u->{completion}/$u->{cached}",
       "$prompt/$completion/$cached", "$name: tokens";
    ok $u->{cost} =~ /^(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$/
       && $u->{cost} == $cost && $cost > 0,
       "$name: cost $u->{cost} (expected $cost)";
}

my $msgs = [{ role => 'user', content => 'one two three' }];
my $t = JSON::PP::true;

# ---- OpenAI-compatible, passed through ----
my ($r, $u) = call('/v1/chat/completions',
                   { model => 'gpt-4o-mini', messages => $msgs });
is $r->{status}, 200, 'openai: 200';
usage_is $u, 'gpt-4o-mini', 3, 2, 0, 'openai';
is $u->{ttft}, '-', 'openai: no time to first token without a stream';
is $u->{ep}, 'chat.completions', 'openai: endpoint note';

($r, $u) = stream('/v1/chat/completions',
    { model => 'gpt-4o-mini', messages => $msgs, stream => $t,
      stream_options => { include_usage => $t } });
my @d = sse_data($r);
is ref $d[-2] && $d[-2]{usage}{completion_tokens}, 4,
   'openai stream (include_usage): the client has its usage chunk';
is scalar(grep { ref $_ && exists $_->{usage} } @d), scalar(@d) - 1,
   'openai stream (include_usage): usage members as the backend sent them';
usage_is $u, 'gpt-4o-mini', 3, 4, 0, 'openai stream (include_usage)';
like $u->{ttft}, qr/^\d+$/, 'openai stream: time to first token';

# the client did not ask: the backend is asked, the client sees nothing of it
mock_reset();
my $plain = { model => 'gpt-4o-mini', messages => $msgs, stream => $t };
($r, $u) = stream('/v1/chat/completions', $plain);
is $r->{status}, 200, 'openai stream: 200';
my $nb = json_decode(last_request(qr{/openai/v1/chat/completions})->{body});
ok $nb->{stream_options}{include_usage}, 'openai stream: the backend was '
   . 'asked for the usage';
usage_is $u, 'gpt-4o-mini', 3, 4, 0, 'openai stream (usage not asked)';
like $u->{ttft}, qr/^\d+$/, 'openai stream (usage not asked): ttft';
@d = sse_data($r);
ok !(grep { ref $_ && exists $_->{usage} } @d),
   'openai stream: no usage member reaches the client';
ok !(grep { ref $_ && !@{ $_->{choices} } } @d),
   'openai stream: no usage chunk reaches the client';
{
    # what the backend sends a client that does not ask, byte for byte
    my $direct = HTTP::Tiny->new(timeout => 10)->post(
        "http://127.0.0.1:$ENV{LLMP_MOCK_PORT}/openai/v1/chat/completions",
        { content => json_encode($plain),
          headers => { 'Content-Type' => 'application/json',
                       Authorization => 'OAuth ' . token() } });
    my ($body) = $r->{raw} =~ /\r\n\r\n(.*)\z/s;
    # (chunked transfer coding of the relayed stream undone)
    my $dechunked = '';
    while ($body =~ s/^([0-9a-fA-F]+)\r\n//) {
        my $len = hex $1;
        last unless $len;
        $dechunked .= substr($body, 0, $len, '');
        $body =~ s/^\r\n//;
    }
    my $want = $direct->{content};
    s/"created":\d+/"created":0/g for $dechunked, $want;
    is $dechunked, $want, 'openai stream: the bytes the backend sends a '
       . 'client that does not ask for the usage';
}

# a client that says no (include_usage false) is asked for too, and sees
# nothing of it
($r, $u) = stream('/v1/chat/completions',
    { %$plain, stream_options => { include_usage => JSON::PP::false } });
@d = sse_data($r);
ok @d > 2 && !(grep { ref $_ && (exists $_->{usage} || !@{ $_->{choices} }) }
                    @d), 'openai stream (include_usage false): no usage seen';
usage_is $u, 'gpt-4o-mini', 3, 4, 0, 'openai stream (include_usage false)';

# LLMProxyStreamUsage off: the request as it came, no counts
mock_reset();
($r, $u) = stream('/v1/chat/completions', $plain, module => 'llmp_usage_off');
is $r->{status}, 200, 'LLMProxyStreamUsage off: 200';
$nb = json_decode(last_request(qr{/openai/v1/chat/completions})->{body});
ok !exists $nb->{stream_options}, 'LLMProxyStreamUsage off: the request '
   . 'as the client sent it';
is "$u->{prompt}/$u->{completion}/$u->{cost}", '-/-/0',
   'LLMProxyStreamUsage off: no counts, no cost';

# a backend that answers a stream request with one body (replayed)
($r, $u) = stream('/v1/chat/completions',
    { model => 'mock-nostream', messages => $msgs, stream => $t });
@d = sse_data($r);
ok !(grep { ref $_ && exists $_->{usage} } @d),
   'replayed stream: no usage reaches the client';
is "$u->{prompt}/$u->{completion}", '3/2', 'replayed stream: tokens';

# legacy completions, embeddings
($r, $u) = call('/v1/completions',
                { model => 'gpt-3.5-turbo-instruct', prompt => 'hi' });
usage_is $u, 'gpt-3.5-turbo-instruct', 4, 1, 0, 'completions';
($r, $u) = stream('/v1/completions',
    { model => 'gpt-3.5-turbo-instruct', prompt => 'hi', stream => $t });
@d = sse_data($r);
is scalar(@d), 4, 'completions stream: three chunks and [DONE]';
ok !(grep { ref $_ && exists $_->{usage} } @d),
   'completions stream: no usage reaches the client';
usage_is $u, 'gpt-3.5-turbo-instruct', 4, 2, 0, 'completions stream';
($r, $u) = call('/v1/embeddings',
                { model => 'text-embedding-3-small', input => 'hello' });
usage_is $u, 'text-embedding-3-small', 2, 0, 0, 'embeddings';
# translated (Cohere's billed_units), read once from the translated tree
($r, $u) = call('/v1/embeddings',
                { model => 'embed-english-v3.0', input => ['a b', 'c'] });
my $eu = $r->{json}{usage}{prompt_tokens};
ok $eu, 'cohere embeddings: usage answered';
usage_is $u, 'embed-english-v3.0', $eu // -1, 0, 0, 'cohere embeddings';

# ---- translated families: the answer's usage is the log's ----
for my $m ('claude-3-7-sonnet-20250219', 'gemini-2.0-flash',
           'command-r-plus') {
    ($r, $u) = call('/v1/chat/completions',
                    { model => $m, messages => $msgs });
    my $au = $r->{json}{usage} || {};
    ok $au->{prompt_tokens} && $au->{completion_tokens}, "$m: usage answered";
    my $cached = $au->{prompt_tokens_details}{cached_tokens} // 0;
    usage_is $u, $m, $au->{prompt_tokens} // -1,
             $au->{completion_tokens} // -1, $cached, $m;
    # a stream's usage is its usage chunk's
    my ($sr, $su) = stream('/v1/chat/completions',
        { model => $m, messages => $msgs, stream => $t,
          stream_options => { include_usage => $t } });
    my @sd = sse_data($sr);
    my $cu = ref $sd[-2] && $sd[-2]{usage} || {};
    is $cu->{prompt_tokens}, $au->{prompt_tokens},
       "$m stream (include_usage): the client's usage chunk";
    usage_is $su, $m, $cu->{prompt_tokens} // -1,
             $cu->{completion_tokens} // -1, $cached,
             "$m stream (include_usage)";
    ($sr, $su) = stream('/v1/chat/completions',
                        { model => $m, messages => $msgs, stream => $t });
    @sd = sse_data($sr);
    ok @sd > 2 && $sd[-1] eq '[DONE]', "$m stream: whole";
    ok !(grep { ref $_ && exists $_->{usage} } @sd),
       "$m stream: no usage reaches a client that did not ask";
    usage_is $su, $m, $cu->{prompt_tokens} // -1,
             $cu->{completion_tokens} // -1, $cached, "$m stream";
    like $su->{ttft}, qr/^\d+$/, "$m stream: ttft";
}

# Anthropic's input_tokens without the cache: the prompt is the three
($r, $u) = call('/v1/chat/completions',
    { model => 'claude-3-7-sonnet-20250219',
      messages => [{ role => 'user', content => 'cache me' }] });
my $in = $r->{json}{usage}{prompt_tokens} - 110;
ok $in > 0, 'anthropic cache: input tokens';
usage_is $u, 'claude-3-7-sonnet-20250219', $in + 110,
         $r->{json}{usage}{completion_tokens}, 100, 'anthropic cache';

# ---- the Responses front ----
for my $m ('claude-3-7-sonnet-20250219', 'gpt-4o-mini', 'gemini-2.0-flash') {
    ($r, $u) = call('/v1/responses', { model => $m, input => 'one two three',
                                       store => JSON::PP::false });
    my $ru = $r->{json}{usage} || {};
    is $r->{status}, 200, "responses $m: 200";
    usage_is $u, $m, $ru->{input_tokens} // -1, $ru->{output_tokens} // -1,
             $ru->{input_tokens_details}{cached_tokens} // 0,
             "responses $m";
    my ($sr, $su) = stream('/v1/responses',
        { model => $m, input => 'one two three', stream => $t,
          store => JSON::PP::false });
    my ($done) = grep { $_->[0] eq 'response.completed' }
                 named_events(($sr->{raw} =~ /\r\n\r\n(.*)\z/s)[0]);
    my $cu = $done ? $done->[1]{response}{usage} : {};
    usage_is $su, $m, $cu->{input_tokens} // -1, $cu->{output_tokens} // -1,
             $cu->{input_tokens_details}{cached_tokens} // 0,
             "responses $m stream";
    like $su->{ttft}, qr/^\d+$/, "responses $m stream: ttft";
}

# a backend of the Responses API, passed through
($r, $u) = call('/v1/responses', { model => 'gpt-5-resp',
                                   input => 'one two three' });
is $r->{status}, 200, 'native responses: 200';
my $ru = $r->{json}{usage} || {};
ok $ru->{input_tokens} && $ru->{output_tokens}, 'native responses: usage';
usage_is $u, 'gpt-5-resp', $ru->{input_tokens} // -1,
         $ru->{output_tokens} // -1,
         $ru->{input_tokens_details}{cached_tokens} // 0, 'native responses';
($r, $u) = stream('/v1/responses', { model => 'gpt-5-resp',
                                     input => 'one two three', stream => $t });
{
    my ($done) = grep { $_->[0] eq 'response.completed' }
                 named_events(($r->{raw} =~ /\r\n\r\n(.*)\z/s)[0]);
    my $cu = $done ? $done->[1]{response}{usage} : {};
    usage_is $u, 'gpt-5-resp', $cu->{input_tokens} // -1,
             $cu->{output_tokens} // -1,
             $cu->{input_tokens_details}{cached_tokens} // 0,
             'native responses stream';
    like $u->{ttft}, qr/^\d+$/, 'native responses stream: ttft';
}

# ---- the Messages front, and Anthropic's own Messages passed through ----
my $mreq = { max_tokens => 100, messages => $msgs };
for my $m ('gpt-4o-mini', 'gemini-2.0-flash', 'command-r-plus') {
    ($r, $u) = call('/v1/messages', { %$mreq, model => $m });
    my $mu = $r->{json}{usage} || {};
    is $r->{status}, 200, "messages $m: 200";
    usage_is $u, $m, ($mu->{input_tokens} // -1)
                     + ($mu->{cache_read_input_tokens} // 0),
             $mu->{output_tokens} // -1, $mu->{cache_read_input_tokens} // 0,
             "messages $m";
    my ($sr, $su) = stream('/v1/messages', { %$mreq, model => $m,
                                             stream => $t });
    my @ev = named_events(($sr->{raw} =~ /\r\n\r\n(.*)\z/s)[0]);
    # (the front's message_delta has the whole usage)
    my ($md) = grep { $_->[0] eq 'message_delta' } @ev;
    my $du = $md ? $md->[1]{usage} : {};
    usage_is $su, $m, ($du->{input_tokens} // -1)
                      + ($du->{cache_read_input_tokens} // 0),
             $du->{output_tokens} // -1,
             $du->{cache_read_input_tokens} // 0, "messages $m stream";
}
($r, $u) = call('/v1/messages', { %$mreq, model => 'claude-3-7-sonnet-20250219',
    messages => [{ role => 'user', content => 'cache me' }] });
my $mu = $r->{json}{usage} || {};
is $mu->{cache_read_input_tokens}, 100, 'native messages: cache read';
usage_is $u, 'claude-3-7-sonnet-20250219', $mu->{input_tokens} + 110,
         $mu->{output_tokens}, 100, 'native messages';
($r, $u) = stream('/v1/messages', { %$mreq, stream => $t,
    model => 'claude-3-7-sonnet-20250219',
    messages => [{ role => 'user', content => 'cache me' }] });
usage_is $u, 'claude-3-7-sonnet-20250219', $mu->{input_tokens} + 110,
         $mu->{output_tokens}, 100, 'native messages stream';
like $u->{ttft}, qr/^\d+$/, 'native messages stream: ttft';

# count_tokens: nothing used
($r, $u) = call('/v1/messages/count_tokens',
                { model => 'claude-3-7-sonnet-20250219', messages => $msgs });
is $r->{status}, 200, 'count_tokens: 200';
is "$u->{prompt}/$u->{completion}", '-/-', 'count_tokens: no tokens used';
ok $u->{cost} eq '-' || $u->{cost} eq '0', 'count_tokens: no cost';

# an error: nothing used, no cost
($r, $u) = call('/v1/chat/completions',
                { model => 'mock-error', messages => $msgs });
is $r->{status}, 429, 'backend error: 429';
is "$u->{prompt}/$u->{cost}", '-/0', 'backend error: no tokens, no cost';

# the user: r->user
($r, $u) = call('/v1/chat/completions',
    { model => 'gpt-4o-mini', messages => $msgs },
    module => 'llmp_rstore_auth',
    headers => { Authorization => 'Basic '
                 . encode_base64('alice:alice-pw-throwaway', '') });
is $r->{status}, 200, 'authenticated: 200';
is $u->{user}, 'alice', 'llmproxy-user: the authenticated user';
usage_is $u, 'gpt-4o-mini', 3, 2, 0, 'authenticated';
