# The Responses API (/v1/responses) through the clients that speak it: the
# openai SDK (client.responses), the OpenAI Agents SDK and the AI SDK
# (tests/sdk/responses_e2e.mjs), for a model of each backend family.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;

my ($node) = grep { -x "$_/node" } split /:/, $ENV{PATH} || '';
plan skip_all => 'node or the SDK packages are missing (make test installs them)'
    unless $node && -d 'tests/sdk/node_modules/@openai/agents' && -d 'tests/sdk/node_modules/ai';

ok wait_list(), 'model list loaded';
my $base = 'http://' . hostport_of() . '/v1';
node_cases("BASE_URL=$base", 'responses_e2e.mjs', 45, 'Responses SDK');
done_testing();
