#!/usr/bin/env python3
"""Copies what `edgeid face eval --json` measured into models/MANIFEST.json, so that no calibrated
number is ever typed by hand.

usage: set-thresholds.py MANIFEST ALL.json [OTHER-PROTOCOL.json...]

ALL.json is the all-pairs report over the calibration union (run with --fusion-stats measured):
it gives each recognizer's impostor mean/std (the fusion's z-normalisation) and its own
operating points. The fused thresholds come from every report given (one per protocol, all
scored with ALL.json's statistics):
  accept = the smallest fused FAR 0.01% threshold over every protocol and every slice (the union,
           each set, each group), so automatic acceptance meets FAR 0.01% on each of them;
  reject = the largest fused threshold that refuses at most 1% of genuine pairs, over the same.
"""
import json
import math
import sys

manifest_path, all_path, others = sys.argv[1], sys.argv[2], sys.argv[3:]
reports = []
for p in [all_path] + others:
    with open(p) as f:
        reports.append(json.load(f))
with open(manifest_path) as f:
    manifest = json.load(f)

base = reports[0]
if base["protocol"] != "all" or base["fusion_stats"] != "measured":
    sys.exit("%s must be an all-pairs report with --fusion-stats measured" % all_path)
for r in reports[1:]:
    if r["fusion_stats"] != all_path:
        sys.exit("%s was not scored with --fusion-stats %s" % (r.get("protocol"), all_path))

names = {1e-2: "far_1e-2", 1e-3: "far_1e-3", 5e-4: "far_5e-4", 1e-4: "far_1e-4"}
sets = " + ".join(s.split("datasets/")[-1] for s in base["sets"])
short = {"dlib-resnet-v1": "dlib", "hse-faceres-v1": "faceres"}


def union(report, model):
    for res in report["results"]:
        if res["slice"] == "union" and res["model"] == model:
            return res
    sys.exit("no union result for %s" % model)


def thresholds(res):
    t = {"eer": round(res["eer_threshold"], 4)}
    for p in res["operating_points"]:
        n = names.get(p["TargetFAR"])
        if n and p["Resolvable"]:
            t[n] = round(p["Threshold"], 4)
    return t


ids = []
for m in manifest["models"]:
    if m["role"] != "recognizer":
        continue
    ids.append(m["id"])
    res = union(base, short[m["id"]])
    st = base["impostor_stats"][m["id"]]
    m["impostor"] = {"mean": round(st["mean"], 6), "std": round(st["std"], 6)}
    m["thresholds"] = thresholds(res)
    m["calibration"] = (
        "edgeid face eval (quality gates on, all pairs) over %s: %d identities, %d usable images, "
        "%d genuine and %d impostor pairs; EER %.2f%%" % (sets, base["identities"], base["usable"],
                                                        res["genuine_pairs"], res["impostor_pairs"], 100 * res["eer"]))

accept, reject, where_a, where_r = None, None, "", ""
for r in reports:
    for res in r["results"]:
        if res["model"] != "fused":
            continue
        far4 = [p for p in res["operating_points"] if p["TargetFAR"] == 1e-4][0]
        if accept is None or far4["Threshold"] < accept:
            accept, where_a = far4["Threshold"], "%s/%s" % (r["protocol"], res["slice"])
        if reject is None or res["frr_1pct_threshold"] > reject:
            reject, where_r = res["frr_1pct_threshold"], "%s/%s" % (r["protocol"], res["slice"])
if reject <= accept:
    # Every genuine pair but 1% is already accepted: the band would be empty; keep it minimal.
    reject = accept + 1e-4
# Four decimals in the manifest, rounded the safe way: the accept threshold down (never one
# more impostor accepted), the reject threshold up (never one more genuine pair refused; rounding
# to nearest once made 9 of AT&T's 849 genuine pairs rejected, over the 1%).
accept = math.floor(accept * 1e4) / 1e4
reject = math.ceil(reject * 1e4) / 1e4
fused = union(base, "fused")
manifest["fusion"] = {
    "models": ids,
    "weights": [round(1.0 / len(ids), 6)] * len(ids),
    "accept": accept,
    "reject": reject,
    "thresholds": thresholds(fused),
    "calibration": ("z-normalised distances averaged; impostor statistics and operating points from all pairs of %s; "
                    "accept = smallest FAR 0.01%% threshold over protocols %s and every slice (set by %s), "
                    "reject = largest 1%%-genuine-refused threshold (set by %s)")
    % (sets, "/".join(r["protocol"] for r in reports), where_a, where_r),
}
with open(manifest_path, "w") as f:
    json.dump(manifest, f, indent=2)
    f.write("\n")
print("fusion accept %.4f (%s), reject %.4f (%s)" % (accept, where_a, reject, where_r))
