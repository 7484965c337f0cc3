#!/usr/bin/env python3
"""promcheck: what `promtool check metrics` does not check in a Prometheus
text exposition (format 0.0.4), for LANrage's /metrics endpoints.

    promcheck.py [--names REGEX] [FILE|-]...

Problems, one line each (FILE:LINE: message), exit status 1:
  - a series twice (same name and same label set, label order ignored);
  - a sample before any # TYPE of its family, or outside its family's block
    (a family's lines must be contiguous), or a family announced twice;
  - a histogram whose buckets, per label set, are not cumulative
    (non-decreasing as le grows), do not end in le="+Inf", or whose _count
    differs from the +Inf bucket (or is missing), or without _sum;
  - a counter family whose name does not end in _total, or a negative or
    NaN counter;
  - a metric name not matching --names (default ^(lanrage_|process_));
  - a line that does not parse (bad label syntax or value).
With no problem it prints "FILE: ok, N families, M series" and exits 0.
Exit 2: a file could not be read or the arguments are wrong.
"""
import argparse
import math
import re
import sys

NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
# Sample-name suffixes that belong to a family of a given type.
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


class ParseError(Exception):
    pass


def parse_value(text):
    special = {"+Inf": math.inf, "Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}
    if text in special:
        return special[text]
    try:
        return float(text)
    except ValueError:
        raise ParseError("value '%s' is not a number" % text) from None


def parse_labels(text, pos):
    """Labels from text[pos] == '{'; returns (dict, position after '}')."""
    labels = {}
    pos += 1
    while True:
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos < len(text) and text[pos] == "}":
            return labels, pos + 1
        m = LABEL_RE.match(text, pos)
        if not m:
            raise ParseError("bad label name at column %d" % (pos + 1))
        name = m.group(0)
        pos = m.end()
        if text[pos:pos + 2] != '="':
            raise ParseError("label %s: expected =\"" % name)
        pos += 2
        value = []
        while True:
            if pos >= len(text):
                raise ParseError("label %s: unterminated value" % name)
            c = text[pos]
            if c == "\\":
                esc = text[pos + 1:pos + 2]
                if esc not in ('\\', '"', "n"):
                    raise ParseError("label %s: bad escape \\%s" % (name, esc))
                value.append("\n" if esc == "n" else esc)
                pos += 2
            elif c == '"':
                pos += 1
                break
            else:
                value.append(c)
                pos += 1
        if name in labels:
            raise ParseError("label %s given twice" % name)
        labels[name] = "".join(value)
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos >= len(text) or text[pos] != "}":
            raise ParseError("label %s: expected , or }" % name)


def parse_sample(line):
    """(name, labels dict, value) of a sample line."""
    m = NAME_RE.match(line)
    if not m:
        raise ParseError("no metric name")
    name, pos, labels = m.group(0), m.end(), {}
    if pos < len(line) and line[pos] == "{":
        labels, pos = parse_labels(line, pos)
    rest = line[pos:].split()
    if len(rest) not in (1, 2):
        raise ParseError("expected a value (and an optional timestamp)")
    if len(rest) == 2 and not re.fullmatch(r"-?[0-9]+", rest[1]):
        raise ParseError("timestamp '%s' is not an integer" % rest[1])
    return name, labels, parse_value(rest[0])


def family_of(name, types):
    """The announced family a sample name belongs to, or None."""
    if name in types and types[name] not in SUFFIXES:
        return name
    for fam, typ in types.items():
        for suf in SUFFIXES.get(typ, ()):
            if name == fam + suf:
                return fam
    if name in types:
        return name
    return None


def fmt_le(le):
    return "+Inf" if le == math.inf else repr(le)


class Checker:
    def __init__(self, source, names):
        self.source = source
        self.names = names
        self.problems = []
        self.types = {}      # family -> type
        self.closed = set()  # families whose block has ended
        self.current = None
        self.series = {}     # (name, frozenset(labels)) -> first line
        self.hist = {}       # (family, frozenset(labels without le)) -> data

    def problem(self, lineno, msg):
        where = "%s:%d" % (self.source, lineno) if lineno else self.source
        self.problems.append("%s: %s" % (where, msg))

    def check_name(self, lineno, name):
        if not self.names.search(name):
            self.problem(lineno, "%s: name does not match %s" % (name, self.names.pattern))

    def on_type(self, lineno, words):
        if len(words) != 4:
            self.problem(lineno, "malformed # TYPE line")
            return
        fam, typ = words[2], words[3]
        if typ not in TYPES:
            self.problem(lineno, "%s: unknown type '%s'" % (fam, typ))
        if fam in self.types:
            self.problem(lineno, "%s: # TYPE given twice" % fam)
            return
        self.check_name(lineno, fam)
        if typ == "counter" and not fam.endswith("_total"):
            self.problem(lineno, "%s: a counter's name must end in _total" % fam)
        if self.current is not None:
            self.closed.add(self.current)
        self.types[fam] = typ
        self.current = fam

    def on_sample(self, lineno, line):
        try:
            name, labels, value = parse_sample(line)
        except ParseError as e:
            self.problem(lineno, "does not parse: %s" % e)
            return
        fam = family_of(name, self.types)
        if fam is None:
            self.problem(lineno, "%s: sample before any # TYPE of its family" % name)
            self.check_name(lineno, name)
        elif fam != self.current:
            self.problem(lineno, "%s: sample outside its family's block (family %s)" % (name, fam))
        key = (name, frozenset(labels.items()))
        if key in self.series:
            self.problem(lineno, "%s%s: duplicate series (first at line %d)"
                         % (name, self.show(labels), self.series[key]))
        else:
            self.series[key] = lineno
        typ = self.types.get(fam)
        if typ == "counter" and (math.isnan(value) or value < 0):
            self.problem(lineno, "%s: counter value %s" % (name, value))
        if typ == "histogram":
            self.on_hist_sample(lineno, fam, name[len(fam):], labels, value)

    def on_hist_sample(self, lineno, fam, suffix, labels, value):
        rest = dict(labels)
        le = rest.pop("le", None)
        h = self.hist.setdefault((fam, frozenset(rest.items())),
                                 {"buckets": [], "count": None, "sum": None, "line": lineno})
        if suffix == "_bucket":
            if le is None:
                self.problem(lineno, "%s_bucket without le" % fam)
                return
            try:
                bound = parse_value(le)
            except ParseError:
                self.problem(lineno, "%s_bucket: le=\"%s\" is not a number" % (fam, le))
                return
            h["buckets"].append((bound, value, lineno))
        elif suffix == "_count":
            h["count"] = value
        elif suffix == "_sum":
            h["sum"] = value
        else:
            self.problem(lineno, "%s: a histogram's samples are _bucket, _sum and _count" % fam)

    def finish_histograms(self):
        for (fam, rest), h in sorted(self.hist.items(), key=lambda kv: kv[1]["line"]):
            where = "%s%s" % (fam, self.show(dict(rest)))
            buckets = h["buckets"]
            if not buckets:
                self.problem(h["line"], "%s: histogram without buckets" % where)
                continue
            bounds = [b for b, _, _ in buckets]
            if bounds != sorted(bounds):
                self.problem(buckets[0][2], "%s: buckets not in increasing le order" % where)
            prev = None
            for bound, count, lineno in sorted(buckets, key=lambda b: b[0]):
                if prev is not None and count < prev[1]:
                    self.problem(lineno, "%s: bucket le=\"%s\" (%g) below le=\"%s\" (%g): not cumulative"
                                 % (where, fmt_le(bound), count, fmt_le(prev[0]), prev[1]))
                prev = (bound, count)
            if max(bounds) != math.inf:
                self.problem(buckets[-1][2], "%s: buckets do not end in le=\"+Inf\"" % where)
            elif h["count"] is None:
                self.problem(h["line"], "%s: no _count" % where)
            elif h["count"] != prev[1]:
                self.problem(h["line"], "%s: _count %g differs from the +Inf bucket %g"
                             % (where, h["count"], prev[1]))
            if h["sum"] is None:
                self.problem(h["line"], "%s: no _sum" % where)

    @staticmethod
    def show(labels):
        if not labels:
            return ""
        return "{" + ",".join('%s="%s"' % kv for kv in sorted(labels.items())) + "}"

    def run(self, text):
        for lineno, line in enumerate(text.split("\n"), 1):
            line = line.rstrip("\r")
            if not line.strip():
                continue
            if line.startswith("#"):
                words = line.split(None, 3)
                if len(words) >= 2 and words[1] == "TYPE":
                    self.on_type(lineno, line.split())
                continue
            self.on_sample(lineno, line)
        self.finish_histograms()
        return self.problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--names", default=r"^(lanrage_|process_)",
                    help="regular expression every metric name must match")
    ap.add_argument("files", nargs="*", default=["-"])
    args = ap.parse_args()
    names = re.compile(args.names)
    bad = False
    for path in args.files:
        try:
            if path == "-":
                text, source = sys.stdin.read(), "<stdin>"
            else:
                with open(path, encoding="utf-8") as f:
                    text, source = f.read(), path
        except (OSError, UnicodeDecodeError) as e:
            print("promcheck: %s: %s" % (path, e), file=sys.stderr)
            return 2
        c = Checker(source, names)
        problems = c.run(text)
        if not c.series:
            problems.append("%s: no samples at all" % source)
        for p in problems:
            print(p)
        if problems:
            bad = True
        else:
            print("%s: ok, %d families, %d series" % (source, len(c.types), len(c.series)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
