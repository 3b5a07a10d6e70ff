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
node_cases("BASE_URL=$base", 'messages_e2e.mjs', 26, 'Anthropic SDK');
done_testing();
