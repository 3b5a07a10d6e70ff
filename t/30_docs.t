# /openapi.json and /docs (SetHandler llmproxy-docs, issue 15): the OpenAPI
# 3.1 document with the live model ids, checked by a validator from npm; the
# Swagger UI page rendered by a headless Chromium offline (screenshot kept
# in t/logs/docs.png).
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use HTTP::Tiny;
use LLMPTest;

ok wait_list(), 'model list loaded';
my $base = 'http://' . hostport_of();
my $http = HTTP::Tiny->new(timeout => 20, max_redirect => 0);
sub get { $http->get($base . shift) }

# the live list
my $models = json_decode(get('/v1/models')->{content});
my @ids = map { $_->{id} } @{ $models->{data} || [] };
ok scalar(@ids), 'the list has models';
my ($chat_id) = grep { $_ eq 'gpt-4o-mini' } @ids;
$chat_id ||= $ids[0];

# ---- the document ----
my $r = get('/openapi.json');
is $r->{status}, 200, 'GET /openapi.json';
like $r->{headers}{'content-type'}, qr{^application/json}, '... JSON';
my $doc = json_decode($r->{content});
ok $doc, '... parses';
is $doc->{openapi}, '3.1.0', 'OpenAPI 3.1';
for my $p ('/v1/chat/completions', '/v1/responses', '/v1/messages',
           '/v1/messages/count_tokens', '/v1/embeddings',
           '/v1/images/generations', '/v1/completions', '/v1/models',
           '/v1/models/{model}', '/health') {
    ok $doc->{paths}{$p}, "path $p";
}
my $mid = $doc->{components}{schemas}{LLMProxyModelId};
is_deeply [ sort @{ $mid->{enum} || [] } ],
          [ sort keys %{ { map { $_ => 1 } @ids } } ],
          'model: enum of the live list (with the aliases /v1/models lists)';
is $doc->{servers}[0]{url}, '/', 'server URL: the top of this server';
is_deeply $doc->{security}[0], {}, 'security optional without AuthType llmproxy-key';
ok $doc->{components}{securitySchemes}{bearerAuth}, 'bearer scheme';
is $doc->{paths}{'/v1/chat/completions'}{post}{requestBody}{content}
       {'application/json'}{example}{model}, $chat_id,
   'the chat example names a live chat model';
ok $doc->{components}{schemas}{ErrorResponse}
   && $doc->{components}{schemas}{AnthropicErrorResponse},
   'OpenAI and Anthropic error shapes';
like $doc->{info}{description}, qr/`\Q$chat_id\E`/, 'the models in the description';

# the same document inside the page's location (what /docs/ loads)
my $inner = json_decode(get('/docs/openapi.json')->{content});
is $inner->{servers}[0]{url}, '/', '/docs/openapi.json: server URL /';

# under a prefix, on a location with AuthType llmproxy-key
my $keyed = json_decode(get('/keyed/openapi.json')->{content});
is $keyed->{servers}[0]{url}, '/keyed', 'server URL relative to the mount';
ok @{ $keyed->{security} || [] } && !grep({ !%$_ } @{ $keyed->{security} }),
   'security required with AuthType llmproxy-key'
   or diag explain $keyed->{security};

# refused methods, unknown files, the base not served
$r = $http->post("$base/openapi.json", { content => '{}' });
is $r->{status}, 405, 'POST /openapi.json: 405';
is json_decode($r->{content})->{error}{code}, 'method_not_allowed', '... OpenAI-shaped';
is get('/docs/openapi-base.json')->{status}, 404, 'the base is not served';
is get('/docs/no-such-file.js')->{status}, 404, 'unknown file: 404';
is get('/docs/a/b.js')->{status}, 404, 'no subdirectory';
is get('/docsx')->{status}, 404, '/docsx is not the page';

# ---- the page ----
$r = get('/docs');
is $r->{status}, 301, '/docs redirects';
like $r->{headers}{location}, qr{/docs/$}, '... to /docs/';
$r = get('/docs/');
is $r->{status}, 200, 'GET /docs/';
like $r->{headers}{'content-type'}, qr{^text/html}, '... HTML';
like $r->{content}, qr{swagger-ui-bundle\.js}, '... loads Swagger UI from this server';
unlike $r->{content}, qr{https?://}i, '... and nothing from elsewhere';
$r = get('/docs/swagger-ui-bundle.js');
is $r->{status}, 200, 'the Swagger UI bundle is served';
like $r->{headers}{'content-type'}, qr{^text/javascript}, '... as JavaScript';
ok $r->{headers}{'last-modified'}, '... with Last-Modified';
$r = $http->get("$base/docs/swagger-ui.css",
                { headers => { 'If-Modified-Since' => $r->{headers}{'last-modified'} } });
ok $r->{status} == 304 || $r->{status} == 200, 'conditional GET';

# ---- the validator (npm) ----
my ($node) = grep { -x "$_/node" } split /:/, $ENV{PATH} || '';
SKIP: {
    skip 'node or @seriousme/openapi-schema-validator missing (make sdk-deps)', 1
        unless $node && -d 'tests/sdk/node_modules/@seriousme/openapi-schema-validator';
    node_cases("DOC_URL=$base/openapi.json", 'openapi_validate.mjs', 4,
               'validator');
    node_cases("DOC_URL=$base/keyed/openapi.json", 'openapi_validate.mjs', 4,
               'validator (keyed)');
}

# ---- headless Chromium renders /docs/ ----
my ($chromium) = grep { -x $_ } map { ("$_/chromium", "$_/chromium-browser") }
                 split /:/, $ENV{PATH} || '';
SKIP: {
    skip 'chromium missing (Debian package chromium: make deps)', 1 unless $chromium;
    my $profile = 't/logs/chromium-profile';
    system('rm', '-rf', $profile);
    # offline: every host but the test server's is unreachable
    # (not under the ASan runtime that make test-asan preloads for httpd)
    my @common = ('env', '-u', 'LD_PRELOAD', 'timeout', '-k', '5', '120',
        $chromium, '--headless',
        '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
        '--no-first-run', '--disable-extensions', '--disable-sync',
        '--disable-background-networking', '--disable-component-update',
        '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
        "--user-data-dir=$profile", '--virtual-time-budget=30000');
    my $cmd = join ' ', map { "'$_'" } @common, '--dump-dom', "$base/docs/";
    my $dom = `$cmd 2>t/logs/chromium.log`;
    ok length($dom) > 1000, 'chromium dumped the page' or diag `tail -20 t/logs/chromium.log`;
    like $dom, qr{class="swagger-ui}, 'Swagger UI rendered';
    for my $p ('/v1/chat/completions', '/v1/responses', '/v1/messages',
               '/v1/embeddings', '/v1/images/generations', '/v1/completions',
               '/v1/models', '/health') {
        like $dom, qr{data-path="\Q$p\E"}, "the page lists $p";
    }
    like $dom, qr{\Q$chat_id\E}, "the page names a live model ($chat_id)";
    system('rm', '-rf', $profile);
    unlink 't/logs/docs.png';
    if ($node && -d 'tests/sdk/node_modules/puppeteer-core') {
        # "Try it out" on the chat endpoint, and the screenshot after it
        node_cases("env -u LD_PRELOAD timeout -k 5 150 env DOCS_URL=$base/docs/ "
                   . "CHROMIUM=$chromium SCREENSHOT=t/logs/docs.png MODEL=$chat_id",
                   'docs_tryit.mjs', 16, 'page (puppeteer-core)');
    }
    else {
        $cmd = join ' ', map { "'$_'" } @common, '--window-size=1280,1600',
            '--screenshot=t/logs/docs.png', "$base/docs/";
        system("$cmd >>t/logs/chromium.log 2>&1");
        system('rm', '-rf', $profile);
    }
    ok -s 't/logs/docs.png', 'screenshot kept in t/logs/docs.png';
}

done_testing();
