# SPDX-License-Identifier: BSL-1.0
"""Writes docs/performance.md and docs/performance.png from one run of the benchmarks.

    python3 bench/make_report.py --bench BENCH.json --python PEERS.json \
        --markdown docs/performance.md --figure docs/performance.png --work DIR

BENCH.json is mpdecor_bench's Google Benchmark JSON output, PEERS.json what
bench/python_peers.py wrote. The figure is drawn by gnuplot (skipped, with a note, when
gnuplot is missing). Standard library only.
"""
import argparse
import datetime
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys

# ---------------------------------------------------------------------------------------
# Reading the results


# Profiles taken by hand (perf record -a -g over a loop of calls) on the machine kind the
# figures above come from; they explain the figures and change only with the code.
PROFILE_NOTES = """\
**A fresh process (`spawn`).** In a profile of 500 `proc_wait` calls, the child's own time
goes to the dynamic loader (`_dl_relocate_object`, `do_lookup_x`: binding libstdc++, libm,
libgcc and libc) and to glibc's CPU and cache detection at start-up (`init_cpu_features`,
`intel_check_word`: `CPUID`, which the hypervisor of this virtual machine intercepts), then
to the kernel's `exec`, page faults on the executable's pages (`filemap_map_pages`) and the
exit's teardown (`unmap_page_range`). The bare `posix_spawn` floor pays all of it too.
What mpdecor adds (about 0.15 ms) is its channel (a socket pair, a pidfd in the supervisor's
event loop), the hand-off from the calling thread to the supervisor thread and back, the
launch key and call frames, and the environment it builds for the child. Removed: the
fork+exec of Boost.Process 1.81's launcher, whose cost grows with the parent (its page
tables are copied): mpdecor calls `posix_spawn` itself, so the cost stays flat up to 4 GB
(table above); the child's channel-watch thread where Linux's parent-death signal already
ends it. A statically linked program starts in about half the time (no dynamic loading).

**The fork server.** The floor is a `fork` + `_exit` of a small process. A call also pays
for what its child runs: `fork` does not copy the page tables of file-backed mappings, so the
child faults in every page of code it executes (`filemap_map_pages`,
`next_uptodate_folio`), and its exit runs the program's exit handlers; and three processes
(caller, server, child) exchange four messages, on two virtual CPUs that sit idle a third
of the profile waiting for those wake-ups. Removed: lazy symbol binding in every fork (the
server binds every symbol once at start-up; 449 to 375 µs per call in a loop on a loaded
machine), the channel-watch thread, and a wait: the call is written to the channel while
the server forks. Tried and left out: finishing a call as soon as its result has arrived,
before the server reports the exit (no measurable gain).

**The default start method.** The fork server is not the default on Linux, though a call
through it takes about a third of a spawned call's time (the round-trip table above). Its
children now take what a spawned child takes from the caller at the call: the whole
environment, the working directory, the umask and the resource limits
(`start_methods/a_fork_server_child_takes_the_callers_environment_umask_and_limits_now`).
What still differs is when the program's start-up runs: once, in the server, when the server
starts, instead of in each child. Static initializers, and libraries that read their
settings when they load (the OpenMP runtime's `OMP_NUM_THREADS`, a BLAS library's thread
count), see the environment of the server's start, so a call's `.env(...)` or a later
`setenv` does not reach them; a spawned child runs them with the call's environment. A
program's CPU affinity and nice value set after the server started do not reach its
children either. Making the fork server the default would change, without a word, what
such programs compute with; so spawn stays the default, and the fork server is one setting
away: `set_start_method(start_method::fork_server)`, `.start_method(...)` on a
call or a pool's `worker_options.start`, or `MPDECOR_START_METHOD=fork_server`.

**Large data.** In a profile of a 512 MiB round trip, page faults on freshly allocated
buffers take the largest share (`exc_page_fault`, the page-table lock, memory-cgroup
charging), then `memmove`. One copy of the vector into new memory within one process runs at
the rate in the last column of the throughput table; a round trip must create at least two
such vectors (the child's argument, the caller's result), so it cannot run faster than about
half that rate whatever carries the bytes; the default path also copies every byte through
the kernel twice. Removed: buffers that doubled as a message arrived or was encoded (a
received frame is sized by its header, an encoding by a counting pass first), and the
zero-filling of decoded vectors (their pages are faulted in at once with
`MADV_POPULATE_WRITE`): 512 MiB went from 0.2 to 0.6 GB/s on the default path and to 1.2
GB/s through shared memory. What would move it further: transparent huge pages for the
new buffers (`MADV_HUGEPAGE` cut allocate-and-copy of 512 MiB from 500 ms to 230 ms, but
took 1.9 s when the kernel had to compact memory first, so it is not used), or a vector
type whose storage is the shared segment itself, so that no fresh vector is made at all.
"""


def seconds_per_unit(unit):
    return {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[unit]


def base_name(run_name):
    """'fan_out/proc/100/iterations:1/repeats:3/real_time' -> 'fan_out/proc/100'."""
    parts = [p for p in run_name.split("/") if ":" not in p and p not in ("real_time", "manual_time")]
    return "/".join(parts)


class results:
    """mpdecor_bench's results by base name: the median (and mean) over the repetitions of
    each case, or its only run."""

    def __init__(self, documents):
        self.context = {}
        self.entries = {}   # name -> the median aggregate (or the single run)
        self.means = {}     # name -> the mean aggregate
        self.errors = {}
        self.repetitions = {}
        singles = {}
        for document in documents:
            self.context.update(document.get("context", {}))
            for entry in document.get("benchmarks", []):
                name = base_name(entry.get("run_name", entry["name"]))
                if entry.get("error_occurred"):
                    self.errors[name] = entry.get("error_message", "failed")
                    continue
                self.repetitions[name] = entry.get("repetitions", 1)
                if entry.get("run_type") == "aggregate":
                    if entry.get("aggregate_name") == "median":
                        self.entries[name] = entry
                    elif entry.get("aggregate_name") == "mean":
                        self.means[name] = entry
                else:
                    singles[name] = entry
        for name, entry in singles.items():
            self.entries.setdefault(name, entry)
            self.means.setdefault(name, entry)

    @staticmethod
    def _seconds(entry, per_call):
        if entry is None:
            return None
        if per_call and "call_median_us" in entry:
            return entry["call_median_us"] * 1e-6
        return entry["real_time"] * seconds_per_unit(entry.get("time_unit", "ns"))

    def seconds(self, name):
        """Seconds per iteration: the median of the per-call medians where the case times
        each call, else the median of the repetitions' means."""
        return self._seconds(self.entries.get(name), True)

    def mean_seconds(self, name):
        """The mean over all iterations (mean of the repetitions' means)."""
        return self._seconds(self.means.get(name), False)

    def rate(self, name, bytes_per_iteration):
        t = self.seconds(name)
        return None if not t else bytes_per_iteration / t

    def value(self, name, field):
        entry = self.entries.get(name)
        return None if entry is None else entry.get(field)

    def names_under(self, prefix):
        return [n for n in self.entries if n.startswith(prefix + "/")]

    def rss_calls(self):
        """The number of calls of the parent-memory case, or None if it did not run."""
        names = self.names_under("parent_rss/proc_wait")
        return int(names[0].rsplit("/", 1)[1]) if names else None


class peers:
    def __init__(self, document):
        self.python = document.get("python", "python3")
        self.map_items = document.get("map_items")
        self.entries = {r["name"]: r for r in document.get("results", [])}

    def seconds(self, name):
        return self._field(name, "median")

    def mean_seconds(self, name):
        return self._field(name, "mean")

    def _field(self, name, field):
        entry = self.entries.get(name)
        if entry is None or field not in entry:
            return None
        return entry[field] * seconds_per_unit(entry["unit"])


# ---------------------------------------------------------------------------------------
# Formatting


def fmt_time(seconds):
    if seconds is None:
        return "n/a"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def fmt_ratio(value):
    return "n/a" if value is None else f"{value:.2f}x"


def fmt_rate(bytes_per_second):
    if bytes_per_second is None:
        return "n/a"
    if bytes_per_second < 1e8:
        return f"{bytes_per_second / 1e6:.2f} MB/s"
    return f"{bytes_per_second / 1e9:.2f} GB/s"


def fmt_speedup(theirs, mine):
    """How much faster `mine` is than `theirs` (both times)."""
    v = ratio(theirs, mine)
    if v is None:
        return "n/a"
    return f"{v:.2f}x faster" if v >= 1 else f"{1 / v:.2f}x slower"


def fmt_bytes(count):
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size and count % size == 0:
            return f"{count // size} {unit}"
    return f"{count} B"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def mark(met):
    return {True: "**met**", False: "**not met**", None: "not measured"}[met]


def machine_description(context, peer):
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = "unknown"
    try:
        with open("/proc/meminfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("MemTotal:"):
                    memory = f"{int(line.split()[1]) / (1 << 20):.1f} GiB"
                    break
    except OSError:
        pass
    date = context.get("date", datetime.datetime.now().astimezone().isoformat(timespec="seconds"))
    mhz = context.get("mhz_per_cpu")
    return [
        ("CPU", f"{cpu}, {mhz:.0f} MHz" if mhz else cpu),
        ("Logical cores", str(context.get("num_cpus", os.cpu_count()))),
        ("Memory", memory),
        ("Kernel", f"{platform.system()} {platform.release()}"),
        ("Compiler", context.get("compiler", "unknown")),
        ("Boost", context.get("boost", "unknown").replace("_", ".")),
        ("Build", context.get("mpdecor_build", "unknown")),
        ("Python (peers)", peer.python),
        ("mpdecor's default limit on running children", context.get("mpdecor_max_running", "?")),
        ("Date", date),
    ]


# ---------------------------------------------------------------------------------------
# Targets


def evaluate_targets(r, p):
    """Rows: (target, measured, ratio text, met)."""
    rows = []

    def add(target, measured, value, met):
        rows.append((target, measured, value, met))

    proc_wait = r.seconds("roundtrip/proc_wait")
    spawn = r.seconds("roundtrip/posix_spawn")
    v = ratio(proc_wait, spawn)
    add("`proc_wait` of `int f(int)` at most 1.2x the raw `posix_spawn` round trip",
        f"{fmt_time(proc_wait)} vs {fmt_time(spawn)}", fmt_ratio(v), None if v is None else v <= 1.2)
    py_spawn = p.seconds("spawn_start_join")
    v = ratio(py_spawn, proc_wait)
    add("`proc_wait` at least 20x faster than Python's spawn start method",
        f"{fmt_time(proc_wait)} vs {fmt_time(py_spawn)}", fmt_speedup(py_spawn, proc_wait),
        None if v is None else v >= 20)

    server = r.seconds("roundtrip/proc_wait_fork_server")
    fork_wait = r.seconds("start/fork_wait")
    v = ratio(server, fork_wait)
    add("fork-server round trip at most 2.5x `fork` + `waitpid`",
        f"{fmt_time(server)} vs {fmt_time(fork_wait)}", fmt_ratio(v), None if v is None else v <= 2.5)
    py_fork = p.seconds("fork_start_join")
    v = ratio(py_fork, server)
    add("fork-server round trip at least 5x faster than Python's fork start method",
        f"{fmt_time(server)} vs {fmt_time(py_fork)}", fmt_speedup(py_fork, server),
        None if v is None else v >= 5)

    pool = r.seconds("roundtrip/pool")
    add("pool round trip at most 15 µs", fmt_time(pool),
        "n/a" if pool is None else f"{pool / 15e-6:.2f}x the target",
        None if pool is None else pool <= 15e-6)
    warm = r.seconds("roundtrip/warm_pipe")
    v = ratio(pool, warm)
    add("pool round trip within 1.5x the pipe round trip to a running process",
        f"{fmt_time(pool)} vs {fmt_time(warm)}", fmt_ratio(v), None if v is None else v <= 1.5)
    py_pool = p.seconds("pool_round_trip")
    v = ratio(py_pool, pool)
    add("pool round trip at least 6x faster than `ProcessPoolExecutor`",
        f"{fmt_time(pool)} vs {fmt_time(py_pool)}", fmt_speedup(py_pool, pool),
        None if v is None else v >= 6)

    best = None
    for chunk in (1, 100, 1000):
        names = [n for n in r.names_under("pool_map/pool") if n.split("/")[3] == str(chunk)]
        mine = r.seconds(names[0]) if names else None
        theirs = p.seconds(f"pool_map_chunk_{chunk}")
        if theirs is not None and (best is None or theirs < best[1]):
            best = (chunk, theirs)
        v = ratio(theirs, mine)
        add(f"`pool::map` of 100,000 items, chunk {chunk}, at least 2x faster than "
            f"`ProcessPoolExecutor(2).map(chunksize={chunk})`",
            f"{fmt_time(mine)} vs {fmt_time(theirs)}", fmt_speedup(theirs, mine),
            None if v is None else v >= 2)
    names = [n for n in r.names_under("pool_map/pool") if n.split("/")[3] == "0"]
    mine = r.seconds(names[0]) if names else None
    theirs = best[1] if best else None
    v = ratio(theirs, mine)
    add("`pool::map` of 100,000 items with default options at least 2x faster than "
        "Python's best chunk size" + (f" ({best[0]})" if best else ""),
        f"{fmt_time(mine)} vs {fmt_time(theirs)}", fmt_speedup(theirs, mine),
        None if v is None else v >= 2)

    big = 512 << 20
    for path, floor in (("default", 2e9), ("shared_memory", 5e9)):
        rate = r.rate(f"throughput/{path}/{big}", 2 * big)
        label = "default path" if path == "default" else "shared-memory path"
        add(f"512 MiB `vector<double>` argument and result, {label}: at least "
            f"{floor / 1e9:.0f} GB/s each way",
            fmt_rate(rate), "n/a" if rate is None else f"{rate / floor:.2f}x the target",
            None if rate is None else rate >= floor)

    rate = r.rate(f"throughput/shared_array/{big}", 2 * big)
    add("512 MiB `shared_array<double>` argument and result, zero-copy path: at least 5 GB/s "
        "each way", fmt_rate(rate), "n/a" if rate is None else f"{rate / 5e9:.2f}x the target",
        None if rate is None else rate >= 5e9)

    pool_rate = r.rate(f"throughput/pool_shared_memory/{big}", 2 * big)
    call_rate = r.rate(f"throughput/shared_memory/{big}", 2 * big)
    v = ratio(pool_rate, call_rate)
    add("512 MiB `vector<double>` argument and result: a pool task on shared memory as fast "
        "as a call (at least 0.95x)", f"{fmt_rate(pool_rate)} vs {fmt_rate(call_rate)}",
        "n/a" if v is None else f"{v:.2f}x", None if v is None else v >= 0.95)

    many = r.seconds("fire_and_forget/proc/1000")
    raw_many = r.seconds("fire_and_forget/posix_spawn/1000")
    v = ratio(many, raw_many)
    add("1,000 fire-and-forget `proc` calls within 1.3x of 1,000 raw `posix_spawn`s under the "
        "same limit", f"{fmt_time(many)} vs {fmt_time(raw_many)}", fmt_ratio(v),
        None if v is None else v <= 1.3)

    calls = r.rss_calls()
    growth = r.value(f"parent_rss/proc_wait/{calls}", "rss_growth_kB") if calls else None
    add(f"parent RSS growth at most 1 MiB over {int(calls or 10000):,} `proc_wait` calls",
        "n/a" if growth is None else f"{growth:.0f} KiB",
        "n/a" if growth is None else f"{growth / 1024:.2f}x the target",
        None if growth is None else growth <= 1024)

    small = r.seconds("parent_size/proc_wait/0")
    for megabytes in (100, 1000, 4000):
        big_parent = r.seconds(f"parent_size/proc_wait/{megabytes}")
        v = ratio(big_parent, small)
        add(f"`proc_wait` with a {megabytes / 1000:g} GB parent at most 1.1x the small-parent figure",
            f"{fmt_time(big_parent)} vs {fmt_time(small)}", fmt_ratio(v),
            None if v is None else v <= 1.1)

    slope = fan_out_slope(r)
    add("fan-out grows linearly (slope of log time against log N at most 1.1)",
        "n/a" if slope is None else f"slope {slope:.2f}", "n/a" if slope is None else f"{slope:.2f}",
        None if slope is None else slope <= 1.1)
    return rows


def fan_out_points(r):
    points = []
    for name in r.names_under("fan_out/proc"):
        n = int(name.rsplit("/", 1)[1])
        points.append((n, r.seconds(name)))
    return sorted(points)


def fan_out_slope(r):
    points = [(n, t) for n, t in fan_out_points(r) if t]
    if len(points) < 2:
        return None
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


# ---------------------------------------------------------------------------------------
# The figure


def write_data(path, rows):
    with open(path, "w", encoding="utf-8") as out:
        for row in rows:
            out.write(" ".join(str(v) for v in row) + "\n")


def draw_figure(r, p, work, figure):
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        return "gnuplot was not found, so no figure was drawn."
    os.makedirs(work, exist_ok=True)

    def data(name):
        return os.path.join(work, name).replace("\\", "/")

    # Parent size: one row per size, columns in ms (missing values as '?').
    sizes = sorted({int(n.rsplit("/", 1)[1]) for n in r.names_under("parent_size/proc_wait")})
    series = ("proc_wait", "proc_wait_fork_server", "posix_spawn", "fork_wait")
    rows = []
    for index, megabytes in enumerate(sizes):
        row = [index, f'"{megabytes / 1000:g} GB"' if megabytes else '"small"']
        for s in series:
            t = r.seconds(f"parent_size/{s}/{megabytes}")
            row.append("?" if t is None else t * 1e3)
        rows.append(row)
    write_data(data("parent_size.dat"), rows)

    fan = fan_out_points(r)
    write_data(data("fan_out.dat"), [(n, t) for n, t in fan if t])
    reference = next(((n, t) for n, t in fan if n == 100 and t), fan[0] if fan else None)

    payloads = sorted({int(n.rsplit("/", 1)[1]) for n in r.names_under("throughput/default")})
    rows = []
    for size in payloads:
        rates = [r.rate(f"throughput/{path}/{size}", 2 * size)
                 for path in ("default", "shared_memory", "pool_shared_memory")]
        rates.append(r.rate(f"throughput/vector_copy/{size}", size))
        rows.append([size] + ["?" if v is None else v / 1e9 for v in rates])
    write_data(data("throughput.dat"), rows)

    bars = [
        ("pipe to a running process", r.seconds("roundtrip/warm_pipe")),
        ("mpdecor pool", r.seconds("roundtrip/pool")),
        ("Python ProcessPoolExecutor", p.seconds("pool_round_trip")),
        ("fork + waitpid", r.seconds("start/fork_wait")),
        ("fork + pipe", r.seconds("roundtrip/fork_pipe")),
        ("mpdecor fork server", r.seconds("roundtrip/proc_wait_fork_server")),
        ("Python fork", p.seconds("fork_start_join")),
        ("posix_spawn + pipe", r.seconds("roundtrip/posix_spawn")),
        ("Boost.Process v2 + pipe", r.seconds("roundtrip/boost_process_v2")),
        ("mpdecor proc_wait", r.seconds("roundtrip/proc_wait")),
        ("Python spawn", p.seconds("spawn_start_join")),
    ]
    write_data(data("round_trip.dat"),
               [(i, f'"{label}"', t * 1e6) for i, (label, t) in enumerate(bars) if t])
    payload_tics = ", ".join(f'"{fmt_bytes(size)}" {size}' for size in payloads)

    linear = ""
    if reference:
        n0, t0 = reference
        linear = f", {t0:.9g} * x / {n0} with lines dashtype 2 lc rgb '#888888' title 'linear'"
    script = f"""
set terminal pngcairo noenhanced size 1500,1100 font 'Sans,10'
set output '{figure}'
set multiplot layout 2,2 title 'mpdecor: wall-clock medians'
set grid
set key top left

set title 'Cost of one call against the parent''s touched memory'
set ylabel 'round trip (ms)'
set logscale y
set xrange [-0.3:{max(len(sizes) - 1, 1) + 0.3}]
plot '{data("parent_size.dat")}' using 1:3:xtic(2) with linespoints lw 2 pt 7 title 'proc_wait', \\
     '' using 1:4 with linespoints lw 2 pt 5 title 'proc_wait, fork server', \\
     '' using 1:5 with linespoints lw 2 pt 9 title 'posix_spawn + pipe', \\
     '' using 1:6 with linespoints lw 2 pt 11 title 'fork + waitpid'
unset xrange
unset logscale

set title 'Fan-out: N proc calls, then wait_all'
set xlabel 'N'
set ylabel 'total (s)'
set logscale xy
plot '{data("fan_out.dat")}' using 1:2 with linespoints lw 2 pt 7 title 'proc x N + wait_all'{linear}
unset logscale
unset xlabel

set title 'Throughput: proc_wait of an identity function on vector<double>'
set xlabel 'payload each way (bytes)'
set ylabel '(argument + result) / round trip (GB/s)'
set logscale x 2
set logscale y
set xtics ({payload_tics})
set key bottom right
plot '{data("throughput.dat")}' using 1:2 with linespoints lw 2 pt 7 title 'default path', \\
     '' using 1:3 with linespoints lw 2 pt 5 title 'shared-memory path', \\
     '' using 1:4 with linespoints lw 2 pt 9 title 'pool task, shared memory', \\
     '' using 1:5 with linespoints lw 1 pt 1 lc rgb '#999999' title 'one in-process copy (bytes / time)', \\
     2 with lines dashtype 2 lc rgb '#888888' title 'target, default', \\
     5 with lines dashtype 3 lc rgb '#444444' title 'target, shared memory'
unset logscale
set xtics autofreq
set key top left
unset xlabel

set title 'Round trip of int f(int), or start + join'
set ylabel 'µs (log scale)'
set logscale y
set format y '%g'
set style fill solid 0.7
set boxwidth 0.7
set xtics rotate by -35 font ',9'
set bmargin 7
unset key
plot '{data("round_trip.dat")}' using 1:3:xtic(2) with boxes lc rgb '#4477aa'
unset multiplot
"""
    script_path = data("performance.gp")
    with open(script_path, "w", encoding="utf-8") as out:
        out.write(script)
    run = subprocess.run([gnuplot, script_path], capture_output=True, text=True)
    if run.returncode != 0:
        return "gnuplot failed: " + run.stderr.strip()
    return None


# ---------------------------------------------------------------------------------------
# The document


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_markdown(r, p, path, figure_name, figure_note):
    context = r.context
    out = []
    out.append("# mpdecor performance\n")
    out.append("Generated by `scripts/run-benchmarks.sh` from one run of `mpdecor_bench` "
               "(bench/mpdecor_bench.cpp, Google Benchmark) and `bench/python_peers.py`; "
               "do not edit by hand, run the script again.\n")
    if context.get("quick") == "true":
        out.append("**This is a quick run (`--quick`): fewer repetitions and smaller sizes; "
                   "some targets are not measured.**\n")

    out.append("## Machine\n")
    out.append(table(["", ""], machine_description(context, p)) + "\n")

    out.append("## Method\n")
    out.append(
        "- Every figure is wall-clock time and a **median over several repetitions**, which run "
        "randomly interleaved with those of the other cases, so that a stretch of load from "
        "other processes falls on all of them alike. A repetition of a short case times each "
        "of as many calls as fit in its minimum time, and its figure is the median call; a "
        "long case (1,000 calls and more, or 128 MiB payloads and more) is one timed iteration "
        "per repetition.\n"
        "- Baselines run in the same executable and the same run, so that the ratios compare "
        "like with like: `posix_spawn` of the same executable with an `int` sent over a pipe and "
        "`int + 1` sent back, then `waitpid` (the floor for a fresh process); the same through "
        "a bare Boost.Process v2 launch; `fork` of a child that `_exit`s at once, then "
        "`waitpid` (the floor for a fork server); `fork` with the pipe round trip; and the "
        "round trip to a process already running (the floor for a pool). The two `fork` floors "
        "are timed inside a small process freshly started from the same executable, as small "
        "as a fork server, since a fork's cost grows with the memory of the process that "
        "forks.\n"
        "- mpdecor's calls run `int increment(int)` unless said otherwise.\n"
        "- Throughput: `proc_wait` of `std::vector<double> identity(std::vector<double>)`. "
        "\"Each way\" means (argument bytes + result bytes) / round-trip time, process start "
        "included; GB is 10^9 bytes. The default path has the shared-memory threshold at 0 "
        "(off); the shared-memory path sets it to 1 MiB, so smaller payloads take the default "
        "path in both.\n"
        "- Parent size: the parent holds 0.1, 1 or 4 GB (10^9 bytes) of memory, every page "
        "touched, while the calls run; here `fork` + `waitpid` runs in the parent itself.\n"
        "- The throughput cases run in a second process after the others, since their big "
        "payloads leave memory behind in the parent's malloc arenas.\n"
        "- Parent memory: VmRSS from /proc/self/status before and after the calls, after 100 "
        "calls of warm-up; 1 MiB = 1,024 KiB.\n"
        "- Python peers: `multiprocessing` `Process(target=f).start()` + `join()` with the spawn "
        "and fork start methods, and `concurrent.futures.ProcessPoolExecutor` with 2 workers, "
        "warm. The mpdecor pool also has 2 workers.\n"
        "- The machine may be shared and noisy; ratios of figures from the same run are more "
        "telling than the absolute figures.\n")

    out.append("## Targets\n")
    rows = evaluate_targets(r, p)
    met = sum(1 for row in rows if row[3] is True)
    measured = sum(1 for row in rows if row[3] is not None)
    out.append(f"{met} of {measured} measured targets met.\n")
    out.append(table(["Target", "Measured", "Ratio", "Result"],
                     [(t, m, v, mark(ok)) for t, m, v, ok in rows]) + "\n")

    if figure_note:
        out.append(f"_{figure_note}_\n")
    else:
        out.append(f"![mpdecor performance]({figure_name})\n")

    out.append("## Round trip of `int f(int)`\n")
    spawn = r.seconds("roundtrip/posix_spawn")
    fork_wait = r.seconds("start/fork_wait")
    warm = r.seconds("roundtrip/warm_pipe")
    rows = []
    for label, source, name, floor, floor_name in (
        ("pipe round trip to a running process", r, "roundtrip/warm_pipe", None, ""),
        ("the same, both pinned to one core", r, "roundtrip/warm_pipe_same_core", warm,
         "running process"),
        ("the same, pinned to two cores", r, "roundtrip/warm_pipe_cross_core", warm,
         "running process"),
        ("`mpdecor::pool` (2 workers) `submit(f)(x).get()`", r, "roundtrip/pool", warm,
         "running process"),
        ("Python `ProcessPoolExecutor(2).submit(f, x).result()`", p, "pool_round_trip", warm,
         "running process"),
        ("`fork` + `_exit` + `waitpid`", r, "start/fork_wait", None, ""),
        ("`fork` + pipe round trip + `waitpid`", r, "roundtrip/fork_pipe", fork_wait,
         "fork + waitpid"),
        ("`proc_wait`, fork-server start method", r, "roundtrip/proc_wait_fork_server",
         fork_wait, "fork + waitpid"),
        ("Python `multiprocessing`, fork: start + join", p, "fork_start_join", fork_wait,
         "fork + waitpid"),
        ("`posix_spawn` + pipe round trip + `waitpid`", r, "roundtrip/posix_spawn", None, ""),
        ("Boost.Process v2 launch + pipe round trip + wait", r, "roundtrip/boost_process_v2",
         spawn, "posix_spawn"),
        ("`proc_wait` (default start method)", r, "roundtrip/proc_wait", spawn, "posix_spawn"),
        ("Python `multiprocessing`, spawn: start + join", p, "spawn_start_join", spawn,
         "posix_spawn"),
    ):
        value = source.seconds(name)
        rows.append((label, fmt_time(value), fmt_time(source.mean_seconds(name)),
                     "" if floor is None else f"{fmt_ratio(ratio(value, floor))} {floor_name}"))
    out.append("Median: the median of the per-call medians of the repetitions; mean: over all "
               "calls, so it shows the slow tail as well. Ratios use the medians.\n")
    out.append(table(["Case", "Median", "Mean", "Against its floor (median)"], rows) + "\n")

    out.append("## Cost against the parent's size\n")
    sizes = sorted({int(n.rsplit("/", 1)[1]) for n in r.names_under("parent_size/proc_wait")})
    small = {s: r.seconds(f"parent_size/{s}/0")
             for s in ("proc_wait", "proc_wait_fork_server", "posix_spawn", "fork_wait")}
    rows = []
    for megabytes in sizes:
        row = [f"{megabytes / 1000:g} GB" if megabytes else "small (no extra memory)"]
        rss = r.value(f"parent_size/proc_wait/{megabytes}", "parent_rss_kB")
        row.append("n/a" if rss is None else f"{rss / 1024:,.0f} MiB")
        for s in ("proc_wait", "proc_wait_fork_server", "posix_spawn", "fork_wait"):
            t = r.seconds(f"parent_size/{s}/{megabytes}")
            row.append(f"{fmt_time(t)} ({fmt_ratio(ratio(t, small[s]))})" if megabytes else fmt_time(t))
        rows.append(row)
    out.append("Round trip of `int f(int)` (for `fork` + `waitpid`: start and exit), and in "
               "parentheses against the same case with a small parent. Resident: the parent's "
               "VmRSS during the case.\n")
    out.append(table(["Parent memory", "Resident", "`proc_wait`", "`proc_wait`, fork server",
                      "`posix_spawn` + pipe", "`fork` + `waitpid`"], rows) + "\n")

    out.append("## Many calls at once\n")
    limit = context.get("mpdecor_max_running", "?")
    many = r.seconds("fire_and_forget/proc/1000")
    raw_many = r.seconds("fire_and_forget/posix_spawn/1000")
    out.append(f"At most {limit} children alive at once (mpdecor's default limit, the number of "
               "hardware threads; the raw version keeps to the same limit, reaping each child "
               "as it exits). The raw children exit at once; mpdecor's run the call.\n")
    out.append(table(["Case", "Median", "Per call"], [
        ("1,000 `proc(f)(x)`, then `wait_all()`", fmt_time(many),
         fmt_time(many / 1000 if many else None)),
        ("1,000 raw `posix_spawn` + `waitpid`", fmt_time(raw_many),
         fmt_time(raw_many / 1000 if raw_many else None)),
    ]) + "\n")
    fan = fan_out_points(r)
    slope = fan_out_slope(r)
    rows = [(f"{n:,}", fmt_time(t), fmt_time(t / n if t else None),
             str(r.repetitions.get(f"fan_out/proc/{n}", 1))) for n, t in fan]
    out.append("Fan-out: N `proc` calls, then `wait_all()`"
               + ("" if slope is None else f"; slope of log time against log N: {slope:.2f}")
               + ".\n")
    out.append(table(["N", "Total", "Per call", "Repetitions"], rows) + "\n")

    items = None
    rows = []
    python_best = None
    for chunk in (1, 100, 1000):
        names = [n for n in r.names_under("pool_map/pool") if n.split("/")[3] == str(chunk)]
        mine = r.seconds(names[0]) if names else None
        if names:
            items = int(names[0].split("/")[2])
        theirs = p.seconds(f"pool_map_chunk_{chunk}")
        if theirs is not None and (python_best is None or theirs < python_best[1]):
            python_best = (chunk, theirs)
        rows.append((f"chunk {chunk}", fmt_time(mine), fmt_time(theirs), fmt_speedup(theirs, mine)))
    names = [n for n in r.names_under("pool_map/pool") if n.split("/")[3] == "0"]
    if names:
        mine = r.seconds(names[0])
        rows.append(("default (automatic chunk) against Python's best"
                     + (f" (chunksize={python_best[0]})" if python_best else ""),
                     fmt_time(mine), fmt_time(python_best[1] if python_best else None),
                     fmt_speedup(python_best[1] if python_best else None, mine)))
    out.append(f"Map over {items or p.map_items or 0:,} items of `int f(int)`, 2 workers: "
               "`mpdecor::pool::map` with `map_options::chunk`, against "
               "`ProcessPoolExecutor(2).map` with `chunksize`.\n")
    out.append(table(["Batching", "mpdecor pool", "ProcessPoolExecutor", "mpdecor"], rows) + "\n")

    out.append("## Throughput\n")
    payloads = sorted({int(n.rsplit("/", 1)[1]) for n in r.names_under("throughput/default")})
    rows = []
    for size in payloads:
        d = f"throughput/default/{size}"
        s = f"throughput/shared_memory/{size}"
        q = f"throughput/pool_shared_memory/{size}"
        c = f"throughput/vector_copy/{size}"
        rows.append((fmt_bytes(size), fmt_rate(r.rate(d, 2 * size)), fmt_time(r.seconds(d)),
                     fmt_rate(r.rate(s, 2 * size)), fmt_time(r.seconds(s)),
                     fmt_rate(r.rate(q, 2 * size)), fmt_time(r.seconds(q)),
                     fmt_rate(r.rate(c, size))))
    out.append("`proc_wait` of an identity function on `std::vector<double>`, and the same "
               "as a task of a warm one-worker pool; rate = (argument "
               "+ result bytes) / round trip. For scale, the last column is one copy of the "
               "vector inside one process into newly allocated memory (bytes / time): the "
               "first touch of every page of the new vector is part of it, as it is of every "
               "buffer a transfer allocates.\n")
    out.append(table(["Payload each way", "Default path", "Round trip", "Shared-memory path",
                      "Round trip", "Pool, shared memory", "Round trip",
                      "One in-process copy"], rows) + "\n")
    rows = []
    for size in payloads:
        a = f"throughput/shared_array/{size}"
        q = f"throughput/pool_shared_array/{size}"
        if r.seconds(a) is None and r.seconds(q) is None:
            continue
        rows.append((fmt_bytes(size), fmt_rate(r.rate(a, 2 * size)), fmt_time(r.seconds(a)),
                     fmt_rate(r.rate(q, 2 * size)), fmt_time(r.seconds(q))))
    if rows:
        out.append("The zero-copy path: the same identity function on a `shared_array<double>` "
                   "made once before the clock runs, as a call and as a pool task; only the "
                   "segment's descriptor travels each way, and the caller checks the first and "
                   "last elements of what came back, not every page.\n")
        out.append(table(["Payload each way", "`shared_array`, call", "Round trip",
                          "`shared_array`, pool", "Round trip"], rows) + "\n")

    out.append("## Parent memory over many calls\n")
    calls = r.rss_calls()
    if calls:
        name = f"parent_rss/proc_wait/{calls}"
        out.append(table(["Calls", "RSS before", "RSS growth", "Time per call"], [(
            f"{calls:,}", f"{r.value(name, 'rss_before_kB'):.0f} KiB",
            f"{r.value(name, 'rss_growth_kB'):.0f} KiB", fmt_time(r.seconds(name) / calls))]) + "\n")
    else:
        out.append("Not measured.\n")

    if r.errors:
        out.append("## Cases that failed\n")
        out.append(table(["Case", "Error"], sorted(r.errors.items())) + "\n")

    out.append("## What the floors are made of, and what stands in the way\n")
    out.append(PROFILE_NOTES)
    out.append("## Running it\n")
    out.append("```sh\nscripts/run-benchmarks.sh            # the whole suite, then this page\n"
               "scripts/run-benchmarks.sh --quick    # a short run with smaller sizes\n```\n")
    with open(path, "w", encoding="utf-8") as doc:
        doc.write("\n".join(out))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", required=True, action="append",
                        help="mpdecor_bench's JSON output (may be given more than once)")
    parser.add_argument("--python", required=True, help="bench/python_peers.py's JSON output")
    parser.add_argument("--markdown", required=True, help="the page to write")
    parser.add_argument("--figure", required=True, help="the PNG to draw")
    parser.add_argument("--work", required=True, help="a folder for the figure's data")
    options = parser.parse_args()

    documents = []
    for path in options.bench:
        with open(path, encoding="utf-8") as f:
            documents.append(json.load(f))
    r = results(documents)
    with open(options.python, encoding="utf-8") as f:
        p = peers(json.load(f))
    note = draw_figure(r, p, options.work, os.path.abspath(options.figure))
    if note:
        print("make_report: " + note, file=sys.stderr)
    figure_name = os.path.relpath(os.path.abspath(options.figure),
                                  os.path.dirname(os.path.abspath(options.markdown)))
    write_markdown(r, p, options.markdown, figure_name, note)
    for target, measured, value, met in evaluate_targets(r, p):
        print(f"{mark(met).strip('*'):>12}  {target}: {measured} ({value})")


if __name__ == "__main__":
    main()
