"""Differences between two dumps of examples/dump_search.rs and differential.mjs.
usage: python3 compare.py salus.jsonl js.jsonl"""
import collections
import json
import sys


def load(p):
    lines = (l for l in open(p) if l.startswith('{"file"'))  # fhirpath.js trace() prints too
    return {(o['file'], o['param']): o for o in map(json.loads, lines)}


def norm(x):
    return json.dumps(x, sort_keys=True) if isinstance(x, (dict, list)) else str(x)


a, b = load(sys.argv[1]), load(sys.argv[2])
diff, example = collections.Counter(), {}
for k, x in a.items():
    y = b.get(k)
    if y is None:
        continue
    if 'error' in x or 'error' in y:
        if ('error' in x) != ('error' in y):
            key = ('error', k[1], x.get('error', '')[:60], y.get('error', '')[:60])
            diff[key] += 1
            example.setdefault(key, k[0])
        continue
    xi = sorted(map(norm, x['items']))
    yi = sorted(map(norm, y['items']))
    if xi != yi:
        diff[k[1]] += 1
        example.setdefault(k[1], (k[0], [i for i in xi if i not in yi][:2], [i for i in yi if i not in xi][:2]))
print(f'{len(a)} results compared, {sum(diff.values())} differ')
for key, n in diff.most_common(50):
    print(n, key, json.dumps(example[key])[:300])
