# API keys (AuthType llmproxy-key, LLMProxyKeyFile, llmproxy-keys): keys made
# with the command work with the official SDKs, as a Bearer token or
# x-api-key; the key's user is r->user (Require user, %u); a missing or
# wrong key is a 401 in the endpoint's shape with WWW-Authenticate: Bearer;
# a revoked key stops working without a restart; a key never reaches the
# gateway, a log or an error body.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use Time::HiRes qw(sleep);
use LLMPTest;

my $tool = dirname($ENV{LLMP_SO} || 'build/mod_llmproxy.so') . '/llmproxy-keys';
plan skip_all => "$tool is missing (make builds it)" unless -x $tool;

sub slurp { my $f = shift; open my $fh, '<', $f or return ''; local $/; <$fh> }

my $dir = 't/keys';
make_path($dir);
my $file = "$dir/llmproxy.keys";
unlink $file, "$dir/missing.keys";
# (the tool under ASan: its pools live until exit)
my $run = "ASAN_OPTIONS=detect_leaks=0 $tool";

sub add_key {
    my ($user, @comment) = @_;
    my @out = `$run add $file $user @comment 2>/dev/null`;
    return ($? == 0 && @out) ? do { chomp(my $k = $out[-1]); $k } : undef;
}

ok wait_list(), 'model list loaded';

# ---- the command ----
my $help = `$run --help`;
like $help, qr/add FILE USER.*revoke FILE USER.*list FILE/s, '--help: usage';
my $alice = add_key('alice', 'laptop');
my $bob = add_key('bob');
my $carol = add_key('carol');
like $alice, qr/^sk-llmp-[A-Za-z0-9_-]{43}$/, 'add: a key, last line of stdout';
like $bob, qr/^sk-llmp-/, 'add: a second user';
isnt $alice, $bob, 'two different keys';
my $text = slurp($file);
ok $text =~ /^alice [0-9a-f]{64} laptop$/m && $text =~ /^bob [0-9a-f]{64}$/m,
   'the file: user, hash, comment';
ok index($text, $alice) < 0 && index($text, substr($alice, 8)) < 0,
   'the file holds no key';
my $list = `$run list $file`;
like $list, qr/^alice\t[0-9a-f]{8}\tlaptop$/m, 'list: user, short hash, comment';
unlike $list, qr/[0-9a-f]{9}/, 'list: never a whole hash';
system("$run add $file 'two words' >/dev/null 2>&1");
isnt $?, 0, 'add: a user name with a blank is refused';
my $mode = (stat $file)[2] & 07777;
chmod 0640, $file;
ok add_key('dave'), 'add keeps working';
is((stat $file)[2] & 07777, 0640, 'add keeps the file mode');
chmod $mode, $file;

my $chat = { model => 'gpt-4o-mini',
             messages => [{ role => 'user', content => 'hi' }] };
my $msg = { model => 'claude-sonnet-4-5', max_tokens => 20,
            messages => [{ role => 'user', content => 'hi' }] };
my %K = (module => 'llmp_keys');
sub bearer { { Authorization => "Bearer $_[0]" } }

# ---- authentication ----
mock_reset();
my $r = post_json('/v1/chat/completions', $chat, %K, headers => bearer($alice));
is $r->{status}, 200, 'chat with a key as Bearer: 200';
$r = post_json('/v1/messages', $msg, %K,
               headers => { 'x-api-key' => $alice, 'anthropic-version' => '2023-06-01' });
is $r->{status}, 200, 'messages with a key as x-api-key: 200';
is $r->{json} && $r->{json}{type}, 'message', '... a message';

$r = post_json('/v1/chat/completions', $chat, %K);
is $r->{status}, 401, 'no key: 401';
is $r->{headers}{'www-authenticate'}, 'Bearer', '... WWW-Authenticate: Bearer';
like $r->{headers}{'content-type'}, qr{^application/json}, '... JSON, not a page';
is $r->{json} && $r->{json}{error}{code}, 'invalid_api_key',
   '... OpenAI-shaped: code invalid_api_key';
ok $r->{json} && exists $r->{json}{error}{type}
   && exists $r->{json}{error}{param}, '... with type and param';

my $wrong = 'sk-llmp-' . ('Zq9' x 14) . 'x';
$r = post_json('/v1/chat/completions', $chat, %K, headers => bearer($wrong));
is $r->{status}, 401, 'wrong key: 401';
is $r->{headers}{'www-authenticate'}, 'Bearer', '... WWW-Authenticate: Bearer';
ok index($r->{content}, $wrong) < 0 && index($r->{content}, 'Zq9Zq9') < 0,
   '... the key is not in the body';
$r = post_json('/v1/chat/completions', $chat, %K,
               headers => { Authorization => 'Basic YWxpY2U6cHc=' });
is $r->{status}, 401, 'Basic credentials are no key: 401';

for my $path ('/v1/messages', '/v1/messages/count_tokens') {
    $r = post_json($path, $msg, %K, headers => { 'x-api-key' => $wrong });
    is $r->{status}, 401, "$path, wrong key: 401";
    is $r->{headers}{'www-authenticate'}, 'Bearer', '... WWW-Authenticate';
    ok $r->{json} && $r->{json}{type} eq 'error'
       && $r->{json}{error}{type} eq 'authentication_error',
       '... Anthropic-shaped authentication_error' or diag $r->{content};
    ok index($r->{content}, $wrong) < 0, '... the key is not in the body';
}
$r = post_json('/v1/messages', $msg, %K);
is $r->{json} && $r->{json}{error}{type}, 'authentication_error',
   '/v1/messages, no key: authentication_error';

# ---- authorization: Require user alice ----
$r = post_json('/alice/v1/chat/completions', $chat, %K, headers => bearer($alice));
is $r->{status}, 200, 'Require user alice: alice 200';
$r = post_json('/alice/v1/chat/completions', $chat, %K, headers => bearer($bob));
is $r->{status}, 403, 'Require user alice: bob 403';
like $r->{headers}{'content-type'}, qr{^application/json}, '... JSON, not a page';
is $r->{json} && $r->{json}{error}{type}, 'permission_error',
   '... OpenAI-shaped permission_error' or diag $r->{content};
$r = post_json('/alice/v1/messages', $msg, %K, headers => { 'x-api-key' => $bob });
is $r->{status}, 403, 'Require user alice, /messages: bob 403';
ok $r->{json} && $r->{json}{type} eq 'error'
   && $r->{json}{error}{type} eq 'permission_error',
   '... Anthropic-shaped permission_error' or diag $r->{content};

$r = post_json('/bob/v1/chat/completions', $chat, %K, headers => bearer($alice));
is $r->{status}, 401, 'Require user bob (no AuthzSendForbiddenOnFailure): alice 401';
is $r->{headers}{'www-authenticate'}, 'Bearer', '... WWW-Authenticate: Bearer';
is $r->{json} && $r->{json}{error}{code}, 'insufficient_permissions',
   '... JSON: the user may not, not a wrong key' or diag $r->{content};

# ---- revocation without a restart ----
my $out = `$run revoke $file bob`;
is $?, 0, 'revoke bob';
like $out, qr/1 key of bob revoked/, '... says so';
$r = post_json('/v1/chat/completions', $chat, %K, headers => bearer($bob));
is $r->{status}, 401, 'a revoked key: 401 at once';
$r = post_json('/v1/chat/completions', $chat, %K, headers => bearer($alice));
is $r->{status}, 200, '... another user\'s key still works';
system("$run revoke $file bob >/dev/null 2>&1");
isnt $?, 0, 'revoking a user without keys: non-zero exit';
my $erin = add_key('erin');
$r = post_json('/v1/chat/completions', $chat, %K, headers => bearer($erin));
is $r->{status}, 200, 'a key added while running works at once';

# ---- keys changing while requests run: every request of a kept key
# passes (each child reads the file again under its lock) ----
{
    my @pids;
    for my $w (1 .. 4) {
        my $pid = fork;
        die "fork: $!" unless defined $pid;
        if (!$pid) {
            my $bad = 0;
            for (1 .. 12) {
                my $x = post_json('/v1/models', undef, %K, method => 'GET',
                                  headers => bearer($alice));
                $bad++ unless $x->{status} == 200;
            }
            exit($bad ? 1 : 0);
        }
        push @pids, $pid;
    }
    my $churn = 0;
    for (1 .. 6) {
        $churn++ if add_key('zed');
        system("$run revoke $file zed >/dev/null 2>&1");
        $churn++ if $? == 0;
    }
    my $failed = 0;
    for (@pids) { waitpid($_, 0); $failed++ if $? }
    is $churn, 12, 'keys added and revoked meanwhile';
    is $failed, 0, 'a kept key passed on every request while the file changed';
}

# ---- a file that cannot be used lets no one in ----
$r = post_json('/broken/v1/chat/completions', $chat, %K, headers => bearer($alice));
is $r->{status}, 500, 'missing key file: 500';
is $r->{json} && $r->{json}{error}{type}, 'api_error', '... OpenAI-shaped';
$r = post_json('/broken/v1/messages', $msg, %K, headers => { 'x-api-key' => $alice });
is $r->{status}, 500, 'missing key file, /messages: 500';
ok $r->{json} && $r->{json}{type} eq 'error', '... Anthropic-shaped';
{
    my $good = slurp($file);
    open my $fh, '>>', $file or die;
    print $fh "mallory not-a-hash\n";
    close $fh;
    $r = post_json('/v1/chat/completions', $chat, %K, headers => bearer($alice));
    is $r->{status}, 500, 'a broken line in the file: 500 for everyone';
    ok index($r->{content}, 'mallory') < 0, '... the file is not shown';
    open $fh, '>', $file or die;
    print $fh $good;
    close $fh;
    $r = post_json('/v1/chat/completions', $chat, %K, headers => bearer($alice));
    is $r->{status}, 200, 'fixed: 200 again';
}

# ---- the official SDKs ----
my ($node) = grep { -x "$_/node" } split /:/, $ENV{PATH} || '';
SKIP: {
    skip 'node or the SDKs are missing (make test installs them)', 1
        unless $node && -d 'tests/sdk/node_modules/openai'
               && -d 'tests/sdk/node_modules/@anthropic-ai/sdk';
    my $base = 'http://' . hostport_of('llmp_keys');
    node_cases("BASE_URL=$base KEY=$alice BAD_KEY=$wrong", 'keys_e2e.mjs', 7,
               'API key SDK');
}

# ---- LLMProxyForwardClientAuth on: the key still stays here ----
ok wait_list('llmp_fwd'), 'the open list is loaded';
mock_reset();
$r = post_json('/v1/chat/completions', $chat, module => 'llmp_keys_fwd',
               headers => bearer($alice));
my $last = last_request(qr{^/openai/});
ok $last, 'the call reached the gateway';
ok $last && !exists $last->{headers}{authorization},
   'no Authorization header forwarded with AuthType llmproxy-key';
$r = post_json('/v1/chat/completions', $chat, module => 'llmp_keys_fwd',
               headers => { 'x-api-key' => $alice });
$last = last_request(qr{^/openai/});
ok $last && !exists $last->{headers}{authorization}
   && !exists $last->{headers}{'x-api-key'}, '... nor x-api-key';

# ---- a key never leaves: gateway, logs ----
my @keys = grep { defined } ($alice, $bob, $carol, $erin, $wrong);
my $seen = json_encode(mock_requests() || []);
ok !(grep { index($seen, $_) >= 0 } @keys), 'no key in what the gateway received';
sleep 0.5;
my $logs = join '', map { slurp("t/logs/$_") }
    qw(error_log access_log llmproxy_log keys_log);
ok !(grep { index($logs, $_) >= 0 } @keys), 'no key in any log';
my $kl = slurp('t/logs/keys_log');
like $kl, qr{^alice 200 POST /v1/chat/completions$}m, '%u is the key\'s user';
like $kl, qr{^bob 403 POST /alice/v1/chat/completions$}m, '... bob refused: 403';
like $kl, qr{^- 401 POST /v1/chat/completions$}m, '... no key: 401 in the log';

done_testing();
