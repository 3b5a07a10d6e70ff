# The real Codex CLI (@openai/codex, tests/sdk/codex_e2e.mjs) through the
# module's /v1/responses, for a model of each backend family: a plain
# answer, an exec_command tool turn and an apply_patch (custom tool) turn.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;

our $TODO;

my ($node) = grep { -x "$_/node" } split /:/, $ENV{PATH} || '';
plan skip_all => 'node or @openai/codex is missing (make test installs them)'
    unless $node && -e 'tests/sdk/node_modules/.bin/codex';

ok wait_list(), 'model list loaded';
my $base = 'http://' . hostport_of() . '/v1';
my @lines = `BASE_URL=$base node tests/sdk/codex_e2e.mjs 2>&1`;
my $n = 0;
for my $l (@lines) {
    my $r = json_decode($l);
    unless ($r) { diag $l; next }
    $n++;
    local $TODO = $r->{todo} if $r->{todo};
    ok $r->{ok}, $r->{name} or diag $r->{detail};
}
ok $n >= 15, "every Codex case ran ($n)";
done_testing();
