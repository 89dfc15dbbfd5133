"""rank_pattern / alpha_pattern resolution at upload (adapters_registry/patterns.py), measured.

1. Ordinary patterns: resolving them over the packaged MiniLM's 36 LoRA-able modules with the
   ``regex`` engine (timeout on) vs Python's ``re`` without a limit (what PEFT does): the cost of
   the bound, as a ratio in the same run.
2. A backtracking key, ``(([a-u.]|[a-u.])+)+[0-9]``: Python's ``re`` on module-name suffixes of
   growing length (each character multiplies the time by about 4: real names are 40-50 characters), vs
   the bounded resolution, which stops at its CPU budget and refuses the key.

    .venv/bin/python benchmarks/bench_patterns.py
"""

from __future__ import annotations

import re
import time

from adapters_registry import patterns

LINEARS = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
           "intermediate.dense", "output.dense")  # fmt: skip
MODULES = [f"encoder.layer.{i}.{m}" for i in range(6) for m in LINEARS]
ORDINARY = {r"layer\.0\..*query": 4, "query": 8, r"(key|value)": 2, r"layer\.[3-5]\..*dense": 16}
BOMB = r"(([a-u.]|[a-u.])+)+[0-9]"


def _best(run, repeat: int = 20) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def ordinary() -> None:
    def bounded() -> None:
        problems: list[str] = []
        patterns.resolve(ORDINARY, MODULES, "rank_pattern", problems, "bert")
        assert not problems

    def unbounded() -> None:  # PEFT's get_pattern_key, with the same two spellings per module
        for module in MODULES:
            for key in ORDINARY:
                if any(re.match(rf"(.*\.)?({key})$", n) for n in (module, f"bert.{module}")):
                    break

    b, u = _best(bounded), _best(unbounded)
    print(f"ordinary patterns, {len(MODULES)} modules: bounded {b * 1e3:.2f} ms, re {u * 1e3:.2f} ms, "
          f"ratio {b / u:.2f}")  # fmt: skip


def bomb() -> None:
    pattern = re.compile(rf"(.*\.)?({BOMB})$")
    for length in (8, 10, 12, 13):
        name = ("attention.output.dense" * 2)[-length:]
        started = time.process_time()
        pattern.match(name)
        print(f"backtracking key, re, name of {length} characters: {time.process_time() - started:.3f} CPU s")
    started, cpu = time.perf_counter(), time.process_time()
    problems: list[str] = []
    patterns.resolve({BOMB: 4}, MODULES, "alpha_pattern", problems, "bert")
    spent, wall = time.process_time() - cpu, time.perf_counter() - started
    print(f"backtracking key, bounded, {len(MODULES)} real module names: refused after {spent:.2f} CPU s "
          f"({wall:.2f} s wall): {problems[0][:90]}...")  # fmt: skip


if __name__ == "__main__":
    ordinary()
    bomb()
