#!/usr/bin/env python3
"""Writes the web UI's static files (src/api/web/) as a C table for the
daemon to serve (src/api/api_internal.h: struct api_asset). Run by the
build: embed_web.py OUT.c FILE...; index.html is served at /, the others
at /NAME."""
import os
import sys

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


def main():
    out, files = sys.argv[1], sys.argv[2:]
    lines = ['#include "api/api_internal.h"', ""]
    table = []
    for i, path in enumerate(files):
        name = os.path.basename(path)
        ext = os.path.splitext(name)[1]
        if ext not in TYPES:
            sys.exit(f"embed_web: {name}: unknown file type")
        data = open(path, "rb").read()
        body = ",".join(str(b) for b in data) or "0"
        lines.append(f"static const unsigned char asset{i}[] = {{{body}}};")
        url = "/" if name == "index.html" else "/" + name
        table.append(f'\t{{ "{url}", "{TYPES[ext]}", asset{i}, {len(data)} }},')
    lines.append("const struct api_asset api_assets[] = {")
    lines += table
    lines.append("};")
    lines.append(f"const size_t api_n_assets = {len(files)};")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


main()
