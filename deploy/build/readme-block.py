#!/usr/bin/env python3
"""Replaces the text between <!-- NAME:start --> and <!-- NAME:end --> in a README with the
contents of a file, as a code block: generated numbers, never typed ones."""
import os
import sys

readme, name, path = sys.argv[1], sys.argv[2], sys.argv[3]
with open(path) as f:
    body = f.read().rstrip("\n")
with open(readme) as f:
    text = f.read()
start, end = "<!-- %s:start -->" % name, "<!-- %s:end -->" % name
i, j = text.index(start), text.index(end)
text = text[:i + len(start)] + "\n```\n" + body + "\n```\n" + text[j:]
with open(readme + ".tmp", "w") as f:
    f.write(text)
os.replace(readme + ".tmp", readme)
