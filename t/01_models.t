# Model list: loading into shared memory, GET /v1/models, /v1/models/{id},
# /health, mod_status.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestRequest;
use LLMPTest;
use HTTP::Tiny;

plan tests => 25, need_lwp;

ok wait_list(), 'model list loaded';

my $r = GET '/v1/models';
is($r->code, 200, 'GET /v1/models');
like(scalar $r->header('Content-Type'), qr{^application/json}, 'JSON');
my $j = json_decode($r->content);
is($j->{object}, 'list', 'object list');
my %by = map { $_->{id} => $_ } @{ $j->{data} };
ok exists $by{'gpt-4o-mini'};
is($by{'gpt-4o-mini'}{owned_by}, 'openai', 'owned_by from handle');
is($by{'gpt-4o-mini'}{object}, 'model');
ok $by{'gpt-4o-mini'}{created} =~ /^\d+$/ && $by{'gpt-4o-mini'}{created} > 1e9,
   'created is a unix time';
is($by{'accounts/fireworks/models/llama-v3p1-405b-instruct'}{owned_by},
         'fireworks');
ok !exists $by{'disabled-model'}, 'handle "unavailable" not offered';
ok !exists $by{'evil-host'}, 'handle //host refused';
ok !exists $by{'evil-scheme'}, 'handle with a scheme refused';

$r = GET '/v1/models/accounts/fireworks/models/llama-v3p1-405b-instruct';
is($r->code, 200, 'model id with slashes');
is(json_decode($r->content)->{id},
         'accounts/fireworks/models/llama-v3p1-405b-instruct');

$r = GET '/v1/models/accounts%2Ffireworks%2Fmodels%2Fllama-v3p1-405b-instruct';
is($r->code, 200, 'model id with encoded slashes (as the SDKs send it)');

$r = GET '/v1/models/no-such-model';
is($r->code, 404, 'unknown model id');
is(json_decode($r->content)->{error}{code}, 'model_not_found');

$r = POST '/v1/models', content => '{}';
is($r->code, 405, 'POST /v1/models');
like(scalar $r->header('Allow'), qr/GET/);

$r = GET '/health';
is($r->code, 200, '/health');
$j = json_decode($r->content);
is($j->{status}, 'ok');
ok $j->{models} >= 20, 'health counts the models';
ok defined $j->{list_age_seconds} && $j->{list_age_seconds} >= 0;

# mod_status shows the list
$r = GET '/server-status?auto';
like($r->content, qr/LLMProxyList0Models: \d+/, 'mod_status');

# The handler mounted at "/" serves /v1/... too
{
    my $hp = hostport_of('llmp_root');
    my $res = HTTP::Tiny->new->get("http://$hp/v1/models");
    is($res->{status}, 200, 'handler at the server root');
}
