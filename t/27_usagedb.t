# LLMProxyUsageDB: one row per call in a database through mod_dbd (SQLite
# here; t/conf/extra.conf.in, llmp_usagedb*), written after the answer:
# chat, a stream, embeddings, responses, messages, a backend error, client
# errors, a user of Basic authentication; none for /health, /v1/models,
# count_tokens. A database that refuses rows is logged and the client sees
# nothing of it. Without mod_dbd, LLMProxyUsageDB on stops the start-up.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use MIME::Base64 qw(encode_base64);
use Time::HiRes qw(time sleep);
use LLMPTest;

# Token counts, cost and time to first token come from llmp_usage_t, which
# the call paths fill (h-usage's work, merged): the rows must carry exactly
# the usage each answer showed its client, and the list's prices. (0: a
# tree without it, where they are NULL.)
my $WITH_USAGE = 1;

my ($sqlite) = grep { -x } map { "$_/sqlite3" } split /:/, $ENV{PATH};
$sqlite //= "";
chomp $sqlite;
unless (Apache::Test::have_module('dbd') && $sqlite) {
    plan skip_all => 'needs mod_dbd and the sqlite3 command (Debian '
                     . 'libaprutil1-dbd-sqlite3, sqlite3)';
}

my $cfg = Apache::Test::config();
my $dir = $cfg->{vars}{serverroot} . '/logs/usagedb';
my $db = "$dir/usage.db";
my $rodb = "$dir/readonly.db";
system('rm', '-rf', $dir);
mkdir $dir or die "mkdir $dir: $!";
chmod 0777, $dir;    # the server's user (www-data under root) writes there

ok wait_list('llmp_usagedb') && wait_list('llmp_usagedb_ro'),
   'model lists loaded';

sub sql {
    my ($file, $q) = @_;
    my $out = `$sqlite -cmd '.timeout 5000' -json '$file' "$q" 2>&1`;
    return undef if $?;
    return [] unless $out =~ /\S/;
    return json_decode($out);
}

sub rows { sql($db, 'SELECT * FROM llmproxy_usage ORDER BY rowid') || [] }

# The rows once there are n (a row is written after the answer).
sub wait_rows {
    my $n = shift;
    my $deadline = time + 10;
    my $r;
    while (1) {
        $r = rows();
        return $r if @$r >= $n || time > $deadline;
        sleep 0.1;
    }
}

my %on = (module => 'llmp_usagedb');
my %ant = ('x-api-key' => 'sk-ant-client-key-0123456789',
           'anthropic-version' => '2023-06-01');
my $user = [{ role => 'user', content => 'Say hi' }];
my $t0 = time;
my (@calls, $r, $rows, $row);

sub get {
    my ($path) = @_;
    return HTTP::Tiny->new(timeout => 10)->get(
        'http://' . hostport_of('llmp_usagedb') . $path);
}

# ---- no row: health, the model list, count_tokens ----
is get('/health')->{status}, 200, '/health: 200';
is get('/v1/models')->{status}, 200, '/v1/models: 200';
$r = post_json('/v1/messages/count_tokens',
               { model => 'claude-3-7-sonnet-20250219', messages => $user },
               %on, headers => \%ant);
is $r->{status}, 200, 'count_tokens: 200' or diag $r->{content};

# The list's prices of a model (t/mock/models.json)
my %price;
{
    open my $fh, '<', 't/mock/models.json' or die "models.json: $!";
    local $/;
    for my $m (@{ json_decode(<$fh>)->{models} }) {
        next unless defined $m->{model_version};
        $price{ $m->{model_version} } = [ $m->{prompt_price_1k} // 0,
                                          $m->{completion_price_1k} // 0 ];
    }
}

# A Responses or Messages usage object in the Chat Completions shape.
sub chat_usage {
    my $u = shift || {};
    return $u if exists $u->{prompt_tokens};
    if (exists $u->{cache_read_input_tokens}
        || exists $u->{cache_creation_input_tokens}) {
        # Anthropic: input_tokens leaves the cache out
        my $c = $u->{cache_read_input_tokens} // 0;
        return { prompt_tokens => $u->{input_tokens} + $c
                                  + ($u->{cache_creation_input_tokens} // 0),
                 completion_tokens => $u->{output_tokens},
                 prompt_tokens_details => { cached_tokens => $c } };
    }
    return { prompt_tokens => $u->{input_tokens},
             completion_tokens => $u->{output_tokens},
             prompt_tokens_details => {
                 cached_tokens => $u->{input_tokens_details}{cached_tokens} } };
}

# usage tokens/cost of a row against what the client saw (after h-usage)
sub usage_is {
    my ($row, $usage, $model, $what) = @_;
    my $prices = $price{$model} || [0, 0];
    if (!$WITH_USAGE) {
        ok !defined $row->{prompt_tokens} && !defined $row->{completion_tokens}
           && !defined $row->{cost}, "$what: no token counts before h-usage "
           . 'is merged (then set $WITH_USAGE = 1)' or diag explain $row;
        return;
    }
    $usage = chat_usage($usage);
    is $row->{prompt_tokens}, $usage->{prompt_tokens}, "$what: prompt tokens";
    is $row->{completion_tokens}, $usage->{completion_tokens} // 0,
       "$what: completion tokens";
    is $row->{cached_tokens},
       $usage->{prompt_tokens_details}{cached_tokens} // 0,
       "$what: cached tokens";
    my $cost = $usage->{prompt_tokens} / 1000 * $prices->[0]
               + ($usage->{completion_tokens} // 0) / 1000 * $prices->[1];
    ok defined $row->{cost} && abs($row->{cost} - $cost) < 1e-12,
       "$what: cost $cost" or diag explain $row;
}

# ---- a chat call ----
$r = post_json('/v1/chat/completions', { model => 'gpt-4o-mini',
                                         messages => $user }, %on);
is $r->{status}, 200, 'chat: 200' or diag $r->{content};
push @calls, 'chat';
$rows = wait_rows(1);
is scalar @$rows, 1, '... one row (none for /health, /v1/models, '
                     . 'count_tokens)' or diag explain $rows;
$row = $rows->[0] || {};
like $row->{ts} // '', qr/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/, '... its time';
{
    my @t = gmtime($t0);
    my $now = sprintf '%04d-%02d-%02d %02d:%02d', $t[5] + 1900, $t[4] + 1,
                      @t[3, 2, 1];
    my @u = gmtime(time);
    my $now2 = sprintf '%04d-%02d-%02d %02d:%02d', $u[5] + 1900, $u[4] + 1,
                       @u[3, 2, 1];
    ok index($row->{ts} // '', $now) == 0 || index($row->{ts} // '', $now2) == 0,
       '... in UTC' or diag "$row->{ts} vs $now";
}
is $row->{endpoint}, 'chat.completions', '... endpoint';
is $row->{model}, 'gpt-4o-mini', '... model';
is $row->{provider}, 'openai', '... provider';
is $row->{status}, 200, '... status';
is $row->{stream}, 0, '... not a stream';
ok !defined $row->{username}, '... no user';
like $row->{request_id} // '', qr/^\S{6,64}$/, '... a request id';
ok defined $row->{latency_ms} && $row->{latency_ms} >= 0
   && $row->{latency_ms} < 30000, '... the backend latency in ms';
ok !defined $row->{ttft_ms}, '... no time to first token (no stream)';
usage_is($row, $r->{json}{usage}, 'gpt-4o-mini', 'chat');

# ---- a stream ----
$r = stream_raw('/v1/chat/completions', { model => 'gpt-4o-mini',
    messages => $user, stream => JSON::PP::true(),
    stream_options => { include_usage => JSON::PP::true() } }, %on);
is $r->{status}, 200, 'stream: 200';
like $r->{raw}, qr/data: \[DONE\]/, '... to the end';
push @calls, 'stream';
$rows = wait_rows(2);
is scalar @$rows, 2, '... one more row';
$row = $rows->[1] || {};
is_deeply [ @$row{qw(endpoint model provider status stream)} ],
          [ 'chat.completions', 'gpt-4o-mini', 'openai', 200, 1 ],
          '... a stream\'s row' or diag explain $row;
{
    my ($last) = grep { ref $_ && $_->{usage} } sse_data($r);
    usage_is($row, $last ? $last->{usage} : {}, 'gpt-4o-mini', 'stream');
    if ($WITH_USAGE) {
        ok defined $row->{ttft_ms} && $row->{ttft_ms} >= 0
           && $row->{ttft_ms} <= $row->{latency_ms},
           '... time to first token' or diag explain $row;
    }
}

# ---- a translated call (Anthropic behind), with its prices ----
$r = post_json('/v1/chat/completions', {
    model => 'claude-3-7-sonnet-20250219', messages => $user }, %on);
is $r->{status}, 200, 'chat with an Anthropic model: 200' or diag $r->{content};
push @calls, 'anthropic';
$rows = wait_rows(3);
$row = $rows->[2] || {};
is_deeply [ @$row{qw(endpoint model provider status)} ],
          [ 'chat.completions', 'claude-3-7-sonnet-20250219', 'anthropic',
            200 ], '... its row' or diag explain $row;
usage_is($row, $r->{json}{usage}, 'claude-3-7-sonnet-20250219',
         'anthropic');

# ---- embeddings, responses, messages ----
my %answer;
$r = post_json('/v1/embeddings', { model => 'text-embedding-3-small',
                                   input => 'hi' }, %on);
is $r->{status}, 200, 'embeddings: 200' or diag $r->{content};
push @calls, 'embeddings';
$answer{embeddings} = [ $r->{json}{usage}, 'text-embedding-3-small' ];
$r = post_json('/v1/responses', { model => 'gpt-4o-mini', input => 'Say hi' },
               %on);
is $r->{status}, 200, 'responses: 200' or diag $r->{content};
push @calls, 'responses';
$answer{responses} = [ $r->{json}{usage}, 'gpt-4o-mini' ];
$r = post_json('/v1/messages', { model => 'claude-3-7-sonnet-20250219',
    max_tokens => 64, messages => $user }, %on, headers => \%ant);
is $r->{status}, 200, 'messages: 200' or diag $r->{content};
push @calls, 'messages';
$answer{messages} = [ $r->{json}{usage}, 'claude-3-7-sonnet-20250219' ];
$rows = wait_rows(6);
# (three answers in a row: their rows may come in any order)
is_deeply [ sort map { "$_->{endpoint} $_->{status} $_->{model}" }
            @$rows[3 .. 5] ],
          [ 'embeddings 200 text-embedding-3-small',
            'messages 200 claude-3-7-sonnet-20250219',
            'responses 200 gpt-4o-mini' ],
          '... a row each' or diag explain $rows;
for my $row (@$rows[3 .. 5]) {
    my $a = $answer{ $row->{endpoint} } or next;
    usage_is($row, $a->[0], $a->[1], $row->{endpoint});
}

# ---- a backend error (429 from the gateway) ----
$r = post_json('/v1/chat/completions', { model => 'mock-error',
                                         messages => $user }, %on);
is $r->{status}, 429, 'a backend error: 429';
push @calls, 'backend error';
$rows = wait_rows(7);
$row = $rows->[6] || {};
is_deeply [ @$row{qw(endpoint model provider status)} ],
          [ 'chat.completions', 'mock-error', 'openai', 429 ],
          '... its row' or diag explain $row;
ok defined $row->{latency_ms}, '... with the backend latency';
ok !defined $row->{prompt_tokens}, '... no tokens';

# ---- client errors: no model, an unknown model ----
$r = post_json('/v1/chat/completions', { messages => $user }, %on);
is $r->{status}, 400, 'no model: 400';
push @calls, 'no model';
# (its row first: a row is written after the answer, and a child may wait
# for another's SQLite lock, so the next call's row could come first)
wait_rows(8);
$r = post_json('/v1/chat/completions', { model => 'no-such-model',
                                         messages => $user }, %on);
is $r->{status}, 404, 'unknown model: 404';
push @calls, 'unknown model';
$rows = wait_rows(9);
is_deeply [ map { [ @$_{qw(endpoint model provider status latency_ms)} ] }
            @$rows[7, 8] ],
          [ [ 'chat.completions', undef, undef, 400, undef ],
            [ 'chat.completions', 'no-such-model', undef, 404, undef ] ],
          '... a row each, no backend latency' or diag explain $rows;

# ---- the user of Basic authentication ----
$r = post_json('/auth/v1/chat/completions', { model => 'gpt-4o-mini',
    messages => $user }, %on, headers => { Authorization =>
    'Basic ' . encode_base64('alice:alice-pw-throwaway', '') });
is $r->{status}, 200, 'chat as alice: 200' or diag $r->{content};
push @calls, 'alice';
$r = post_json('/auth/v1/chat/completions', { model => 'gpt-4o-mini',
                                              messages => $user }, %on);
is $r->{status}, 401, 'no password: 401, no call';
$rows = wait_rows(10);
is $rows->[9]{username}, 'alice', '... the row names the user';

# ---- exactly one row per call, each with its own id ----
sleep 0.5;
$rows = rows();
is scalar @$rows, scalar @calls, 'one row per call, ' . scalar(@calls)
                                 . ' in all' or diag explain $rows;
my %ids = map { ($_->{request_id} // '') => 1 } @$rows;
is scalar(grep { length } keys %ids), scalar @$rows,
   'each row has its own request id';
SKIP: {
    skip 'mod_unique_id not loaded', 1 unless Apache::Test::have_module('unique_id');
    # mod_log_config writes its line after the row: wait for the last one
    my %logged;
    my $deadline = time + 5;
    while (time < $deadline) {
        open my $fh, '<', "$cfg->{vars}{serverroot}/logs/usagedb_ids" or last;
        %logged = map { /^(\S+) \d+ \/(?:auth\/)?v1\/(?!models)/ ? ($1 => 1) : () }
                  <$fh>;
        last if grep { $logged{$_} } map { $_->{request_id} // '' } $rows->[-1];
        sleep 0.1;
    }
    is scalar(grep { $logged{$_->{request_id} // ''} } @$rows), scalar @$rows,
       '... mod_unique_id\'s UNIQUE_ID' or diag explain [\%logged, $rows];
}

# ---- the README's query: per user and month, with cost ----
{
    my $q = "SELECT username, strftime('%Y-%m', ts) AS month, COUNT(*) AS "
          . "calls, SUM(prompt_tokens) AS prompt_tokens, "
          . "SUM(completion_tokens) AS completion_tokens, SUM(cost) AS cost "
          . "FROM llmproxy_usage GROUP BY username, month "
          . "ORDER BY month, cost DESC";
    my $res = sql($db, $q) || [];
    my %calls = map { ($_->{username} // '-') => $_->{calls} } @$res;
    is_deeply \%calls, { '-' => scalar(@calls) - 1, alice => 1 },
              'the README\'s SQLite query: calls per user and month'
        or diag explain $res;
}

# ---- a database that refuses rows: logged, never the client's ----
ok defined sql($rodb, 'CREATE TABLE usage_ro (ts TIMESTAMP NOT NULL, '
    . 'request_id VARCHAR(64), username VARCHAR(255), model VARCHAR(255), '
    . 'provider VARCHAR(32), endpoint VARCHAR(32) NOT NULL, status INTEGER '
    . 'NOT NULL, stream INTEGER NOT NULL, prompt_tokens BIGINT, '
    . 'completion_tokens BIGINT, cached_tokens BIGINT, cost DOUBLE '
    . 'PRECISION, latency_ms BIGINT, ttft_ms BIGINT)'), 'a read-only database';
chmod 0444, $rodb;
# the failures are counted in the metrics (llmproxy_usage_db_failures_total)
sub db_failures {
    my $m = HTTP::Tiny->new(timeout => 10)->get(
        'http://' . hostport_of('llmp_usagedb') . '/metrics');
    return $m->{content} =~ /^llmproxy_usage_db_failures_total (\d+)$/m
           ? $1 : undef;
}
my $failures0 = db_failures();
ok defined $failures0, 'llmproxy_usage_db_failures_total in /metrics';
for my $i (1, 2) {
    $r = post_json('/v1/chat/completions', { model => 'gpt-4o-mini',
        messages => $user }, module => 'llmp_usagedb_ro');
    is $r->{status}, 200, "chat $i with a read-only database: 200";
    like $r->{json}{choices}[0]{message}{content} // '', qr/hi/,
         '... and the answer';
}
{
    my $deadline = time + 10;
    my $err = '';
    while (time < $deadline) {
        open my $fh, '<', 't/logs/error_log' or last;
        local $/;
        $err = <$fh>;
        last if $err =~ /usage database: .*usage_ro/;
        sleep 0.2;
    }
    my $want = '] mod_llmproxy: usage database: the row was not written '
               . '(table usage_ro): attempt to write a readonly database;';
    like $err, qr/\[llmproxy:error\] .*\Q$want\E/,
         'the failure is logged with the database\'s words';
}
is scalar @{ sql($rodb, 'SELECT * FROM usage_ro') || [1] }, 0,
   '... and no row written';
is db_failures(), ($failures0 // 0) + 2,
   '... and each counted in llmproxy_usage_db_failures_total';

# ---- PostgreSQL: a server of our own on LLMP_PG_PORT ----
my @pgbin = ((split /:/, $ENV{PATH}), glob('/usr/lib/postgresql/*/bin'));
my ($initdb) = grep { -x } map { "$_/initdb" } @pgbin;
my ($pgctl) = grep { -x } map { "$_/pg_ctl" } @pgbin;
my ($psql) = grep { -x } map { "$_/psql" } @pgbin;
my $pgport = $ENV{LLMP_PG_PORT};
my $pgdir = "$dir/pg";
my $pg_up = 0;
# as the postgres user when we are root (PostgreSQL refuses root)
my @as = $> == 0 ? ('runuser', '-u', 'postgres', '--') : ();

sub pg_sql {
    my ($q) = @_;
    my $out = `$psql -h 127.0.0.1 -p $pgport -U postgres -d llmproxy -AtX -q -c "SELECT coalesce(json_agg(t), '[]') FROM ($q) t" 2>&1`;
    return $? ? undef : json_decode($out);
}

END {
    system("env -u LD_PRELOAD @as $pgctl -D $pgdir -m immediate -w stop "
           . ">/dev/null 2>&1") if $pg_up;
}

SKIP: {
    my $why = !($initdb && $pgctl && $psql) ? 'PostgreSQL binaries (initdb, '
              . 'pg_ctl, psql) not found'
            : !$pgport ? 'LLMP_PG_PORT is not set'
            : !-e pgsql_driver()
              ? 'no apr_dbd pgsql driver (Debian libaprutil1-dbd-pgsql)'
            : $> == 0 && !getpwnam('postgres') ? 'no postgres user to run it'
            : '';
    skip $why, 1 if $why;
    # not under the sanitizers' runtime that make test-asan preloads for
    # httpd (postgres hangs with it)
    local %ENV = %ENV;
    delete @ENV{qw(LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS)};
    my @timeout = -x '/usr/bin/timeout' ? ('/usr/bin/timeout', '-k', '5', '90')
                : ();
    my $t = time;
    # (their chatter in a file, not in the test's output)
    my $quiet = "$dir/pg-setup.log";
    my $run = sub {
        my $pid = fork // return -1;
        if (!$pid) {
            open STDOUT, '>>', $quiet;
            open STDERR, '>&', \*STDOUT;
            exec @_ or exit 127;
        }
        waitpid $pid, 0;
        return $?;
    };
    my $ok = $run->(@timeout, @as, $initdb, '-D', $pgdir, '-U', 'postgres', '-A',
                    'trust', '-E', 'UTF8', '--no-sync') == 0;
    $ok &&= $run->(@timeout, @as, $pgctl, '-D', $pgdir, '-l', "$dir/pg.log", '-w',
                   '-t', '30', '-o', "-p $pgport -c listen_addresses=127.0.0.1"
                   . " -c unix_socket_directories='' -c fsync=off", 'start')
            == 0;
    $pg_up = $ok;
    $ok &&= system($psql, '-h', '127.0.0.1', '-p', $pgport, '-U', 'postgres',
                   '-d', 'postgres', '-qX', '-c',
                   'CREATE DATABASE llmproxy') == 0;
    ok $ok, sprintf('a PostgreSQL server on 127.0.0.1:%s (%.1f s)', $pgport,
                    time - $t) or skip 'PostgreSQL did not start', 1;

    my %pg = (module => 'llmp_usagedb_pg');
    $r = post_json('/v1/chat/completions', { model => 'gpt-4o-mini',
                                             messages => $user }, %pg);
    is $r->{status}, 200, 'PostgreSQL: chat: 200' or diag $r->{content};
    $r = stream_raw('/v1/chat/completions', { model => 'gpt-4o-mini',
        messages => $user, stream => JSON::PP::true() }, %pg);
    is $r->{status}, 200, '... a stream: 200';
    $r = post_json('/v1/chat/completions', { model => 'no-such-model',
                                             messages => $user }, %pg);
    is $r->{status}, 404, '... an unknown model: 404';
    # a user name that is not UTF-8 (Latin-1; PostgreSQL refuses such
    # text): the row has it with '?'
    $r = post_json('/auth/v1/chat/completions', { model => 'gpt-4o-mini',
        messages => $user }, %pg, headers => { Authorization => 'Basic '
        . encode_base64("jos\xe9:usagedb-pw-throwaway", '') });
    is $r->{status}, 200, '... a user whose name is not UTF-8: 200'
        or diag $r->{content};
    my $sel = 'SELECT ts, request_id, username, model, provider, endpoint, '
            . 'status, stream, prompt_tokens, cost, latency_ms FROM '
            . 'llmproxy_usage';
    my $pgrows;
    my $deadline = time + 10;
    while (1) {
        $pgrows = pg_sql($sel) || [];
        last if @$pgrows >= 4 || time > $deadline;
        sleep 0.1;
    }
    @$pgrows = sort { ($a->{stream} <=> $b->{stream})
                      || ($a->{status} <=> $b->{status})
                      || (($a->{username} // '') cmp ($b->{username} // '')) }
               @$pgrows;
    is_deeply [ map { [ @$_{qw(username model provider endpoint status
                               stream)} ] } @$pgrows ],
              [ [ undef, 'gpt-4o-mini', 'openai', 'chat.completions', 200, 0 ],
                [ 'jos?', 'gpt-4o-mini', 'openai', 'chat.completions', 200,
                  0 ],
                [ undef, 'no-such-model', undef, 'chat.completions', 404, 0 ],
                [ undef, 'gpt-4o-mini', 'openai', 'chat.completions', 200,
                  1 ] ],
              '... one row per call' or diag explain $pgrows;
    like $pgrows->[0]{ts} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/,
         '... a timestamp';
    ok defined $pgrows->[0]{latency_ms} && !defined $pgrows->[2]{latency_ms},
       '... latency of a call; none without one';
    my $types = pg_sql("SELECT column_name, data_type FROM "
        . "information_schema.columns WHERE table_name = 'llmproxy_usage'")
        || [];
    my %type = map { ($_->{column_name} => $_->{data_type}) } @$types;
    is_deeply [ @type{qw(ts status prompt_tokens cost model)} ],
              [ 'timestamp without time zone', 'integer', 'bigint',
                'double precision', 'character varying' ],
              '... the README\'s types' or diag explain \%type;
    my $res = pg_sql("SELECT username, to_char(ts, 'YYYY-MM') AS month, "
        . "COUNT(*) AS calls, SUM(prompt_tokens) AS prompt_tokens, "
        . "SUM(completion_tokens) AS completion_tokens, SUM(cost) AS cost "
        . "FROM llmproxy_usage GROUP BY username, month "
        . "ORDER BY month, cost DESC") || [];
    is_deeply { map { (($_->{username} // '-') => $_->{calls}) } @$res },
              { '-' => 3, 'jos?' => 1 },
              '... the README\'s PostgreSQL query'
        or diag explain $res;
}

sub pgsql_driver {
    my ($d) = grep { -e } map { glob "$_/apr-util-1/apr_dbd_pgsql*.so" }
              '/usr/lib/*', '/usr/lib', '/usr/local/lib', '/usr/lib64';
    return $d // '/nonexistent';
}

# ---- LLMProxyUsageDB on without mod_dbd: httpd -t says so ----
my $httpd = $cfg->{vars}{httpd};
my $moddir = `$cfg->{vars}{apxs} -q LIBEXECDIR`;
chomp $moddir;
my $tmp = tempdir(CLEANUP => 1);
sub configtest {
    my ($lines) = @_;
    open my $fh, '>', "$tmp/httpd.conf" or die $!;
    print $fh <<"EOC";
ServerRoot "$tmp"
PidFile "$tmp/httpd.pid"
ErrorLog "$tmp/error_log"
Listen 127.0.0.1:1
LoadModule mpm_event_module "$moddir/mod_mpm_event.so"
LoadModule authz_core_module "$moddir/mod_authz_core.so"
LoadModule llmproxy_module "$ENV{LLMP_SO}"
LLMProxyModelListURL https://gw.example/models
$lines
EOC
    close $fh;
    my $out = `$httpd -t -f $tmp/httpd.conf 2>&1`;
    return ($? >> 8, $out);
}
my ($rc, $out) = configtest("LLMProxyUsageDB on");
isnt $rc, 0, 'LLMProxyUsageDB on without mod_dbd: httpd -t fails';
like $out, qr/LLMProxyUsageDB on .*needs mod_dbd/, '... and says why';
($rc, $out) = configtest("LoadModule dbd_module \"$moddir/mod_dbd.so\"\n"
    . "DBDriver sqlite3\nDBDParams $tmp/u.db\nLLMProxyUsageDB on\n"
    . "LLMProxyUsageTable llm.usage_2026");
is $rc, 0, '... with mod_dbd it passes' or diag $out;
($rc, $out) = configtest("LLMProxyUsageTable 'usage; DROP TABLE x'");
like $out, qr/LLMProxyUsageTable: 'usage; DROP TABLE x' is not a table name/,
     'a table name that is not one is refused';
($rc, $out) = configtest("LLMProxyUsageDB off");
is $rc, 0, 'LLMProxyUsageDB off needs no mod_dbd';

done_testing();
