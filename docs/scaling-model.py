#!/usr/bin/env python3
"""The extrapolation of docs/scaling.md: a synchronous step of N workers and S sharded servers,

    T(S) = C + rho P max(N / S, 1) / R + r N push P / S + U

C the workers' compute (flops per sample x samples per worker / GFLOP/s), P the parameter bytes,
rho P the bytes a worker's link carries per step (push + weights back, measured), push P the
bytes of one push, R the link rate in bytes/s, r a server's reduce seconds per pushed byte and U
its update (today every server runs the fused pass over the whole model: u x parameters; with a
ranged update it would be u x parameters / S). Prints a Markdown table per model and rate.

    docs/scaling-model.py [RHO PUSH REDUCE_NS_PER_BYTE UPDATE_NS_PER_PARAM GFLOPS]
"""
import sys

rho, push, reduce_ns, update_ns, gflops = (float(a) for a in sys.argv[1:6]) if len(sys.argv) > 5 else (2.18, 1.18, 0.88, 15.5, 100)
N, BATCH_PER_WORKER = 64, 128
MODELS = {"784-256-128-10": [784, 256, 128, 10], "784-4096-4096-10 (20.0M)": [784, 4096, 4096, 10]}


def params(sizes):
    return sum(a * b + b for a, b in zip(sizes, sizes[1:]))


def flops(sizes):
    return sum((4.0 if l == 0 else 6.0) * a * b for l, (a, b) in enumerate(zip(sizes, sizes[1:])))


for name, sizes in MODELS.items():
    p = params(sizes)
    pb = 4.0 * p
    c = flops(sizes) * BATCH_PER_WORKER / (gflops * 1e9)
    for gbit in (10, 25):
        rate = gbit * 1e9 / 8
        print(f"\n{name}, {p:,} parameters, {N} workers x {BATCH_PER_WORKER} samples, {gbit} Gbit/s: compute {1e3 * c:.1f} ms")
        print("| S | links ms | reduce ms | update ms | step ms | step ms, ranged update |")
        print("|---|---|---|---|---|---|")
        for s in (1, 4, 8, 16, 32, 64):
            net = rho * pb * max(N / s, 1) / rate
            red = reduce_ns * 1e-9 * N * push * pb / s
            upd = update_ns * 1e-9 * p
            print(f"| {s} | {1e3 * net:.1f} | {1e3 * red:.1f} | {1e3 * upd:.1f} | {1e3 * (c + net + red + upd):.1f}"
                  f" | {1e3 * (c + net + red + upd / s):.1f} |")
