# Rate limits and budgets (LLMProxyLimit, LLMProxyLimitStore,
# LLMProxyLimitStoreFailure, LLMProxyLimitStateFile): requests a minute,
# an <If> override for one user, 100 requests in parallel, token and cost
# budgets, the headers and error shapes of OpenAI and Anthropic, Redis
# shared by two httpd servers, Redis stopped (open and closed), counters
# across a graceful restart and (shm + state file) a stop and start.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;
use HTTP::Tiny;
use MIME::Base64 qw(encode_base64);
use Time::HiRes qw(sleep time);
use POSIX qw(WNOHANG);
use File::Path qw(make_path remove_tree);
use Cwd qw(abs_path);

plan tests => 35;

my $PW = 'limits-pw-throwaway';
sub basic { ('Authorization' => 'Basic ' . encode_base64("$_[0]:$PW", '')) }

# Fixed windows: a minute's counters start at :00. Begin a scenario early
# in a minute so that it does not straddle two.
sub fresh_minute {
    my $s = (gmtime)[0];
    sleep(61 - $s) if $s >= 45;
}

my $chat = { model => 'gpt-4o-mini',
             messages => [{ role => 'user', content => 'hi' }] };

sub chat {
    my ($user, %opt) = @_;
    return post_json($opt{path} || '/v1/chat/completions', $opt{body} || $chat,
                     module => $opt{module} || 'llmp_limits',
                     headers => { $user ? basic($user) : () });
}

ok wait_list(), "model list loaded";
ok wait_list($_), "$_: model list loaded"
    for qw(llmp_limits_redis llmp_limits_closed);

# ---- N+1 requests against N a minute: exactly one 429 ----
fresh_minute();
mock_reset();
my @st;
my $last;
for my $i (1 .. 6) {
    $last = chat('req');
    push @st, $last->{status};
}
is "@st", '200 200 200 200 200 429', '6 requests against 5 a minute: the 6th is refused';
is $last->{headers}{'retry-after'} =~ /^\d+$/ ? 1 : 0, 1, '... Retry-After in seconds';
my $ra = $last->{headers}{'retry-after'} // 0;
my $left = 60 - (gmtime)[0];
ok $ra >= 1 && $ra <= 60 && abs($ra - $left) <= 2,
   "... until the end of the minute ($ra s, $left s left)";
is $last->{json}{error}{code}, 'rate_limit_exceeded', '... code rate_limit_exceeded';
is $last->{json}{error}{type}, 'rate_limit_exceeded', '... type rate_limit_exceeded';
like $last->{json}{error}{message}, qr/Rate limit reached for requests/, '... a message';
is $last->{headers}{'x-ratelimit-limit-requests'}, 5, '... x-ratelimit-limit-requests on the refusal';
is $last->{headers}{'x-ratelimit-remaining-requests'}, 0, '... none remaining';
like $last->{headers}{'x-ratelimit-reset-requests'} // '', qr/^(\d+m)?\d+s$/, '... x-ratelimit-reset-requests';
is scalar(grep { $_->{path} =~ m{/openai/} } @{ mock_requests() }), 5,
   '... the refused request never reached the backend';

# the headers on a served answer
my $r = chat('msg');
is $r->{status}, 200, 'another user has his own counter';
is $r->{headers}{'x-ratelimit-limit-requests'}, 5, '... x-ratelimit-limit-requests';
is $r->{headers}{'x-ratelimit-remaining-requests'}, 4, '... x-ratelimit-remaining-requests';
like $r->{headers}{'x-ratelimit-reset-requests'} // '', qr/^(\d+m)?\d+s$/, '... x-ratelimit-reset-requests';
ok !exists $r->{headers}{'anthropic-ratelimit-requests-limit'}, '... no Anthropic headers on chat completions';

# ---- the Messages front: Anthropic's headers and error ----
my $msg = { model => 'gpt-4o-mini', max_tokens => 20,
            messages => [{ role => 'user', content => 'hi' }] };
for (1 .. 3) { $r = chat('msg', path => '/v1/messages', body => $msg) }
is $r->{status}, 200, '/v1/messages under the limit: 200';
is $r->{headers}{'anthropic-ratelimit-requests-limit'}, 5, '... anthropic-ratelimit-requests-limit';
is $r->{headers}{'anthropic-ratelimit-requests-remaining'}, 1, '... anthropic-ratelimit-requests-remaining';
like $r->{headers}{'anthropic-ratelimit-requests-reset'} // '',
     qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, '... anthropic-ratelimit-requests-reset (RFC 3339)';
is $r->{headers}{'x-ratelimit-remaining-requests'}, 1, '... and OpenAI\'s';
chat('msg', path => '/v1/messages', body => $msg);
$r = chat('msg', path => '/v1/messages', body => $msg);
is $r->{status}, 429, '/v1/messages over the limit: 429';
is $r->{json}{type}, 'error', '... Anthropic\'s error shape';
is $r->{json}{error}{type}, 'rate_limit_error', '... rate_limit_error';
ok $r->{headers}{'retry-after'} >= 1, '... Retry-After';
is $r->{headers}{'anthropic-ratelimit-requests-remaining'}, 0, '... none remaining';

# ---- <If> for one user ----
@st = map { chat('alice')->{status} } 1 .. 9;
is "@st", '200 200 200 200 200 200 200 200 429', 'alice (<If>): 8 a minute';
is chat('alice')->{headers}{'x-ratelimit-limit-requests'}, 8, '... her limit in the headers';

# ---- 100 requests in parallel never let more than the limit through ----
{
    my $hp = hostport_of('llmp_limits');
    my $body = json_encode($chat);
    my @kids;
    my $dir = "t/logs/limits-par";
    remove_tree($dir); make_path($dir);
    for my $i (1 .. 100) {
        my $pid = fork();
        die "fork: $!" unless defined $pid;
        if (!$pid) {
            my $res = HTTP::Tiny->new(timeout => 60)->post(
                "http://$hp/v1/chat/completions",
                { content => $body, headers => { 'Content-Type' => 'application/json', basic('conc') } });
            open my $fh, '>', "$dir/$i" or POSIX::_exit(1);
            print $fh $res->{status};
            close $fh;
            POSIX::_exit(0);
        }
        push @kids, $pid;
    }
    waitpid($_, 0) for @kids;
    my %n;
    for my $i (1 .. 100) {
        open my $fh, '<', "$dir/$i" or next;
        my $s = <$fh> // ''; close $fh;
        $n{$s}++;
    }
    is $n{200} // 0, 5, '100 requests in parallel against 5 a minute: 5 served';
    is $n{429} // 0, 95, '... 95 refused';
}

# ---- /health shows the store ----
$r = HTTP::Tiny->new->get('http://' . hostport_of('llmp_limits') . '/health');
my $h = json_decode($r->{content});
is $h->{limits}{store}, 'shm', '/health: limits store shm';
is $h->{limits}{state}, 'ok', '... ok';
ok $h->{limits}{refusals} >= 95, '... refusals counted';
