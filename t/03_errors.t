# OpenAI-shaped errors with the right status.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;
use HTTP::Tiny;

plan tests => 113;

ok wait_list(), 'model list loaded';

sub err_ok {
    my ($r, $status, $code, $name) = @_;
    is $r->{status}, $status, "$name: status $status";
    my $e = $r->{json} && $r->{json}{error};
    ok $e && defined $e->{message} && defined $e->{type}
       && exists $e->{param} && exists $e->{code}, "$name: OpenAI error shape";
    is $e->{code}, $code, "$name: code" if defined $code;
}

err_ok(post_json('/v1/chat/completions', '{"model": "gpt-4o-mini", '),
       400, 'invalid_json', 'invalid JSON');
err_ok(post_json('/v1/chat/completions', '{"messages": []}'),
       400, 'missing_model', 'missing model');
err_ok(post_json('/v1/chat/completions', '{"model": 42}'),
       400, 'missing_model', 'model not a string');
err_ok(post_json('/v1/chat/completions', '{"model": "nope", "messages": []}'),
       404, 'model_not_found', 'unknown model');
err_ok(post_json('/v1/chat/completions', '{"model": "evil-host", "messages": []}'),
       404, 'model_not_found', 'model with a foreign-host handle');

my $r = post_json('/v1/chat/completions', '', method => 'GET');
is $r->{status}, 405, 'GET on chat is 405';
is $r->{headers}{allow}, 'POST', 'Allow: POST';

# Body over the limit: LLMProxyMaxRequestBody 1K on llmp_root
my $big = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"'
        . ('x' x 3000) . '"}]}';
err_ok(post_json('/v1/chat/completions', $big, module => 'llmp_root'),
       413, 'request_too_large', 'body over LLMProxyMaxRequestBody');
# ... a chunked body over it too
err_ok(post_json('/v1/chat/completions', $big, chunked => 1,
                 module => 'llmp_root'),
       413, 'request_too_large', 'chunked body over LLMProxyMaxRequestBody');
# LimitRequestBody 2048 on /limited/v1: the same OpenAI-shaped 413, with a
# Content-Length or chunked (httpd's input filter finds it; not its HTML page)
err_ok(post_json('/limited/v1/chat/completions', $big),
       413, 'request_too_large', 'body over LimitRequestBody');
$r = post_json('/limited/v1/chat/completions', $big, chunked => 1);
err_ok($r, 413, 'request_too_large', 'chunked body over LimitRequestBody');
like $r->{headers}{'content-type'}, qr{^application/json},
     'chunked body over LimitRequestBody: JSON, not an HTML page';

# List not loaded: the mock refuses the list without the token
err_ok(post_json('/v1/chat/completions', '{"model":"gpt-4o-mini"}',
                 module => 'llmp_notoken'),
       503, 'model_list_unavailable', 'list not loaded');
{
    my $hp = hostport_of('llmp_notoken');
    my $h = HTTP::Tiny->new->get("http://$hp/health");
    is $h->{status}, 503, 'health is 503 without a list';
    like json_decode($h->{content})->{last_error}, qr/HTTP 401/,
         'health says why';
}

# Unknown endpoint
$r = post_json('/v1/nothing-here', '{}');
is $r->{status}, 404, 'unknown endpoint';

# A model used on the wrong endpoint
err_ok(post_json('/v1/chat/completions',
                 '{"model":"text-embedding-3-small","messages":[]}'),
       400, 'wrong_endpoint', 'embedding model on chat');

# Required fields, checked before any backend call
err_ok(post_json('/v1/chat/completions', '{"model":"gpt-4o-mini"}'),
       400, 'invalid_value', 'chat without messages');
err_ok(post_json('/v1/embeddings', '{"model":"text-embedding-3-small"}'),
       400, 'invalid_value', 'embeddings without input');
err_ok(post_json('/v1/images/generations', '{"model":"dall-e-3"}'),
       400, 'invalid_value', 'images without prompt');
# An image model on chat, a chat model on images, legacy completions on a
# translated model
$r = post_json('/v1/chat/completions',
               '{"model":"ideogram-v2","messages":[{"role":"user","content":"x"}]}');
err_ok($r, 400, 'wrong_endpoint', 'image model on chat');
like $r->{json}{error}{message}, qr{/v1/images/generations}, 'names the right endpoint';
err_ok(post_json('/v1/images/generations', '{"model":"command-r-plus","prompt":"x"}'),
       400, 'wrong_endpoint', 'chat model on images');
err_ok(post_json('/v1/completions', '{"model":"claude-3-7-sonnet-20250219","prompt":"x"}'),
       400, 'wrong_endpoint', 'legacy completions on Anthropic');

# A redirect from the backend is never followed, nor passed on
err_ok(post_json('/v1/chat/completions',
                 '{"model":"mock-redirect","messages":[{"role":"user","content":"x"}]}'),
       502, 'bad_backend_response', 'backend redirect');

# The request must mean to the backend what it means to us: cJSON routes by
# the first "model" while the backend reads the last; cJSON's strings end
# at a NUL, the backend's do not. Refused before any backend call.
mock_reset();
my $msgs = '"messages":[{"role":"user","content":"x"}]';
err_ok(post_json('/v1/chat/completions',
                 qq({"model":"gpt-4o-mini","model":"mock-error",$msgs})),
       400, 'duplicate_key', 'model named twice');
err_ok(post_json('/v1/chat/completions',
                 qq({"model":"gpt-4o-mini","stream":false,$msgs,"stream":true})),
       400, 'duplicate_key', 'stream named twice');
err_ok(post_json('/v1/chat/completions',
                 qq({"model":"gpt-4o-mini",$msgs,"temperature":1,"temperature":0})),
       400, 'duplicate_key', 'another member named twice');
{
    # many members: a name again after the 16th, of one before or after it
    my $many = join ',', map { qq("x$_":$_) } 1 .. 20;
    err_ok(post_json('/v1/chat/completions',
                     qq({"model":"gpt-4o-mini",$msgs,$many,"x3":0})),
           400, 'duplicate_key', 'a member named twice among many (early)');
    err_ok(post_json('/v1/chat/completions',
                     qq({"model":"gpt-4o-mini",$msgs,$many,"x19":0})),
           400, 'duplicate_key', 'a member named twice among many (late)');
    err_ok(post_json('/v1/chat/completions',
                     qq({"x0":0,$many,"model":"gpt-4o-mini","model":"mock-error",$msgs})),
           400, 'duplicate_key', 'model named twice after many members');
}
err_ok(post_json('/v1/chat/completions',
                 qq({"model\\u0000":"mock-error","model":"gpt-4o-mini",$msgs})),
       400, 'duplicate_key', 'a name with a NUL that cJSON reads as "model"');
err_ok(post_json('/v1/chat/completions',
                 qq({"model\\u0000x":"gpt-4o-mini",$msgs})),
       400, 'invalid_key', 'a name with a NUL');
for my $case (['gpt-4o-mini\\u0000evil', 'NUL escape'],
              ["gpt-4o-mini\x00evil", 'raw NUL'],
              ['gpt-4o-mini\\u0001', 'control escape'],
              ['gpt-4o-mini\\n', 'newline'],
              ["gpt-4o-mini\x7f", 'DEL'],
              ["gpt-4o-mini\xff", 'invalid UTF-8']) {
    my ($m, $what) = @$case;
    $r = post_json('/v1/chat/completions', qq({"model":"$m",$msgs}));
    err_ok($r, 400, 'invalid_model', "model with a $what");
    like $r->{content}, qr/^[\x20-\x7e]*\z/, "model with a $what: not echoed raw";
}
ok !last_request(qr{^/openai/}), 'none of these reached the backend';
# a NUL in a message, a backslash before u0000, a name only like "model":
# fine
$r = post_json('/v1/chat/completions',
    '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"a\\u0000b \\\\u0000"}],"models":1}');
is $r->{status}, 200, 'a NUL in a message is not refused';
is $r->{json}{choices}[0]{message}{content}, "echo: a\x{0}b \\u0000",
   'and reaches the backend as it was';
