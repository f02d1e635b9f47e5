#!/usr/bin/env python3
"""Record a model file's size and SHA-256 in its models/MANIFEST.json entry (after retraining)."""
import hashlib, json, sys

manifest, model_id, path = sys.argv[1:4]
with open(manifest) as f:
    m = json.load(f)
with open(path, "rb") as f:
    b = f.read()
for e in m["models"]:
    if e["id"] == model_id:
        e["bytes"], e["sha256"] = len(b), hashlib.sha256(b).hexdigest()
        break
else:
    sys.exit(f"{manifest}: no model {model_id}")
with open(manifest, "w") as f:
    json.dump(m, f, indent=2)
    f.write("\n")
print(f"{manifest}: {model_id} bytes {len(b)} sha256 {e['sha256']}")
