# Image generation through the real module: Ideogram (classic JSON API and
# the 3.0 multipart API) and Recraft, against the strict mocks in
# t/mock/providers/ideogram.py and recraft.py.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use LLMPTest;
use MIME::Base64 qw(decode_base64);

plan tests => 58;

ok wait_list(), 'model list loaded';
mock_reset();

sub gen { post_json('/v1/images/generations', { @_ }) }
sub ncalls { my $re = shift; scalar grep { $_->{path} =~ $re } @{ mock_requests() || [] } }

# ---- Ideogram classic ----
my $r = gen(model => 'ideogram-v2', prompt => 'a cat', n => 2,
            size => '1792x1024', style => 'natural', quality => 'hd',
            response_format => 'url', user => 'u1');
is $r->{status}, 200, 'ideogram classic';
like $r->{json}{created}, qr/^\d+$/, 'created is unix seconds';
is scalar @{ $r->{json}{data} || [] }, 2, 'two images';
like $r->{json}{data}[0]{url}, qr{^https://ideogram\.mock/}, 'url';
is $r->{json}{data}[0]{revised_prompt}, 'Magic: a cat', 'revised_prompt';
ok !exists $r->{json}{data}[0]{b64_json}, 'no b64_json';
my $seen = last_request(qr{^/ideogram/generate$});
my $nb = json_decode($seen ? $seen->{body} : '{}');
is $nb->{image_request}{model}, 'V_2', 'ideogram-v2 -> V_2';
is $nb->{image_request}{aspect_ratio}, 'ASPECT_16_9', '1792x1024 -> 16:9';
is $nb->{image_request}{num_images}, 2, 'n -> num_images';
is $nb->{image_request}{style_type}, 'REALISTIC', 'natural -> REALISTIC';
like $seen->{headers}{'content-type'} || '', qr{^application/json}, 'JSON';

# b64_json is refused before the backend
mock_reset();
$r = gen(model => 'ideogram-v2', prompt => 'a cat', response_format => 'b64_json');
is $r->{status}, 400, 'b64_json refused';
is $r->{json}{error}{param}, 'response_format';
like $r->{json}{error}{message}, qr/b64_json is not supported/;
$r = gen(model => 'ideogram-v2', prompt => '');
is $r->{status}, 400, 'empty prompt';
is $r->{json}{error}{param}, 'prompt';
$r = gen(model => 'ideogram-v2', n => 1);
is $r->{status}, 400, 'missing prompt';
$r = gen(model => 'ideogram-v2', prompt => 'x', n => 9);
is $r->{json}{error}{param}, 'n', 'n > 8';
is ncalls(qr{^/ideogram/}), 0, 'no backend call for refused requests';

# safety
$r = gen(model => 'ideogram-v2', prompt => 'something unsafe');
is $r->{status}, 400, 'all images unsafe';
is $r->{json}{error}{code}, 'content_policy_violation';
$r = gen(model => 'ideogram-v2', prompt => 'partly_unsafe', n => 3);
is $r->{status}, 200, 'partly unsafe';
is scalar @{ $r->{json}{data} || [] }, 2, 'unsafe image skipped';

# errors keep status and message
$r = gen(model => 'ideogram-v2', prompt => 'please fail');
is $r->{status}, 500, 'ideogram 500';
is $r->{json}{error}{message}, 'Image generation failed', 'detail kept';
$r = gen(model => 'ideogram-v2', prompt => 'safety check');
is $r->{status}, 422, 'ideogram 422';
is $r->{json}{error}{message}, 'Prompt failed the safety check.';
$r = gen(model => 'ideogram-v2', prompt => 'rate_limit');
is $r->{status}, 429, 'ideogram 429';

# ---- Ideogram 3.0 (multipart) ----
mock_reset();
$r = gen(model => 'ideogram-v3', prompt => "a \"quoted\" cat \x{e9}", n => 2,
         size => '1024x1024', quality => 'hd', style => 'vivid');
is $r->{status}, 200, 'ideogram v3';
is scalar @{ $r->{json}{data} || [] }, 2, 'two images';
like $r->{json}{data}[1]{url}, qr{img2\.png}, 'second url';
$seen = last_request(qr{^/ideogram/v1/ideogram-v3/generate$});
like $seen->{headers}{'content-type'} || '',
     qr{^multipart/form-data; boundary=}, 'multipart content type';
like $seen->{body}, qr{name="rendering_speed"\r\n\r\nQUALITY\r\n}, 'hd -> QUALITY';
like $seen->{body}, qr{name="resolution"\r\n\r\n1024x1024\r\n}, 'resolution';
like $seen->{body}, qr{name="style_type"\r\n\r\nAUTO\r\n}, 'vivid -> AUTO';
like $seen->{body}, qr{name="num_images"\r\n\r\n2\r\n}, 'num_images';
$r = gen(model => 'ideogram-v3', prompt => 'wide', size => '1792x1024',
         quality => 'standard');
is $r->{status}, 200, 'v3 aspect ratio';
$seen = last_request(qr{^/ideogram/v1/ideogram-v3/generate$});
like $seen->{body}, qr{name="aspect_ratio"\r\n\r\n16x9\r\n}, '16x9';
$r = gen(model => 'ideogram-v3', prompt => 'x', quality => 'ultra');
is $r->{status}, 400, 'bad quality';
is $r->{json}{error}{param}, 'quality';

# ---- Recraft ----
mock_reset();
$r = gen(model => 'recraftv3', prompt => 'red point siamese cat', n => 2,
         size => '1024x1792', style => 'vivid', quality => 'hd', user => 'u');
is $r->{status}, 200, 'recraft';
is scalar @{ $r->{json}{data} || [] }, 2, 'two images';
like $r->{json}{data}[0]{url}, qr{^https://img\.recraft\.mock/}, 'url';
ok !exists $r->{json}{credits}, 'native fields dropped';
$seen = last_request(qr{^/recraft/v1/images/generations$});
$nb = json_decode($seen ? $seen->{body} : '{}');
is $nb->{model}, 'recraftv3', 'native model';
is $nb->{size}, '1024x1820', 'nearest Recraft size';
is $nb->{style}, 'digital_illustration', 'vivid -> digital_illustration';
ok !exists $nb->{quality} && !exists $nb->{user}, 'OpenAI-only fields dropped';

$r = gen(model => 'recraftv3', prompt => 'b64 cat', response_format => 'b64_json',
         style => 'realistic_image', substyle => 'hdr');
is $r->{status}, 200, 'recraft b64_json';
is substr(decode_base64($r->{json}{data}[0]{b64_json} || ''), 1, 3), 'PNG',
   'b64_json is a PNG';

$r = gen(model => 'recraftv3', prompt => 'x', style => 'neon_dream');
is $r->{status}, 400, 'unknown style refused';
is $r->{json}{error}{param}, 'style';
$r = gen(model => 'recraftv3', prompt => 'please fail');
is $r->{status}, 500, 'recraft 500';
is $r->{json}{error}{message}, 'Image generation failed';
is $r->{json}{error}{code}, 'internal_error', 'Recraft code kept';
$r = gen(model => 'recraftv3', prompt => 'rate_limit');
is $r->{status}, 429, 'recraft 429';

# image models are not chat models
$r = post_json('/v1/chat/completions',
    { model => 'ideogram-v2', messages => [{ role => 'user', content => 'hi' }] });
is $r->{status}, 400, 'chat with an image model';
