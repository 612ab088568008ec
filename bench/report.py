#!/usr/bin/env python3
"""Prints the core benchmarks as a table of medians and ratios (core / primitive).

Reads criterion's results under target/criterion (written by `cargo bench -p gatepass-core`).
"""
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
results = {}
for bench in root.rglob("new/benchmark.json"):
    meta = json.loads(bench.read_text())
    estimates = json.loads((bench.parent / "estimates.json").read_text())
    results[(meta["group_id"], meta["function_id"])] = estimates["median"]["point_estimate"]


def us(ns):
    return f"{ns / 1000:9.1f} µs"


rows = []
failed = False
for (group, function), median in sorted(results.items()):
    if function != "core":
        continue
    kind, alg = group.split("/")
    floor = results.get((group, "primitive"))
    rows.append((kind, alg, median, floor))

print(f"{'operation':<11}{'alg':<7}{'primitive':>13}{'core':>13}{'core/primitive':>16}")
for kind, alg, median, floor in rows:
    ratio = median / floor if floor else float("nan")
    print(f"{kind:<11}{alg:<7}{us(floor) if floor else '':>13}{us(median):>13}{ratio:>15.3f}x")

print()
print("parse + claim checks alone (signature step skipped), as a share of the bare verify:")
for (group, function), median in sorted(results.items()):
    if group.startswith("overhead/"):
        alg = group.split("/")[1]
        floor = results.get((f"verify/{alg}", "primitive"))
        share = median / floor * 100 if floor else float("nan")
        print(f"  {alg:<6} {us(median)}  = {share:5.1f}% of the bare {alg} verification")
        if alg == "EdDSA" and share > 10.0:
            failed = True
if failed:
    print("TARGET MISSED: parsing and claim checks add more than 10% over bare EdDSA verification")
