# The real Claude Code (@anthropic-ai/claude-code, tests/sdk/claude_code_e2e.mjs)
# through the module's /v1/messages, for a model of each backend family (and
# a thinking Gemini and a reasoning OpenAI model, whose settings Claude
# Code's adaptive thinking turns on): a
# plain answer and a turn in which the model calls Claude Code's Bash tool,
# Claude Code runs it and sends the tool_result back.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;

my ($node) = grep { -x "$_/node" } split /:/, $ENV{PATH} || '';
plan skip_all => 'node or @anthropic-ai/claude-code is missing (make test installs them)'
    unless $node && -e 'tests/sdk/node_modules/.bin/claude';

ok wait_list(), 'model list loaded';
my $base = 'http://' . hostport_of();
my @lines = `BASE_URL=$base node tests/sdk/claude_code_e2e.mjs 2>&1`;
my $n = 0;
for my $l (@lines) {
    my $r = json_decode($l);
    unless ($r) { diag $l; next }
    $n++;
    ok $r->{ok}, $r->{name} or diag $r->{detail};
}
ok $n >= 12, "every Claude Code case ran ($n)";
done_testing();
