#!/usr/bin/env python3
"""Writes the face-eval results (JSON reports of `edgeid face eval --roc`) as a Markdown table into
README.md between <!-- eval:start --> and <!-- eval:end -->, so no accuracy figure is typed by hand."""
import json
import sys

readme, reports = sys.argv[1], sys.argv[2:]
rows = ["| sets | gates | usable images | genuine / impostor pairs | EER | FRR at FAR 1% | at 0.1% | at 0.01% |",
        "|---|---|---|---|---|---|---|---|"]
for path in reports:
    with open(path) as f:
        r = json.load(f)
    pts = {p["TargetFAR"]: p for p in r["operating_points"]}

    def cell(target):
        p = pts.get(target)
        if p is None:
            return ""
        if not p["Resolvable"]:
            return "not resolvable"
        return "%.2f%% (t %.4f)" % (100 * p["FRR"], p["Threshold"])

    sets = " + ".join(s.split("datasets/")[-1] for s in r["sets"])
    rows.append("| %s | %s | %d of %d | %d / %d | %.2f%% | %s | %s | %s |" % (
        sets, "on" if r["gates"] else "off", r["usable"], r["images"], r["genuine_pairs"], r["impostor_pairs"],
        100 * r["eer"], cell(0.01), cell(0.001), cell(0.0001)))

with open(readme) as f:
    text = f.read()
start, end = "<!-- eval:start -->", "<!-- eval:end -->"
i, j = text.index(start), text.index(end)
text = text[:i + len(start)] + "\n" + "\n".join(rows) + "\n" + text[j:]
with open(readme + ".tmp", "w") as f:
    f.write(text)
import os
os.replace(readme + ".tmp", readme)
print("\n".join(rows))
