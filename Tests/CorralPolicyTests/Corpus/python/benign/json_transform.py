import json

with open('input.json') as f:
    records = json.load(f)
summary = {r['name']: r['score'] * 2 for r in records}
print(json.dumps(summary, indent=2, sort_keys=True))
