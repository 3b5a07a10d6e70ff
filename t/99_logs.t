# The token never reaches a log; no crash, no sanitizer report.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;

plan tests => 8;

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

# Every warning or error in error_log is one the tests provoke on purpose
# (mod_md's harness does the same): an unexpected one fails the run.
my @expected = (
    qr/\[llmproxy:error\] .*fetching \S+ failed: /,
    qr/\[llmproxy:warn\] .*model list entry .* skipped: /,
    # an alias to a model the list lacks (t/23_alias.t)
    qr/\[llmproxy:warn\] .*LLMProxyModelAlias \S+ \S+: the model list from \S+ has no model /,
    qr/\[llmproxy:error\] .*model list from \S+ rejected: /,
    qr/\[llmproxy:warn\] .*backend for model '(?:mock-|hostile-)[^']*' answered /,
    qr/\[llmproxy:warn\] .*stream from the backend for model '[^']*' ended early: /,
    qr/\[llmproxy:warn\] .*stream for model '[^']*' ended with an error: /,
    qr/\[llmproxy:error\] .*backend call for model '[^']*' failed: /,
    # mod_proxy_http's own words for the hostile backends (stalls, resets,
    # a 101, a refused connection)
    qr/\[proxy(?:_http)?:error\] .*AH0(?:1102|1110|1114|0898|0940|0957)/,
    # ... and for the TLS gateway that swaps its certificate (t/15_tls.t)
    qr/\[proxy(?:_http)?:error\] .*AH0(?:1084|1097): pass request body failed/,
    # mod_ssl at start-up: no session cache (the module needs none), and
    # Debian's mod_ssl built against a newer OpenSSL than the one installed
    qr/\[ssl:warn\] .*AH0(?:1873|1882): /,
    # a usage database that refuses rows (t/27_usagedb.t, llmp_usagedb_ro)
    qr/\[llmproxy:error\] .*usage database: the row was not written \(table usage_ro\)/,
    # a key file that is missing or broken (t/24_keys.t)
    qr/\[llmproxy:error\] .*API key file \S+ cannot be used, /,
    # ... and mod_authz_core's word for a key whose user a Require refuses
    qr/\[authz_core:error\] .*AH01631: user \w+: authorization failure for "\/(?:alice|bob)\/v1\//,
    # the limits' Redis stopped on purpose (t/28_limits.t)
    qr/\[llmproxy:error\] .*limits: Redis \S+: /,
);
my @unexpected;
for my $line (split /\n/, $err) {
    next unless $line =~ /\[[a-z_0-9]+:(?:warn|error|crit|alert|emerg)\]/;
    next if grep { $line =~ $_ } @expected;
    push @unexpected, $line;
}
ok !@unexpected, 'no unexpected warning or error in error_log'
    or diag join "\n", @unexpected[0 .. ($#unexpected < 9 ? $#unexpected : 9)];
