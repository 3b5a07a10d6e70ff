# LLMProxyModelAlias: a name a client asks for stands for a list model on
# every endpoint; /v1/models lists it (owned_by of its target); a virtual
# host has its own aliases; an alias to a model the list lacks is a 404
# and a warning once per list (t/conf/extra.conf.in).
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use HTTP::Tiny;
use LLMPTest;

ok wait_list() && wait_list('llmp_alias'), 'model lists loaded';
mock_reset();

sub get_json {
    my ($path, $module) = @_;
    my $r = HTTP::Tiny->new(timeout => 10)->get('http://' . hostport_of($module)
                                                . $path);
    return ($r->{status}, json_decode($r->{content}) || {});
}

my %H = ('x-api-key' => 'sk-ant-client-key-0123456789',
         'anthropic-version' => '2023-06-01');
my $user = [{ role => 'user', content => 'Say hi' }];

# ---- chat: the backend gets the list model; the note keeps the alias ----
my $r = post_json('/v1/chat/completions',
                  { model => 'fast-chat', messages => $user });
is $r->{status}, 200, 'chat with an alias: 200' or diag $r->{content};
ok length($r->{json}{choices}[0]{message}{content} // ''), '... an answer';
my $seen = last_request(qr{^/openai/v1/chat/completions$});
is json_decode($seen ? $seen->{body} : '{}')->{model}, 'gpt-4o-mini',
   '... the backend is asked for the list model';
is $r->{json}{model}, 'gpt-4o-mini', '... which the answer names';

# a stream too
$r = post_json('/v1/chat/completions',
               { model => 'fast-chat', messages => $user, stream => JSON::PP::true() });
is $r->{status}, 200, 'streamed chat with an alias: 200';
like $r->{content}, qr/data: \[DONE\]/, '... to the end';

# ---- an alias to a model of another family: translated ----
$r = post_json('/v1/chat/completions',
               { model => 'claude-haiku-4-5', messages => $user });
is $r->{status}, 200, 'chat with an alias of a Gemini model: 200'
    or diag $r->{content};
ok last_request(qr{^/google/v1beta/models/gemini-2\.0-flash:generateContent}),
   '... sent to Gemini';

# ---- responses ----
$r = post_json('/v1/responses', { model => 'fast-chat', input => 'Say hi' });
is $r->{status}, 200, 'responses with an alias: 200' or diag $r->{content};
is $r->{json}{object}, 'response', '... a Response';

# ---- messages: Claude Code's names ----
$r = post_json('/v1/messages', { model => 'claude-haiku-4-5', max_tokens => 64,
                                 messages => $user }, headers => \%H);
is $r->{status}, 200, 'messages with an alias of a Gemini model: 200'
    or diag $r->{content};
is $r->{json}{type}, 'message', '... a Message';
$r = post_json('/v1/messages', { model => 'fast-chat', max_tokens => 64,
                                 messages => $user }, headers => \%H);
is $r->{status}, 200, 'messages with an alias of an OpenAI model: 200'
    or diag $r->{content};
$r = post_json('/v1/messages/count_tokens?beta=true',
               { model => 'fast-chat', messages => $user },
               headers => \%H);
is $r->{status}, 200, 'count_tokens with an alias: 200' or diag $r->{content};
ok(($r->{json}{input_tokens} // 0) > 0, '... input_tokens');

# ---- /v1/models lists the aliases; GET /v1/models/{alias} ----
my ($st, $j) = get_json('/v1/models');
my %by = map { $_->{id} => $_ } @{ $j->{data} || [] };
is $st, 200, 'GET /v1/models';
ok $by{'fast-chat'}, 'the alias is listed';
is $by{'fast-chat'} && $by{'fast-chat'}{owned_by}, $by{'gpt-4o-mini'}{owned_by},
   '... owned by its target\'s owner';
is $by{'claude-haiku-4-5'} && $by{'claude-haiku-4-5'}{owned_by},
   $by{'gemini-2.0-flash'}{owned_by}, 'another alias: its target\'s owner';
ok !$by{'alias-missing'}, 'an alias to a missing model is not listed';
ok !$by{'vhost-only'}, 'another host\'s alias is not listed';
($st, $j) = get_json('/v1/models/fast-chat');
is "$st $j->{id} $j->{object}", '200 fast-chat model', 'GET /v1/models/{alias}';

# ---- an alias to a model the list lacks ----
$r = post_json('/v1/chat/completions',
               { model => 'alias-missing', messages => $user });
is $r->{status}, 404, 'an alias to a missing model: 404';
is $r->{json}{error}{code}, 'model_not_found', '... model_not_found';
$r = post_json('/v1/messages', { model => 'alias-missing', max_tokens => 8,
                                 messages => $user }, headers => \%H);
is $r->{status}, 404, '... on /v1/messages too';
is $r->{json}{type} . ' ' . $r->{json}{error}{type}, 'error not_found_error',
   '... Anthropic-shaped';
($st) = get_json('/v1/models/alias-missing');
is $st, 404, 'GET /v1/models/{alias to a missing model}: 404';
open my $fh, '<', 't/logs/error_log' or die $!;
my @warn = grep { /LLMProxyModelAlias alias-missing no-such-model-in-list: the model list from \S+ has no model 'no-such-model-in-list'/ } <$fh>;
close $fh;
ok @warn >= 1, 'the error log warns about it';

# ---- a virtual host's own aliases (same list as the main server) ----
$r = post_json('/v1/chat/completions',
               { model => 'fast-chat', messages => $user },
               module => 'llmp_alias');
is $r->{status}, 200, 'vhost: its own fast-chat' or diag $r->{content};
ok last_request(qr{^/cohere/v2/chat$}), '... is Cohere\'s model there';
$r = post_json('/v1/chat/completions',
               { model => 'vhost-only', messages => $user },
               module => 'llmp_alias');
is $r->{status}, 200, 'vhost: an alias only it has';
$r = post_json('/v1/chat/completions',
               { model => 'vhost-only', messages => $user });
is $r->{status}, 404, '... unknown to the main server';
$r = post_json('/v1/chat/completions',
               { model => 'claude-haiku-4-5', messages => $user },
               module => 'llmp_alias');
is $r->{status}, 200, 'vhost: the inherited aliases work';
# a list model's name taken over by an alias there
mock_reset();
$r = post_json('/v1/messages', { model => 'claude-sonnet-4-5', max_tokens => 64,
                                 messages => $user }, headers => \%H,
               module => 'llmp_alias');
is $r->{status}, 200, 'vhost: claude-sonnet-4-5 aliased to gpt-4o-mini';
ok !last_request(qr{^/anthropic/}) && last_request(qr{^/openai/}),
   '... served by the OpenAI model, not the list\'s Anthropic one';
($st, $j) = get_json('/v1/models', 'llmp_alias');
%by = map { $_->{id} => $_ } @{ $j->{data} || [] };
ok $by{'vhost-only'} && $by{'claude-haiku-4-5'},
   'vhost: /v1/models lists its own and the inherited aliases';
is $by{'fast-chat'} && $by{'fast-chat'}{owned_by},
   $by{'command-r-plus'}{owned_by}, '... with its own target for fast-chat';

# ---- the notes: the requested name and the list model ----
sleep 1;
open $fh, '<', 't/logs/llmproxy_log' or die $!;
my @log = grep { /model=fast-chat / } <$fh>;
close $fh;
ok((grep { / target=gpt-4o-mini / } @log),
   'the log has the asked name and the list model (llmproxy-model-target)');

done_testing();
