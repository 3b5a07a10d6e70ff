# Periodic refresh: one fetch per interval for the whole server, a changed
# list is picked up by every child, a failing list keeps the last good one.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;
use HTTP::Tiny;
use Time::HiRes qw(time sleep);

plan tests => 8;

ok wait_list(), 'model list loaded';

# LLMProxyRefreshInterval 2, several children and virtual hosts sharing the
# list: the mock must see about one fetch every 2 s, not one per child.
my $start = mock_stats()->{list_fetches};
sleep 6.2;
my $n = mock_stats()->{list_fetches} - $start;
ok $n >= 2 && $n <= 4, "one fetch per interval for the server ($n in 6 s)";

# A changed list reaches every child (ask many times: requests spread over
# the children)
open my $fh, '<', 't/mock/models.json' or die $!;
my $doc = json_decode(do { local $/; <$fh> });
close $fh;
push @{ $doc->{models} }, { model_version => 'refreshed-model',
    model_family => 'gpt-4', handle => '/openai/v1/chat/completions' };
mock_post('/__mock/models', json_encode($doc));
my $deadline = time + 8;
my $seen = 0;
while (time < $deadline && !$seen) {
    my $j = json_decode(HTTP::Tiny->new->get('http://' . hostport_of()
                                             . '/v1/models')->{content});
    $seen = grep { $_->{id} eq 'refreshed-model' } @{ $j->{data} };
    sleep 0.3 unless $seen;
}
ok $seen, 'refresh picks up a changed list';
my $all = 1;
for (1 .. 30) {
    my $r = post_json('/v1/chat/completions', { model => 'refreshed-model',
        messages => [{ role => 'user', content => 'x' }] });
    $all = 0 unless $r->{status} == 200;
}
ok $all, 'every child serves the new list';

# The list URL fails: the last good list stays, health says degraded
mock_post('/__mock/models-status', { status => 500 });
sleep 4.5;
my $r = post_json('/v1/chat/completions', { model => 'refreshed-model',
    messages => [{ role => 'user', content => 'x' }] });
is $r->{status}, 200, 'last good list kept while the list URL fails';
my $h = json_decode(HTTP::Tiny->new->get('http://' . hostport_of()
                                         . '/health')->{content});
is $h->{status}, 'degraded', 'health: degraded';
like $h->{last_error}, qr/HTTP 500/, 'health: last error';

# ... and recovers
mock_reset();
$deadline = time + 10;
while (time < $deadline) {
    $h = json_decode(HTTP::Tiny->new->get('http://' . hostport_of()
                                          . '/health')->{content});
    last if $h->{status} eq 'ok';
    sleep 0.3;
}
is $h->{status}, 'ok', 'recovers when the list URL comes back';
