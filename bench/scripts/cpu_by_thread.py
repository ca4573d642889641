#!/usr/bin/env python3
"""Where the cores go while a gradflow job runs: starts a command (a `gradflow bench`, say),
takes the CPU time of every thread of every gradflow JVM from /proc at --at seconds and again
--window seconds later, and prints each group's share of the machine's CPU time in that window
(idle included, from /proc/stat), and its CPU per training step when the command printed its
samples/s and batch (`gradflow bench` does).

    python3 bench/scripts/cpu_by_thread.py -- java --add-modules jdk.incubator.vector \\
        -jar deploy/target/gradflow.jar bench --workers 2 --steps 15000 --staleness 1

Groups: the role of the JVM (launcher, server, worker) and the thread: `main` (a worker's compute
and exchange, the launcher's wait), `gradflow-exchange*` (the server's exchange threads: reduce,
update, publish), `gradflow-step-b*` (the server's background thread: evaluation, checkpoints),
`gradflow-push` (a worker's push thread, with staleness on the shared-memory plane),
`JIT` (C1 and C2 compiler threads), `GC`, and the rest. Linux only.
"""
import argparse
import collections
import os
import re
import subprocess
import time

HZ = os.sysconf('SC_CLK_TCK')


def role(cmdline):
    if ' server' in cmdline:
        return 'server'
    if ' worker' in cmdline:
        return 'worker'
    return 'launcher'


def group(name):
    if name.startswith('C1 ') or name.startswith('C2 '):
        return 'JIT'
    if name.startswith('GC ') or name.startswith('G1 '):
        return 'GC'
    for prefix in ('main', 'java', 'gradflow-exchan', 'gradflow-step-b', 'gradflow-push'):
        if name.startswith(prefix):
            return 'main' if prefix == 'java' else prefix
    return 'other'


def snapshot():
    """{(role, pid, group): jiffies} of every thread of the gradflow JVMs, and /proc/stat's totals."""
    threads = collections.Counter()
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            cmdline = open(f'/proc/{pid}/cmdline').read().replace('\0', ' ')
            if 'java' not in cmdline or 'gradflow' not in cmdline:
                continue
            tasks = os.listdir(f'/proc/{pid}/task')
        except OSError:
            continue
        for tid in tasks:
            try:
                stat = open(f'/proc/{pid}/task/{tid}/stat').read()
            except OSError:
                continue
            name = stat[stat.index('(') + 1:stat.rindex(')')]
            fields = stat[stat.rindex(')') + 2:].split()
            threads[(role(cmdline), pid, group(name))] += int(fields[11]) + int(fields[12])
    cpu = [int(x) for x in open('/proc/stat').readline().split()[1:]]
    return threads, cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--at', type=float, default=14, help='seconds after the start to begin the window')
    ap.add_argument('--window', type=float, default=6, help='seconds the window lasts')
    ap.add_argument('command', nargs='+')
    args = ap.parse_args()
    job = subprocess.Popen(args.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(args.at)
    before, cpu_before = snapshot()
    time.sleep(args.window)
    after, cpu_after = snapshot()
    output = job.communicate()[0]
    total = sum(cpu_after) - sum(cpu_before)  # jiffies of all CPUs in the window
    idle = (cpu_after[3] + cpu_after[4]) - (cpu_before[3] + cpu_before[4])
    used = collections.Counter()
    for key, jiffies in after.items():
        used[(key[0], key[2])] += jiffies - before.get(key, 0)
    samples = re.search(r'samples/s\s+([\d,]+)', output)
    batch = re.search(r'batch (\d+)', output)
    steps_per_second = int(samples.group(1).replace(',', '')) / int(batch.group(1)) if samples and batch else None
    print(f'window {args.window:.0f} s, {total / HZ:.1f} CPU-seconds; '
          + (f'{steps_per_second:.0f} steps/s (the whole run)' if steps_per_second else 'steps/s unknown'))
    print(f'{"role":9} {"threads":16} {"share":>6} {"ms per step":>12}')
    rows = sorted(used.items(), key=lambda kv: -kv[1]) + [(('', 'idle'), idle)]
    for (r, g), jiffies in rows:
        if jiffies <= 0:
            continue
        per_step = jiffies / HZ / args.window / steps_per_second * 1e3 if steps_per_second else float('nan')
        print(f'{r:9} {g:16} {100 * jiffies / total:5.1f}% {per_step:12.3f}')
    print(''.join(line + '\n' for line in output.splitlines() if 'samples/s' in line or 'per step' in line or 'server:' in line), end='')


if __name__ == '__main__':
    main()
