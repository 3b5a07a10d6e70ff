# Configuration mistakes are reported by `apachectl configtest` (httpd -t)
# with a clear message, before any request.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestConfig ();
use File::Temp qw(tempdir);
use LLMPTest;

my $cfg = Apache::Test::config();
my $httpd = $cfg->{vars}{httpd};
my $moddir = `$cfg->{vars}{apxs} -q LIBEXECDIR`;
chomp $moddir;
my $dir = tempdir(CLEANUP => 1);

# Run httpd -t on a configuration with these lines; returns (exit, output).
sub configtest {
    my ($lines, %env) = @_;
    open my $fh, '>', "$dir/httpd.conf" or die $!;
    print $fh <<"EOC";
ServerRoot "$dir"
PidFile "$dir/httpd.pid"
ErrorLog "$dir/error_log"
Listen 127.0.0.1:1
LoadModule mpm_event_module "$moddir/mod_mpm_event.so"
LoadModule authz_core_module "$moddir/mod_authz_core.so"
LoadModule llmproxy_module "$ENV{LLMP_SO}"
$lines
EOC
    close $fh;
    local @ENV{keys %env} = values %env;
    delete $ENV{MODEL_LIST_URL} unless exists $env{MODEL_LIST_URL};
    my $out = `$httpd -t -f $dir/httpd.conf 2>&1`;
    return ($? >> 8, $out);
}

my ($rc, $out) = configtest("LLMProxyModelListURL https://gw.example/models\n"
                            . "<Location /v1>\nSetHandler llmproxy\n</Location>");
is $rc, 0, 'a good configuration passes' or diag $out;

($rc, $out) = configtest('LLMProxyModelListURL ftp://gw.example/models');
isnt $rc, 0, 'a non-http list URL fails';
like $out, qr/LLMProxyModelListURL: 'ftp:\/\/gw\.example\/models' is only http and https/,
     'and says why';

($rc, $out) = configtest('', MODEL_LIST_URL => 'not a url');
isnt $rc, 0, 'a bad MODEL_LIST_URL fails configtest';
like $out, qr/MODEL_LIST_URL/, 'and names the variable';

($rc, $out) = configtest('LLMProxyProviderRule /x/ bogus');
like $out, qr/unknown provider 'bogus'/, 'unknown provider in a rule';

($rc, $out) = configtest('LLMProxyTimeout soon');
like $out, qr/LLMProxyTimeout: 'soon' is not a valid number of seconds/,
     'bad timeout';

($rc, $out) = configtest('LLMProxyCACertificateFile /nonexistent/ca.pem');
like $out, qr/cannot read file/, 'missing CA file';

($rc, $out) = configtest('LLMProxyModelListMaxSize 12Q');
like $out, qr/not a valid size/, 'bad size';

($rc, $out) = configtest('LLMProxyReasoningModels');
like $out, qr/LLMProxyReasoningModels requires at least one argument/,
     'reasoning models without a pattern';
($rc, $out) = configtest("LLMProxyReasoningModels my-claude* *-thinking\n"
                         . "LLMProxyReasoningModels none");
is $rc, 0, 'reasoning model patterns and none pass' or diag $out;

($rc, $out) = configtest("LLMProxyAuthToken secret-xyz\nLLMProxyRefreshInterval -1");
unlike $out, qr/secret-xyz/, 'the token is not echoed in errors';

# The response store: a provider that is not loaded, a bad name, a TTL of 0
($rc, $out) = configtest('LLMProxyResponseStore redis:127.0.0.1:6379');
isnt $rc, 0, 'a store provider not loaded fails configtest';
like $out, qr/no mod_socache provider 'redis' \(LoadModule socache_redis_module\)/,
     '... saying which module to load';
($rc, $out) = configtest('LLMProxyResponseStore "sh mcb"');
like $out, qr/LLMProxyResponseStore: a mod_socache provider/, 'bad store name';
($rc, $out) = configtest("LoadModule socache_shmcb_module $moddir/mod_socache_shmcb.so\n"
                         . 'LLMProxyResponseStore shmcb:x(12Q)');
like $out, qr/LLMProxyResponseStore shmcb:x\(12Q\): .*not numerical/,
     'the provider checks its arguments';
($rc, $out) = configtest("LoadModule socache_shmcb_module $moddir/mod_socache_shmcb.so\n"
                         . 'LLMProxyResponseStore shmcb:x(65536)');
like $out, qr/too small to keep responses \(give it at least 131072 bytes\)/,
     'a shmcb too small for a response';
($rc, $out) = configtest("LoadModule socache_shmcb_module $moddir/mod_socache_shmcb.so\n"
                         . 'LLMProxyResponseStore shmcb:x(131072)');
is $rc, 0, '... 128K is enough' or diag $out;
($rc, $out) = configtest('LLMProxyResponseStoreTTL 0');
like $out, qr/LLMProxyResponseStoreTTL.*must be > 0/, 'TTL 0 refused';
($rc, $out) = configtest("LoadModule socache_memcache_module $moddir/mod_socache_memcache.so\n"
                         . "LLMProxyResponseStore memcache:127.0.0.1:1\n"
                         . 'LLMProxyResponseStoreTTL 2592001');
isnt $rc, 0, 'memcache with a TTL above 30 days fails configtest';
like $out, qr/LLMProxyResponseStoreTTL: at most 2592000 seconds \(30 days\) with LLMProxyResponseStore memcache/,
     '... naming the limit';
($rc, $out) = configtest("LoadModule socache_memcache_module $moddir/mod_socache_memcache.so\n"
                         . "LLMProxyResponseStore memcache:127.0.0.1:1\n"
                         . 'LLMProxyResponseStoreTTL 2592000');
is $rc, 0, '... 30 days pass' or diag $out;
($rc, $out) = configtest("LLMProxyResponseStore none\nLLMProxyResponseStoreTTL 60");
is $rc, 0, 'LLMProxyResponseStore none passes' or diag $out;

# LLMProxyModelAlias: two names; not itself; once per context.
($rc, $out) = configtest('LLMProxyModelAlias claude-sonnet-4-5');
isnt $rc, 0, 'LLMProxyModelAlias with one argument fails';
like $out, qr/LLMProxyModelAlias takes two arguments/, '... and says so';
($rc, $out) = configtest('LLMProxyModelAlias gpt-4o gpt-4o');
isnt $rc, 0, 'an alias equal to its target fails';
like $out, qr/LLMProxyModelAlias: the alias 'gpt-4o' names itself/,
     '... and says so';
($rc, $out) = configtest("LLMProxyModelAlias fast gpt-4o-mini\n"
                         . "LLMProxyModelAlias fast gemini-2.0-flash");
isnt $rc, 0, 'an alias defined twice in one context fails';
like $out, qr/LLMProxyModelAlias: the alias 'fast' is defined twice here/,
     '... and says so';
($rc, $out) = configtest("LLMProxyModelListURL https://gw.example/models\n"
                         . "LLMProxyModelAlias fast gpt-4o-mini\n"
                         . "<VirtualHost 127.0.0.1:1>\n"
                         . "LLMProxyModelAlias fast gemini-2.0-flash\n"
                         . "</VirtualHost>");
is $rc, 0, 'a virtual host may redefine an inherited alias' or diag $out;

# Two virtual hosts with the same list URL and token but different
# LLMProxyProviderRule lines get a list each: the same model goes to a
# different provider on each (it used to follow the first host's rules).
ok wait_list('llmp_rule_anth') && wait_list('llmp_rule_oai'),
   'both lists loaded';
my $body = '{"model":"custom-oai","messages":[{"role":"user","content":"hi"}]}';
my $auth = { Authorization => 'OAuth ' . token() };
my $r = post_json('/v1/chat/completions', $body, module => 'llmp_rule_oai',
                  headers => $auth);
is $r->{status}, 200, 'rule openai: answered';
my $sent = last_request(qr{^/custom-oai/});
is $sent && $sent->{body}, $body, 'rule openai: the body is passed through';
$r = post_json('/v1/chat/completions', $body, module => 'llmp_rule_anth',
               headers => $auth);
$sent = last_request(qr{^/custom-oai/});
my $native = json_decode($sent ? $sent->{body} : '') || {};
isnt $sent && $sent->{body}, $body, 'rule anthropic: the body is not passed through';
ok defined $native->{max_tokens} && $native->{messages}
   && $native->{messages}[0]{role} eq 'user',
   'rule anthropic: the body is translated to Anthropic Messages';
done_testing();
