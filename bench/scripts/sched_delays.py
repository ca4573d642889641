#!/usr/bin/env python3
"""Who delays whom on the cores: reads `perf sched timehist` output and prints, per thread, its
run time and scheduling delays (time from wake-up to running), then, over the delays longer
than --min-ms of the threads matching --who, which threads held that core meanwhile.

    perf sched record -a -o sched.data -- sleep 3      # while a job runs
    perf sched timehist -i sched.data > timehist.txt
    python3 bench/scripts/sched_delays.py timehist.txt
"""
import argparse
import collections
import re

LINE = re.compile(r'\s*([\d.]+)\s+\[(\d+)\]\s+(.+?\[[\d/]+\])\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('timehist')
    ap.add_argument('--who', default='java[,gradflow-exchan', help='comma-separated thread name prefixes to explain')
    ap.add_argument('--min-ms', type=float, default=0.3)
    ap.add_argument('--top', type=int, default=10)
    args = ap.parse_args()
    # (switch-out time s, cpu, thread, wait ms, delay ms, run ms)
    rows = []
    with open(args.timehist) as f:
        for line in f:
            m = LINE.match(line)
            if m:
                rows.append((float(m.group(1)), int(m.group(2)), m.group(3),
                             float(m.group(4)), float(m.group(5)), float(m.group(6))))
    per_thread = collections.defaultdict(list)
    by_cpu = collections.defaultdict(list)
    for r in rows:
        per_thread[r[2]].append(r)
        by_cpu[r[1]].append(r)
    print('%-32s %6s %9s %9s %9s %6s' % ('thread', 'runs', 'run ms', 'delay ms', 'p99 ms', '>min'))
    for name, rs in sorted(per_thread.items(), key=lambda kv: -sum(r[5] for r in kv[1]))[:args.top]:
        delays = sorted(r[4] for r in rs)
        print('%-32s %6d %9.1f %9.1f %9.3f %6d' % (name, len(rs), sum(r[5] for r in rs), sum(delays),
                                                   delays[99 * len(delays) // 100],
                                                   sum(1 for d in delays if d > args.min_ms)))
    who = tuple(args.who.split(','))
    held = collections.Counter()
    for cpu, rs in by_cpu.items():
        for i, (t, _, name, _, delay, run) in enumerate(rs):
            if delay <= args.min_ms or not name.startswith(who):
                continue
            start = t - run / 1000
            waited_from = start - delay / 1000
            j = i - 1
            while j >= 0 and rs[j][0] > waited_from:
                other = rs[j]
                overlap = min(other[0], start) - max(other[0] - other[5] / 1000, waited_from)
                if overlap > 0:
                    held[re.sub(r'\[.*', '', other[2])] += overlap * 1000
                j -= 1
    print('\nheld the core while a thread matching %s waited more than %.1f ms:' % (args.who, args.min_ms))
    for name, ms in held.most_common(args.top):
        print('  %-30s %7.1f ms' % (name, ms))


if __name__ == '__main__':
    main()
