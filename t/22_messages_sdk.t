# The Messages API (/v1/messages, /v1/messages/count_tokens) through the
# official Anthropic SDK (@anthropic-ai/sdk, tests/sdk/messages_e2e.mjs), for
# a model of each backend family.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;

my ($node) = grep { -x "$_/node" } split /:/, $ENV{PATH} || '';
plan skip_all => 'node or @anthropic-ai/sdk is missing (make test installs them)'
    unless $node && -d 'tests/sdk/node_modules/@anthropic-ai/sdk';

ok wait_list(), 'model list loaded';
my $base = 'http://' . hostport_of();
my @lines = `BASE_URL=$base node tests/sdk/messages_e2e.mjs 2>&1`;
my $n = 0;
for my $l (@lines) {
    my $r = json_decode($l);
    unless ($r) { diag $l; next }
    $n++;
    ok $r->{ok}, $r->{name} or diag $r->{detail};
}
ok $n >= 26, "every Anthropic SDK case ran ($n)";
done_testing();
