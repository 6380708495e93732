# The chart and the report in a real browser: a task runs through the
# worker pool; the README's exact commands save its chart (psql -At -o) and
# its report (pg_backtest report -o); headless Chromium renders both and
# the screenshots' pixels are checked: not blank, the equity line inside its
# panel and nowhere else, the trade marker colours present, the monthly
# returns coloured.  A broken layout fails here even when the SVG parses.
#
# The screenshots are kept as artefacts in tmp_check/ and in
# $PG_BACKTEST_ARTIFACTS (default /tmp/pg_backtest_artifacts).
use strict;
use warnings;

use Compress::Zlib ();
use File::Copy qw(copy);
use File::Path qw(make_path);
use IPC::Run;
use PgBacktestNode;
use PostgreSQL::Test::Utils;
use Test::More;

my ($chromium) = grep { -x $_ } map { ("$_/chromium", "$_/chromium-browser") } split /:/, $ENV{PATH};
ok(defined $chromium, 'chromium is installed (scripts/install-deps.sh)')
  or BAIL_OUT('no chromium on PATH');

my $node = PgBacktestNode->create('chart_browser');

# two years of daily bars: trends (trades of both sides, stops, targets)
$node->safe_psql(
	'postgres', q{
CREATE TABLE klines (symbol text NOT NULL, ts timestamptz NOT NULL, open float8, high float8,
                     low float8, close float8, volume float8, PRIMARY KEY (symbol, ts));
INSERT INTO klines
SELECT 'DEMO', timestamptz '2022-01-03 00:00+00' + i * interval '1 day',
       c * (1 + 0.004 * sin(i * 1.7)), c * (1.012 + 0.004 * sin(i * 0.9)), c * (0.988 - 0.004 * cos(i * 1.3)),
       c, 1000
FROM (SELECT i, 100 * exp(0.25 * sin(i / 45.0) + 0.06 * sin(i / 6.0) + i * 2e-4) AS c
      FROM generate_series(0, 729) i) s;
});

my $params = '{"fast": 10, "slow": 30, "stop_loss": 0.03, "take_profit": 0.08, "allow_short": true}';
my $id = $node->safe_psql('postgres',
	"SELECT backtest_submit('klines', 'DEMO', 'sma_cross', '$params')");
is($node->wait_task($id), 'completed', 'the task completed');
my $ntrades = $node->safe_psql('postgres', "SELECT count(*) FROM backtest.trades WHERE task_id = $id");
cmp_ok($ntrades, '>', 5, "the task made trades ($ntrades)");

my $out = $PostgreSQL::Test::Utils::tmp_check;
my $svg = "$out/chart.svg";
my $html = "$out/report.html";

# the README's commands, exactly (connection options aside)
my @conn = ('-h', $node->host, '-p', $node->port, '-d', 'postgres');
my $indicators = '[{"name": "ema", "period": 20}, {"name": "kdj", "outputs": ["k", "d", "j"]}]';
my ($stdout, $stderr);
ok( IPC::Run::run(
		[ 'psql', @conn, '-At', '-o', $svg, '-c',
			"SELECT backtest_chart_svg($id, indicators => '$indicators')" ],
		'>', \$stdout, '2>', \$stderr),
	'psql -At -o chart.svg writes the chart')
  or diag($stderr);
ok(IPC::Run::run([ 'pg_backtest', @conn, 'report', $id, '-o', $html ], '>', \$stdout, '2>', \$stderr),
	'pg_backtest report -o report.html writes the report')
  or diag($stderr);
like($stdout, qr/^wrote the report of task $id to \Q$html\E \(\d+ bytes\)$/, 'the CLI says what it wrote');

# the files are exactly the functions' results and parse as XML
# (psql -At ends the value with a newline, the CLI writes it as it is)
foreach my $f ([ $svg, "backtest_chart_svg($id, indicators => '$indicators') || E'\\n'" ],
	[ $html, "backtest_report_html($id)" ])
{
	my ($file, $call) = @$f;
	is( $node->safe_psql(
			'postgres',
			"SELECT xml_is_well_formed_document(pg_read_file('$file')) AND pg_read_file('$file') = $call"),
		't', "$file is well-formed and holds exactly $call");
}

# render both
my $png_chart = "$out/chart.png";
my $png_report = "$out/report.png";
foreach my $r ([ $svg, $png_chart, '1200,800' ], [ $html, $png_report, '1280,2600' ])
{
	my ($file, $png, $size) = @$r;
	unlink $png;
	my @cmd = (
		$chromium, '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars',
		'--user-data-dir=' . "$out/chromium-profile", '--force-device-scale-factor=1',
		"--window-size=$size", "--screenshot=$png", "file://$file");
	my ($o, $e);
	IPC::Run::run(\@cmd, '>', \$o, '2>', \$e, IPC::Run::timeout(180));
	ok(-s $png, "chromium rendered $file") or diag($e);
}

# keep the screenshots
my $keep = $ENV{PG_BACKTEST_ARTIFACTS} // '/tmp/pg_backtest_artifacts';
if (eval { make_path($keep); 1 } && -w $keep)
{
	copy($_, $keep) foreach ($png_chart, $png_report, $svg, $html);
	diag("screenshots kept in $out and $keep");
}

# ---- pixels -------------------------------------------------------------

# Decode a non-interlaced 8-bit RGB/RGBA PNG: {w, h, bpp, rows => [bytes]}
sub read_png
{
	my ($file) = @_;
	open my $fh, '<:raw', $file or die "$file: $!";
	my $data = do { local $/; <$fh> };
	close $fh;
	die "$file is not a PNG" unless substr($data, 0, 8) eq "\x89PNG\r\n\x1a\n";
	my ($pos, $idat, $w, $h, $depth, $ctype, $interlace) = (8, '');
	while ($pos < length $data)
	{
		my ($len, $type) = unpack('N a4', substr($data, $pos, 8));
		my $body = substr($data, $pos + 8, $len);
		$pos += 12 + $len;
		($w, $h, $depth, $ctype, undef, undef, $interlace) = unpack('N N C C C C C', $body)
		  if $type eq 'IHDR';
		$idat .= $body if $type eq 'IDAT';
		last if $type eq 'IEND';
	}
	die "$file: unsupported PNG ($depth bits, colour type $ctype)"
	  unless $depth == 8 && ($ctype == 2 || $ctype == 6) && !$interlace;
	my $bpp = $ctype == 6 ? 4 : 3;
	my $raw = Compress::Zlib::uncompress($idat) // die "$file: bad zlib data";
	my $stride = $w * $bpp;
	my @prev = (0) x $stride;
	my @rows;
	for my $y (0 .. $h - 1)
	{
		my $filter = ord substr($raw, $y * ($stride + 1), 1);
		my @c = unpack('C*', substr($raw, $y * ($stride + 1) + 1, $stride));
		if ($filter != 0)
		{
			for my $i (0 .. $stride - 1)
			{
				my $a = $i >= $bpp ? $c[ $i - $bpp ] : 0;
				my $b = $prev[$i];
				my $d = $i >= $bpp ? $prev[ $i - $bpp ] : 0;
				my $pred =
					$filter == 1 ? $a
				  : $filter == 2 ? $b
				  : $filter == 3 ? ($a + $b) >> 1
				  : do
				  {
					  my $p = $a + $b - $d;
					  my ($pa, $pb, $pd) = (abs($p - $a), abs($p - $b), abs($p - $d));
					  ($pa <= $pb && $pa <= $pd) ? $a : ($pb <= $pd) ? $b : $d;
				  };
				$c[$i] = ($c[$i] + $pred) & 255;
			}
		}
		@prev = @c;
		push @rows, pack('C*', @c);
	}
	return { w => $w, h => $h, bpp => $bpp, rows => \@rows };
}

# Pixels within $tol (per channel) of colour "#rrggbb" in [x0,x1) x [y0,y1)
sub count_colour
{
	my ($img, $hex, $tol, $x0, $y0, $x1, $y1) = @_;
	my @want = map { hex } ($hex =~ /^#(..)(..)(..)$/);
	$x1 = $img->{w} if $x1 > $img->{w};
	$y1 = $img->{h} if $y1 > $img->{h};
	my $n = 0;
	for my $y ($y0 .. $y1 - 1)
	{
		my $row = $img->{rows}[$y];
		for my $x ($x0 .. $x1 - 1)
		{
			my ($r, $g, $b) = unpack('C3', substr($row, $x * $img->{bpp}, 3));
			$n++
			  if abs($r - $want[0]) <= $tol && abs($g - $want[1]) <= $tol && abs($b - $want[2]) <= $tol;
		}
	}
	return $n;
}

# Distinct colours and the share of pixels unlike the page's background
sub variety
{
	my ($img, $bg) = @_;
	my %seen;
	my $other = 0;
	for my $row (@{ $img->{rows} })
	{
		for my $x (0 .. $img->{w} - 1)
		{
			my $px = substr($row, $x * $img->{bpp}, 3);
			$seen{$px}++;
			$other++ if $px ne $bg;
		}
	}
	return (scalar(keys %seen), $other / ($img->{w} * $img->{h}));
}

# a panel's frame in the SVG: (x, y, width, height)
my $svg_text = slurp_file($svg);
sub frame
{
	my ($id) = @_;
	$svg_text =~ /<g class="panel" id="btc-panel-$id">\n<rect class="frame" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/
	  or die "no frame for panel $id";
	return map { int($_ + 0.5) } ($1, $2, $3, $4);
}

my $chart = read_png($png_chart);
is("$chart->{w}x$chart->{h}", '1200x800', 'the chart screenshot is 1200x800');
my ($colours, $busy) = variety($chart, pack('C3', 0xfa, 0xfa, 0xfa));
cmp_ok($colours, '>', 100, "the chart is not blank ($colours colours)");
cmp_ok($busy, '>', 0.3, sprintf('panels cover the chart (%.0f%% not background)', 100 * $busy));

my @price = frame('price');
my @equity = frame('equity');
my @dd = frame('drawdown');
my $eq_colour = '#1f77b4';
my $inside = count_colour($chart, $eq_colour, 12, $equity[0] + 1, $equity[1] + 1,
	$equity[0] + $equity[2], $equity[1] + $equity[3]);
cmp_ok($inside, '>', 300, "the equity line is drawn inside its panel ($inside px)");
# outside: none in the oscillator, drawdown and axis areas; in the price
# panel only the odd anti-aliased edge of a blue long-entry marker
my $outside = count_colour($chart, $eq_colour, 12, 0, $price[1] + $price[3] + 1, 1200, $equity[1] - 1)
  + count_colour($chart, $eq_colour, 12, 0, $equity[1] + $equity[3] + 2, 1200, 800);
is($outside, 0, 'no equity-coloured pixel in the other panels');
my $in_price = count_colour($chart, $eq_colour, 12, 0, $price[1], 1200, $price[1] + $price[3] + 1);
cmp_ok($in_price, '<', $inside / 20, "hardly any in the price panel ($in_price px)");
# the equity line spans its panel's width (left and right quarters)
my $q = int($equity[2] / 4);
ok( count_colour($chart, $eq_colour, 12, $equity[0] + 1, $equity[1], $equity[0] + $q, $equity[1] + $equity[3]) > 20
	  && count_colour($chart, $eq_colour, 12, $equity[0] + 3 * $q, $equity[1], $equity[0] + $equity[2], $equity[1] + $equity[3]) > 20,
	'the equity line runs across the panel');

my %markers = (
	'#1565c0' => 'long entries',
	'#ef6c00' => 'short entries',
	'#2e7d32' => 'winning exits',
	'#c62828' => 'losing exits');
while (my ($colour, $what) = each %markers)
{
	my $n = count_colour($chart, $colour, 10, $price[0], $price[1], $price[0] + $price[2], $price[1] + $price[3]);
	cmp_ok($n, '>', 30, "$what are marked on the price panel in $colour ($n px)");
}
my $red = count_colour($chart, '#d62728', 60, $dd[0] + 1, $dd[1] + 1, $dd[0] + $dd[2], $dd[1] + $dd[3]);
cmp_ok($red, '>', 500, "the drawdown is filled in its panel ($red px)");

my $report = read_png($png_report);
($colours, $busy) = variety($report, pack('C3', 0xfa, 0xfa, 0xfa));
cmp_ok($colours, '>', 100, "the report is not blank ($colours colours)");
my $green_cells = 0;
for my $row (@{ $report->{rows} })
{
	for my $x (0 .. $report->{w} - 1)
	{
		my ($r, $g, $b) = unpack('C3', substr($row, $x * $report->{bpp}, 3));
		# a strong gain's cell: bright green, unlike any marker or line
		$green_cells++ if $g > 150 && $g - $r > 60 && $g - $b > 60;
	}
}
cmp_ok(count_colour($report, '#1565c0', 10, 0, 0, $report->{w}, $report->{h}), '>', 30,
	'the report shows the chart with its markers');
cmp_ok($green_cells, '>', 200, "the monthly returns are coloured ($green_cells green px)");

done_testing();
