#!/usr/bin/env python3
"""bench/skipgen.py [--every N] [--burst K] [--type T] < NDJSON > NDJSON

Make a log where one type clusters: every N events (default 100000),
the next K events (default 100) get type T (default RefundIssued), the
rest keep theirs.  With evpub's 256 KiB batches (about 940 events of
gen_events.py) the type then sits in about 1 batch of 100: the bench of
skipping by summaries (bench/README.md, set SKIP).  Lines are passed
through as text, with only the type replaced, so it is fast and exact.
"""
import argparse
import json
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--every", type=int, default=100000)
    ap.add_argument("--burst", type=int, default=100)
    ap.add_argument("--type", default="RefundIssued")
    a = ap.parse_args()
    out = sys.stdout
    for i, line in enumerate(sys.stdin):
        if i % a.every < a.burst:
            ev = json.loads(line)
            ev["type"] = a.type
            line = json.dumps(ev, separators=(",", ":")) + "\n"
        out.write(line)


if __name__ == "__main__":
    main()
