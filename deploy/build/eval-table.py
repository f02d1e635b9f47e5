#!/usr/bin/env python3
"""Writes the face-eval results (JSON reports of `edgeid face eval --json`, one per protocol) as a
Markdown table into README.md between <!-- eval:start --> and <!-- eval:end -->, so no accuracy
figure is typed by hand. With --print the table only goes to stdout.

usage: eval-table.py [--print] README REPORT.json...
"""
import json
import sys

args = sys.argv[1:]
only_print = args[0] == "--print"
if only_print:
    args = args[1:]
readme, reports = args[0], args[1:]
rows = ["| protocol | slice | model | usable images | genuine / impostor pairs | EER | FRR at FAR 0.1% | at 0.05% "
        "| shipped accept: FAR / FRR | genuine referred | genuine rejected |",
        "|---|---|---|---|---|---|---|---|---|---|---|"]
for path in reports:
    with open(path) as f:
        r = json.load(f)
    for res in r["results"]:
        pts = {p["TargetFAR"]: p for p in res["operating_points"]}

        def cell(target):
            p = pts.get(target)
            if p is None:
                return ""
            star = "" if p["Resolvable"] else "*"
            return "%.2f%%%s" % (100 * p["FRR"], star)

        sh = res.get("shipped_threshold")
        ref = res.get("referral")
        rows.append("| %s | %s | %s | %d of %d | %d / %d | %.2f%% | %s | %s | %s | %s | %s |" % (
            r["protocol"] + ("" if r["gates"] else " (gates off)"), res["slice"], res["model"], r["usable"], r["images"], res["genuine_pairs"],
            res["impostor_pairs"], 100 * res["eer"], cell(0.001), cell(0.0005),
            "%.3f%% / %.2f%%" % (100 * sh["FAR"], 100 * sh["FRR"]) if sh else "",
            "%.2f%%" % (100 * ref["referred"]) if ref else "",
            "%.2f%%" % (100 * ref["rejected"]) if ref else ""))

table = "\n".join(rows)
if only_print:
    print(table)
    sys.exit(0)
with open(readme) as f:
    text = f.read()
start, end = "<!-- eval:start -->", "<!-- eval:end -->"
i, j = text.index(start), text.index(end)
text = text[:i + len(start)] + "\n" + table + "\n" + text[j:]
with open(readme + ".tmp", "w") as f:
    f.write(text)
import os
os.replace(readme + ".tmp", readme)
print(table)
