#!/usr/bin/env python3
"""Wraps the declarations of every public header (include/eseal/*.h) in ES_API_BEGIN /
ES_API_END (err.h), so that they are exported from a library built with -fvisibility=hidden.
Idempotent: run it after adding a header. sdf.h and skf.h are the devices' standard ABIs."""
import glob, os, sys

OPEN = '#ifdef __cplusplus\nextern "C" {\n#endif\n'
CLOSE = '#ifdef __cplusplus\n}\n#endif\n'
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'include', 'eseal')
bad = 0
for f in sorted(glob.glob(os.path.join(root, '*.h'))):
    name = os.path.basename(f)
    if name in ('sdf.h', 'skf.h', 'err.h'):
        continue
    s = open(f).read()
    if 'ES_API_BEGIN' in s:
        continue
    if s.count(OPEN) != 1 or s.count(CLOSE) != 1:
        print(f'{name}: no single extern "C" block: wrap it by hand', file=sys.stderr)
        bad = 1
        continue
    if '"eseal/err.h"' not in s:
        head = s[:s.index(OPEN)]
        k = head.rindex('#include')
        k = s.index('\n', k) + 1
        s = s[:k] + '#include "eseal/err.h"\n' + s[k:]
    i = s.index(OPEN) + len(OPEN)
    s = s[:i] + '\nES_API_BEGIN\n' + s[i:]
    i = s.rindex(CLOSE)
    s = s[:i] + 'ES_API_END\n\n' + s[i:]
    open(f, 'w').write(s)
    print(f'wrapped {name}')
sys.exit(bad)
