# The official OpenAI Node SDK against the module (tests/sdk/e2e.mjs).
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;

my ($node) = grep { -x "$_/node" } split /:/, $ENV{PATH} || '';
plan skip_all => 'node or the openai package is missing (make test installs them)'
    unless $node && -d 'tests/sdk/node_modules/openai';

ok wait_list(), 'model list loaded';
my $base = 'http://' . hostport_of() . '/v1';
my @lines = `BASE_URL=$base node tests/sdk/e2e.mjs 2>&1`;
my $n = 0;
for my $l (@lines) {
    my $r = json_decode($l);
    unless ($r) { diag $l; next }
    $n++;
    ok $r->{ok}, "sdk: $r->{name}" or diag $r->{detail};
}
ok $n >= 20, "every SDK case ran ($n)";
done_testing();
