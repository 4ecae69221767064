#!/usr/bin/env python3
"""One row of `scripts/fuzz.sh`'s table from a libFuzzer log: seconds, executions, coverage
(libFuzzer's `cov`) at the start (its `INITED` line: seeds and fixtures loaded), at half the
run time and at its end, the second of the last coverage gain, the edges gained per million
executions in the last quarter of the executions (how fast it still grows), corpus size, and
whether it crashed. Equal coverage at half and end ("flat") over a long run is what
fuzz/README.md calls a plateau.

usage: fuzz_summary.py TARGET LOG
"""
import re
import sys

STATUS = re.compile(r'^#(\d+)\s+(\w+)\s+cov: (\d+) ft: \d+ corp: (\d+)/.*?exec/s: (\d+)')
STAT = re.compile(r'^stat::(\w+):\s+(\d+)')


def main():
    target, log = sys.argv[1], sys.argv[2]
    points, stats, crashed, cov_start = [], {}, False, 0
    with open(log, encoding='utf-8', errors='replace') as f:
        for line in f:
            m = STATUS.match(line)
            if m:
                execs, rate = int(m[1]), int(m[5])
                if m[2] == 'INITED':
                    cov_start = int(m[3])
                # exec/s is the mean since the start, so executions / rate is the time.
                points.append((execs / rate if rate else 0.0, int(m[3]), int(m[4]), execs))
            m = STAT.match(line)
            if m:
                stats[m[1]] = int(m[2])
            if 'panicked' in line or 'deadly signal' in line or 'ERROR: libFuzzer' in line:
                crashed = True
    execs = stats.get('number_of_executed_units', 0)
    rate = stats.get('average_exec_per_sec', 0)
    seconds = round(execs / rate) if rate else 0
    # libFuzzer prints a status line on every new unit and at executions 2^k; "half" is the
    # last line at or before half the run time.
    half = [p for p in points if p[0] <= seconds / 2]
    cov_half = half[-1][1] if half else 0
    cov_end = points[-1][1] if points else 0
    corpus = points[-1][2] if points else 0
    # The time of each status line whose coverage is above the one before it.
    gains = [later[0] for earlier, later in zip(points, points[1:]) if later[1] > earlier[1]]
    last_gain = round(gains[-1]) if gains else 0
    # Coverage before the last quarter of the executions, against the end.
    before = [p for p in points if p[3] <= 0.75 * execs]
    late_rate = (cov_end - before[-1][1]) / (0.25 * execs / 1e6) if before and execs else 0.0
    result = 'CRASH (see log)' if crashed else ('flat' if cov_half == cov_end and points else 'rising')
    print(f'{target} | {seconds} | {execs:,} | {cov_start:,} | {cov_half:,} | {cov_end:,} | {last_gain} | {late_rate:.1f} | {corpus:,} | {result}')


if __name__ == '__main__':
    main()
