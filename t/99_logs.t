# The token never reaches a log; no crash, no sanitizer report.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;

plan tests => 7;

sub slurp { my $f = shift; open my $fh, '<', $f or return ''; local $/; <$fh> }

my $err = slurp('t/logs/error_log');
my $acc = slurp('t/logs/llmproxy_log') . slurp('t/logs/access_log');
ok length $err, 'error_log read';
my $tok = token();
ok index($err, $tok) < 0, 'token absent from error_log';
ok index($acc, $tok) < 0, 'token absent from access logs';
ok index($err, 'pw-7q2-SECRET') < 0, 'password of a list URL absent from error_log';
like $err, qr{http://user\@127\.0\.0\.1:\d+/models}, '... which shows the URL without it';
ok $err !~ /exit signal|Segmentation fault|AddressSanitizer|runtime error:/,
   'no child crashed';
my @san = (glob('t/logs/asan.*'), glob('t/logs/ubsan.*'));
ok !@san, 'no sanitizer report' or diag slurp($san[0]);
