# The Responses API (/v1/responses) through the clients that speak it: the
# openai SDK (client.responses), the OpenAI Agents SDK and the AI SDK
# (tests/sdk/responses_e2e.mjs), for a model of each backend family.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;

our $TODO;

my ($node) = grep { -x "$_/node" } split /:/, $ENV{PATH} || '';
plan skip_all => 'node or the SDK packages are missing (make test installs them)'
    unless $node && -d 'tests/sdk/node_modules/@openai/agents' && -d 'tests/sdk/node_modules/ai';

ok wait_list(), 'model list loaded';
my $base = 'http://' . hostport_of() . '/v1';
my @lines = `BASE_URL=$base node tests/sdk/responses_e2e.mjs 2>&1`;
my $n = 0;
for my $l (@lines) {
    my $r = json_decode($l);
    unless ($r) { diag $l; next }
    $n++;
    local $TODO = $r->{todo} if $r->{todo};
    ok $r->{ok}, $r->{name} or diag $r->{detail};
}
ok $n >= 45, "every Responses SDK case ran ($n)";
done_testing();
