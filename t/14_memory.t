# Memory: one request costs a bounded multiple of its size. A Cohere embed
# answer of about 36 MB (t/mock/providers/bigembed.py, model embed-big) is
# translated while we watch the peak resident memory (VmHWM) of the httpd
# children: its growth must stay below LIMIT times the answer's size.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestUtil qw(t_debug);
use HTTP::Tiny;
use LLMPTest;

# ASan's shadow memory and quarantine make resident sizes meaningless
if ($ENV{LLMP_ASAN}) {
    plan skip_all => 'peak memory is not measured under ASan';
}
elsif (!-r '/proc/self/status') {
    plan skip_all => 'no /proc/<pid>/status';
}
else {
    plan tests => 9;
}

# The backend's body (1x), its cJSON tree (about 80 bytes a number, 7
# times the text of a Cohere vector) and our answer (1x) are alive at once:
# about 9 times the answer (measured: 9.0x). Copying the vectors and
# printing with retries cost 18.5x; one more copy of the tree would too.
my $LIMIT = 11;

my $logs = Apache::Test::vars('t_logs');

sub children {
    open my $f, '<', "$logs/httpd.pid" or return ();
    my $ppid = <$f>;
    close $f;
    chomp $ppid;
    return () unless $ppid =~ /^\d+$/;
    my @pids = grep { /^\d+$/ } map { s/\s+//gr } `ps --ppid $ppid -o pid=`;
    return @pids;
}

# The peak resident size of each child, in bytes.
sub peaks {
    my %kb;
    for my $pid (children()) {
        open my $f, '<', "/proc/$pid/status" or next;
        while (<$f>) { $kb{$pid} = $1 * 1024 if /^VmHWM:\s+(\d+)\s+kB/ }
        close $f;
    }
    return %kb;
}

ok wait_list(), 'model list loaded';
my @texts = map { "text number $_" } 1 .. 96;

# The backend's answer as the gateway sends it: its size is the measure.
my $native = HTTP::Tiny->new(timeout => 60)->post(
    "http://127.0.0.1:$ENV{LLMP_MOCK_PORT}/bigembed/v2/embed",
    { headers => { 'Content-Type' => 'application/json',
                   Authorization => 'OAuth ' . token() },
      content => json_encode({ model => 'embed-big', texts => \@texts,
                               input_type => 'search_document',
                               embedding_types => ['float'] }) });
is $native->{status}, 200, 'the mock answers';
my $size = length $native->{content};
ok $size > 30_000_000, "the answer is big ($size bytes)";
my ($first) = $native->{content} =~ /"float":\[(\[[^\]]*\])/;

# warm up every child a little (the list, the first request's pools)
for (1 .. 4) {
    post_json('/v1/embeddings', { model => 'embed-big', input => ['x'] },
              timeout => 60);
}

my %before = peaks();
ok scalar(keys %before), 'httpd children found';
my $hp = hostport_of();
my $r = HTTP::Tiny->new(timeout => 180)->post("http://$hp/v1/embeddings",
    { headers => { 'Content-Type' => 'application/json' },
      content => json_encode({ model => 'embed-big', input => \@texts }) });
my %after = peaks();

is $r->{status}, 200, 'big embeddings answer';
my $body = $r->{content};
my $n = () = $body =~ /"object":"embedding"/g;
is $n, 96, 'one embedding per text';
my ($got) = $body =~ /"index":0,"embedding":(\[[^\]]*\])/;
ok defined $got && defined $first && $got eq $first,
   'the first vector is the backend\'s, number for number';

my ($growth, $who) = (0, '');
for my $pid (keys %after) {
    my $g = $after{$pid} - ($before{$pid} // 0);
    ($growth, $who) = ($g, $pid) if $g > $growth;
}
my $ratio = $size ? $growth / $size : 0;
t_debug(sprintf "peak RSS growth %.1f MB in child %s for a %.1f MB answer: "
        . "%.2fx", $growth / 1e6, $who, $size / 1e6, $ratio);
diag(sprintf "peak RSS growth %.1f MB for a %.1f MB answer (%.2fx)",
     $growth / 1e6, $size / 1e6, $ratio);
ok $growth > 0, 'the growth is measured';
ok $growth < $LIMIT * $size,
   "peak memory grows less than ${LIMIT}x the answer's size";
