# Streaming: events delivered one by one as they arrive, never compressed
# or buffered, a client that leaves stops the backend, resets end cleanly.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;
use Time::HiRes qw(time sleep);

plan tests => 26;

ok wait_list(), 'model list loaded';
mock_reset();

my $res = stream_raw('/v1/chat/completions',
    { model => 'mock-slow-stream', stream => JSON::PP::true,
      messages => [{ role => 'user', content => 'hi' }] },
    headers => { 'Accept-Encoding' => 'gzip' });
is $res->{status}, 200, 'stream status';
like $res->{head}, qr{Content-Type: text/event-stream}i, 'event stream';
unlike $res->{head}, qr{Content-Encoding}i, 'not compressed by mod_deflate';
my @ev = @{ $res->{events} };
is scalar @ev, 8, 'all events (role, 5 words, stop, [DONE])';
is $ev[-1][1], 'data: [DONE]', 'ends with [DONE]';
# the mock waits 0.3 s before each event: they must arrive spread out
my $spread = $ev[-2][0] - $ev[0][0];
ok $spread > 1.5, sprintf('events arrive as sent (spread %.2fs)', $spread);
my @gaps = map { $ev[$_][0] - $ev[$_ - 1][0] } 1 .. $#ev - 1;
ok !(grep { $_ < 0.1 } @gaps), 'each event flushed on its own';

# A client that disconnects stops the backend transfer
mock_reset();
my $t0 = time;
$res = stream_raw('/v1/chat/completions',
    { model => 'mock-long-stream', stream => JSON::PP::true,
      messages => [{ role => 'user', content => 'hi' }] }, close_after => 3);
ok $res->{closed}, 'client hung up after 3 events';
my $stopped = 0;
for (1 .. 40) {
    if ((mock_stats()->{disconnects} || 0) >= 1) { $stopped = 1; last }
    sleep 0.1;
}
ok $stopped, 'backend transfer stopped';
ok time - $t0 < 6, 'well before the 10 s stream would have ended';

# A backend reset mid-stream ends the client's stream with an error event
$res = stream_raw('/v1/chat/completions',
    { model => 'mock-reset-stream', stream => JSON::PP::true,
      messages => [{ role => 'user', content => 'hi' }] });
my @data = sse_data($res);
ok @data >= 2, 'events before the reset arrived';
my $last = $data[-1];
ok ref $last && $last->{error}, 'an error event ends the stream';
is ref $last && $last->{error}{type}, 'api_error';

# A backend that answers a stream request with one JSON body: the client
# still gets a stream (the SDKs' stream parser would fail on JSON)
$res = stream_raw('/v1/chat/completions',
    { model => 'mock-nostream', stream => JSON::PP::true,
      stream_options => { include_usage => JSON::PP::true },
      messages => [{ role => 'user', content => 'hi' }] });
like $res->{head}, qr{Content-Type: text/event-stream}i, 'JSON answer replayed as a stream';
@data = sse_data($res);
is $data[0]{choices}[0]{delta}{content}, 'echo: hi', 'content chunk';
is $data[1]{choices}[0]{finish_reason}, 'stop', 'finish chunk';
is $data[2]{usage}{total_tokens}, 5, 'usage chunk';
is $data[-1], '[DONE]', 'then [DONE]';

# Legacy /v1/completions streams too: the backend's text_completion chunks
# are relayed as they come, then [DONE]
$res = stream_raw('/v1/completions',
    { model => 'gpt-3.5-turbo-instruct', stream => JSON::PP::true,
      prompt => 'say done' });
is $res->{status}, 200, 'completions stream: 200';
like $res->{head}, qr{Content-Type: text/event-stream}i, '... an event stream';
@data = sse_data($res);
is join('', map { ref $_ ? $_->{choices}[0]{text} : '' } @data), 'done',
   '... of text_completion chunks';
is ref $data[-2] && $data[-2]{choices}[0]{finish_reason}, 'stop',
   '... the last with finish_reason';
is $data[-1], '[DONE]', '... then [DONE]';
is last_request(qr{/v1/completions$})->{body} =~ /"stream"\s*:\s*true/ ? 1 : 0, 1,
   'the backend was asked for a stream';

# Streams are relayed by libcurl, event by event, whatever
# LLMProxyUseModProxy says (%{llmproxy-via}n)
sleep 1;
open my $lfh, '<', 't/logs/llmproxy_log' or die $!;
my @log = <$lfh>;
close $lfh;
ok scalar(grep { /model=mock-slow-stream .*via=libcurl$/ } @log),
   'log notes: a stream goes via libcurl';
