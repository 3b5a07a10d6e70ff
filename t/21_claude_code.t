# The real Claude Code (@anthropic-ai/claude-code, tests/sdk/claude_code_e2e.mjs)
# through the module's /v1/messages, for a model of each backend family (and
# a thinking Gemini and a reasoning OpenAI model, whose settings Claude
# Code's adaptive thinking turns on): a
# plain answer and a turn in which the model calls Claude Code's Bash tool,
# Claude Code runs it and sends the tool_result back; and Claude Code's own
# name claude-sonnet-4-5 aliased to an OpenAI model (LLMProxyModelAlias, on
# the llmp_alias host).
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;

my ($node) = grep { -x "$_/node" } split /:/, $ENV{PATH} || '';
plan skip_all => 'node or @anthropic-ai/claude-code is missing (make test installs them)'
    unless $node && -e 'tests/sdk/node_modules/.bin/claude';

ok wait_list(), 'model list loaded';
my $base = 'http://' . hostport_of();
node_cases("BASE_URL=$base", 'claude_code_e2e.mjs', 12, 'Claude Code');

# claude-sonnet-4-5 on a host that aliases it to gpt-4o-mini
ok wait_list('llmp_alias'), 'model list loaded (llmp_alias)';
mock_reset();
$base = 'http://' . hostport_of('llmp_alias');
node_cases("LLMP_ALIAS_RUN=1 BASE_URL=$base", 'claude_code_e2e.mjs', 2,
           'alias');
my @reqs = @{ mock_requests() || [] };
ok !(grep { $_->{path} =~ m{^/anthropic/} } @reqs),
   'the alias: no request reached the Anthropic backend';
ok((grep { $_->{path} =~ m{^/openai/v1/chat/completions$}
           && ($_->{body} // '') =~ /"model"\s*:\s*"gpt-4o-mini"/ } @reqs),
   '... gpt-4o-mini answered') or diag join ' ', map { "$_->{path}" } @reqs;
done_testing();
