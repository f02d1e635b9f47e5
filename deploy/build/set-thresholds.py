#!/usr/bin/env python3
"""Copies the thresholds measured by `edgeid face eval --roc` into models/MANIFEST.json,
so that no calibrated number is ever typed by hand."""
import json
import sys

roc_path, manifest_path, model_id = sys.argv[1], sys.argv[2], sys.argv[3]
with open(roc_path) as f:
    roc = json.load(f)
with open(manifest_path) as f:
    manifest = json.load(f)

names = {1e-2: "far_1e-2", 1e-3: "far_1e-3", 1e-4: "far_1e-4"}
thresholds = {"eer": round(roc["eer_threshold"], 4)}
for p in roc["operating_points"]:
    name = names.get(p["TargetFAR"])
    if name and p["Resolvable"]:
        thresholds[name] = round(p["Threshold"], 4)

for m in manifest["models"]:
    if m["id"] == model_id:
        m["thresholds"] = thresholds
        m["calibration"] = (
            "edgeid face eval (quality gates on) over %s: %d identities, %d usable images, "
            "%d genuine and %d impostor pairs; EER %.2f%%; ROC in %s"
            % (" + ".join(s.split("datasets/")[-1] for s in roc["sets"]), roc["identities"], roc["usable"],
               roc["genuine_pairs"], roc["impostor_pairs"], 100 * roc["eer"], roc_path.split("/")[-1]))
        break
else:
    sys.exit("model %s not in %s" % (model_id, manifest_path))

with open(manifest_path, "w") as f:
    json.dump(manifest, f, indent=2)
    f.write("\n")
print("thresholds for %s: %s" % (model_id, thresholds))
