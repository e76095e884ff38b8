#!/usr/bin/env bash
# `eseal picture` end to end: help texts with examples and usage errors; a standard seal drawn
# (round and oval) whose pHYs gives the millimetres asked, checked by `eseal picture info` and
# by Python reading the PNG's chunks itself; that drawing used as a scan (transparent pixels are
# paper) gives back a picture of the diameter measured; bad options exit 1 naming the option in
# English and Chinese; garbage and truncated scans are refused, never a crash.
#
# usage: tests/cli/picture.sh /path/to/eseal   (ESEAL_TESTDATA set, as CTest does)
# Prints one line per check and ends with "N passed, M failed"; exit status 1 when any failed.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh" picture "$@"

# The pHYs of a PNG read with Python alone: "WIDTH_MM HEIGHT_MM".
cat >phys.py <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
assert d[:8] == b"\x89PNG\r\n\x1a\n"
i, w, h, ppm = 8, 0, 0, None
while i < len(d):
    n, t = struct.unpack(">I4s", d[i:i + 8])
    c = d[i + 8:i + 8 + n]
    if t == b"IHDR":
        w, h = struct.unpack(">II", c[:8])
    if t == b"pHYs":
        x, y, unit = struct.unpack(">IIB", c)
        assert unit == 1
        ppm = (x, y)
    i += 12 + n
print("%.3f %.3f" % (w * 1000.0 / ppm[0], h * 1000.0 / ppm[1]))
PY
near() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); sys.exit(abs(a - b) > b * 0.01)" "$1" "$2"; }

expect 0 "picture --help" picture --help
check "picture --help names scan, draw, info" has "scan" out
for sub in scan draw info; do
    expect 0 "picture $sub --help" picture "$sub" --help
    check "picture $sub --help has an example" has_example out
done
expect 3 "picture (no subcommand)" picture
expect 3 "picture draw without --name" picture draw --diameter 42 --out x.png
expect 3 "picture scan without --box" picture scan --in x.png --diameter 42 --out y.png
expect 3 "picture scan --box 1,2,3" picture scan --in x.png --box 1,2,3 --diameter 42 --out y.png

expect 0 "draw a round seal of 42 mm" picture draw --name '某某市人力资源和社会保障局' --type 公章 \
    --diameter 42 --out round.png --json
check "draw --json is JSON" valid_json out
check "draw reports 992 px" has '"width_px":992' out
read -r w h < <(python3 phys.py round.png)
check "its pHYs says 42 mm ($w x $h)" near "$w" 42
expect 0 "info round.png" picture info round.png
check "info says 600 dpi and 41.99 mm" has "600.00 dpi: 41.99 x 41.99 mm" out
expect 0 "draw an oval 45x30 preview with a code" picture draw --name '某某市社会保险事业管理中心' \
    --type 财务专用章 --code 4403050001234 --size 45x30 --preview --dpi 300 --out oval.png
read -r w h < <(python3 phys.py oval.png)
check "the oval is 45 x 30 mm ($w x $h)" near "$w" 45
check "... 30 mm high" near "$h" 30
check "the preview says so in the PNG" grep -q Preview oval.png

# The drawing as a scan: its transparency is white paper; loose box, diameter 40.
expect 0 "scan the drawn seal at 40 mm" picture scan --in round.png --box 0,0,992,992 \
    --diameter 40 --out again.png --json
read -r w h < <(python3 phys.py again.png)
check "the picture from the scan is 40 mm ($w x $h)" near "$w" 40
check "the ink found is the ring (992 wide)" grep -Eq '"ink_box":\[[0-9]+,[0-9]+,99[0-2],99[0-2]\]' out

# Refusals: exit 1, the option named, English and Chinese.
expect 1 "diameter 500" picture draw --name 某局 --diameter 500 --out bad.png
check "... names --diameter in English and Chinese" grep -q -- "--diameter/--size: .*毫米" err
expect 1 "a box past the scan" picture scan --in round.png --box 900,0,200,200 --diameter 40 \
    --out bad.png
check "... names --box" grep -q -- "--box: " err
printf 'not an image' >junk.png
expect 1 "a scan that is not an image" picture scan --in junk.png --box 0,0,100,100 \
    --diameter 40 --out bad.png
check "... says neither JPEG nor PNG" grep -q "neither a JPEG nor a PNG" err
head -c 3000 round.png >cut.png
expect 1 "a truncated scan" picture scan --in cut.png --box 0,0,100,100 --diameter 40 --out bad.png
check "... says truncated" grep -q "truncated" err
check "nothing written on refusal" [ ! -e bad.png ]
expect 1 "info on garbage" picture info junk.png
finish
