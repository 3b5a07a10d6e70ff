# The real Codex CLI (@openai/codex, tests/sdk/codex_e2e.mjs) through the
# module's /v1/responses, for a model of each backend family: a plain
# answer, an exec_command tool turn and an apply_patch (custom tool) turn.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;

my ($node) = grep { -x "$_/node" } split /:/, $ENV{PATH} || '';
plan skip_all => 'node or @openai/codex is missing (make test installs them)'
    unless $node && -e 'tests/sdk/node_modules/.bin/codex';

ok wait_list(), 'model list loaded';
my $base = 'http://' . hostport_of() . '/v1';
node_cases("BASE_URL=$base", 'codex_e2e.mjs', 15, 'Codex');
done_testing();
