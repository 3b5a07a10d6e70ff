# Timeouts and unreachable backends.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;
use Time::HiRes qw(time sleep);

plan tests => 9;

ok wait_list('llmp_timeout'), 'model list loaded';

my $t0 = time;
my $r = post_json('/v1/chat/completions',
    { model => 'mock-stall', messages => [{ role => 'user', content => 'x' }] },
    module => 'llmp_timeout');
is $r->{status}, 504, 'backend slower than LLMProxyTimeout: 504';
is $r->{json}{error}{code}, 'backend_timeout';
ok time - $t0 < 4.5, 'answered after about the timeout';

# A stream that goes silent longer than the timeout ends with an error
$t0 = time;
my $res = stream_raw('/v1/chat/completions',
    { model => 'mock-stall-stream', stream => JSON::PP::true,
      messages => [{ role => 'user', content => 'x' }] },
    module => 'llmp_timeout');
my @data = sse_data($res);
ok ref $data[-1] && $data[-1]{error}, 'stalled stream ends with an error event';
ok time - $t0 < 4.8, 'after the stall timeout, not the backend';

# The gateway goes away after its list was loaded: 502
ok wait_list('llmp_unreach'), 'second gateway list loaded';
open my $fh, '<', $ENV{LLMP_MOCK2_PIDFILE} or die "pidfile: $!";
chomp(my $pid = <$fh>);
kill 'TERM', $pid;
sleep 0.5;
$r = post_json('/v1/chat/completions',
    { model => 'gpt-4o-mini', messages => [{ role => 'user', content => 'x' }] },
    module => 'llmp_unreach');
is $r->{status}, 502, 'backend unreachable: 502';
is $r->{json}{error}{code}, 'backend_unreachable';
