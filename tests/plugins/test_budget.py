"""Plugin code under a time budget: the worker pool (hub/plugins/workers.py), the service's use
of it (hub/serving/plugin_work.py), the linear medical and legal rules on the inputs that were
pathological, and the kit's growth check failing a backtracking plugin."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import threading
import time
from typing import Any

import pytest

from hub.errors import InvalidArgument, Unavailable
from hub.observe import request_log as rl
from hub.plugin_api import HeadKind, Preprocessor, TaskSpec, hookimpl, replace_patterns
from hub.plugins.workers import PluginTimeout, WorkerPool
from hub.serving.auth import Caller
from hub.serving.service import Target
from hub.serving.upload import UploadHeader
from hub.tasks.pipeline import PluginFault
from hub.testing import growth
from hub.testing.artifacts import random_adapter_files
from tests.plugins.conftest import load, service_with

BUDGET_S = 1.0
# The medical rule before the fix: two adjacent \s* split a run of blanks n ways (quadratic).
BACKTRACKING = re.compile(r"\bKEY\s*[:#]?\s*(?P<mask>\d+)")
PATHOLOGICAL = "KEY" + " " * 19_990 + "!"  # quadratic with BACKTRACKING: ~2 s on an idle machine


def _echo(value: Any) -> Any:
    return value


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def _raise() -> None:
    raise ValueError("a plugin bug quoting the text: secret")


@pytest.fixture
def pool() -> Any:
    pool = WorkerPool(
        {"echo": _echo, "sleep": _sleep, "raise": _raise},
        workers=2,
        budget_s=BUDGET_S,
        components=["plugin 'test': preprocessor 'test.slow'"],
    )
    yield pool
    pool.close()


def test_answers_from_a_thread_and_from_asyncio(pool: WorkerPool) -> None:
    assert pool.call("a", "echo", ["x", "y"]) == ["x", "y"]

    async def ask() -> Any:
        return await asyncio.wrap_future(pool.submit("b", "echo", 7))

    assert asyncio.run(ask()) == 7


def test_a_call_past_the_budget_is_refused_and_its_worker_replaced(pool: WorkerPool) -> None:
    before = set(pool.pids)
    with pytest.raises(PluginTimeout) as caught:
        pool.call("a", "sleep", 60.0)
    assert isinstance(caught.value, InvalidArgument)
    assert "plugin time budget of 1 s" in str(caught.value)
    assert pool.killed == 1
    assert len(set(pool.pids) - before) == 1  # one new worker, one untouched
    assert pool.call("a", "echo", "after") == "after"


def test_a_killed_worker_is_replaced(pool: WorkerPool) -> None:
    for pid in pool.pids:
        os.kill(pid, signal.SIGKILL)
    answers = []
    for i in range(4):
        try:
            answers.append(pool.call("a", "echo", i))
        except InvalidArgument:  # the job that met the dead process
            answers.append(None)
    assert answers[-2:] == [2, 3]
    assert pool.started >= 3


def test_plugin_errors_come_back_named_without_the_text(pool: WorkerPool) -> None:
    with pytest.raises(PluginFault) as caught:
        pool.call("a", "raise")
    assert "ValueError" in str(caught.value) and "secret" not in str(caught.value)


def test_one_tenant_holds_at_most_its_share_of_workers(pool: WorkerPool) -> None:
    """Two workers: a tenant's second slow job waits while another tenant's job is answered."""
    first = pool.submit("flood", "sleep", 60.0)
    second = pool.submit("flood", "sleep", 60.0)
    assert pool.call("quiet", "echo", "answered") == "answered"
    assert not second.running() and not second.done()
    with pytest.raises(PluginTimeout):
        first.result(timeout=30)


def test_close_fails_queued_jobs_and_stops_the_workers() -> None:
    pool = WorkerPool({"sleep": _sleep}, workers=1, budget_s=30)
    running = pool.submit("a", "sleep", 60.0)
    queued = pool.submit("a", "sleep", 0.0)
    pids = pool.pids
    pool.close()
    with pytest.raises(Unavailable):
        queued.result(timeout=10)
    with pytest.raises(Unavailable):
        running.result(timeout=10)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with pytest.raises(Unavailable):
        pool.submit("a", "sleep", 0.0)


# ---- through the service ------------------------------------------------------------------
def _slow(text: str) -> Any:
    return replace_patterns(text, [(BACKTRACKING, "[KEY]")])


class SlowPlugin:
    @staticmethod
    @hookimpl
    def register_preprocessors(register: Any) -> None:
        register(Preprocessor("slow.key", _slow, "masks KEY numbers, with a backtracking regex"))

    @staticmethod
    @hookimpl
    def register_tasks(register: Any) -> None:
        register(
            TaskSpec("slow.tone", HeadKind.SEQUENCE, "a test task", labels=("a", "b"), preprocessors=("slow.key",))
        )


def _served(tiny_runtime: Any, name: str, **settings: Any) -> Any:
    settings.setdefault("plugin_budget_s", BUDGET_S)
    service = service_with(load(("slow", SlowPlugin)), tiny_runtime, name, **settings)
    files = random_adapter_files(service.runtime.spec, [("slow.tone", HeadKind.SEQUENCE, ["a", "b"])])
    for tenant in ("t", "u"):
        service.upload(Caller(tenant), UploadHeader("slow"), files)
    return service


def _predict(service: Any, tenant: str, texts: list[str]) -> Any:
    """As the transport calls it: inside the call's request record, which names the tenant."""
    with rl.recording(rl.RequestRecord("test", "Predict", tenant=tenant)):
        return service.predict(Caller(tenant), Target("slow"), texts).predictions


def test_a_pathological_text_is_refused_naming_the_plugin_and_the_limit(tiny_runtime: Any) -> None:
    service = _served(tiny_runtime, "budget-refused")
    try:
        assert service.plugin_work.pool is not None
        ok = _predict(service, "t", ["KEY: 12 is fine"])
        assert len(ok) == 1
        with pytest.raises(InvalidArgument) as caught:
            _predict(service, "t", ["fine", PATHOLOGICAL])
        message = str(caught.value)
        assert "plugin 'slow'" in message and "'slow.key'" in message and "1 s" in message
        assert "test_budget._slow" in message  # the function
        again = _predict(service, "t", ["KEY 7"])
        assert len(again) == 1
    finally:
        service.close()


def test_while_a_worker_is_stuck_other_calls_are_answered(tiny_runtime: Any) -> None:
    service = _served(tiny_runtime, "budget-others", plugin_budget_s=3.0)  # room for calls meanwhile
    refused: list[BaseException] = []
    started = threading.Event()

    def pathological() -> None:
        started.set()
        try:  # one hop for the request's texts: ~2 s of backtracking each on an idle machine, 8 of them
            _predict(service, "t", [PATHOLOGICAL] * 8)  # far past the budget on any machine
        except InvalidArgument as exc:
            refused.append(exc)

    pool = service.plugin_work.pool
    try:
        thread = threading.Thread(target=pathological)
        thread.start()
        started.wait(10)
        answered_during = 0
        while thread.is_alive():
            assert len(_predict(service, "u", ["a short text"])) == 1
            answered_during += pool.killed == 0 and thread.is_alive()
        thread.join(30)
        assert refused and pool.killed == 1
        assert answered_during > 0  # tenant u was answered while t's call held a worker
    finally:
        service.close()


def test_tasks_without_plugin_code_start_no_workers(tiny_runtime: Any) -> None:
    service = service_with(load(), tiny_runtime, "budget-none")
    try:
        assert service.plugin_work.pool is None
    finally:
        service.close()


def test_workers_zero_runs_plugin_code_in_the_server(tiny_runtime: Any) -> None:
    service = _served(tiny_runtime, "budget-zero", plugin_workers=0)
    try:
        assert service.plugin_work.pool is None
        assert len(_predict(service, "t", ["KEY: 12"])) == 1
    finally:
        service.close()


# ---- the fixed rules on the inputs that were pathological ---------------------------------
def test_medical_record_rule_on_a_long_run_of_blanks() -> None:
    hub_medical = pytest.importorskip("hub_medical.deid")
    text = "MRN" + " " * 19_990 + "!"
    out = hub_medical.deidentify(text)
    assert out.text == text
    assert hub_medical.deidentify("MRN" + " " * 500 + "A1234 seen").text == "MRN" + " " * 500 + "[RECORD] seen"


def test_legal_splitter_on_runs_of_newlines() -> None:
    sentences = pytest.importorskip("hub_legal.sentences")
    assert sentences.split_sentences("\n" * 20_000) == []
    spans = sentences.split_sentences("We may end it.\n" + "\n" * 20_000 + "You agree.")
    assert [(s.start, s.end) for s in spans] == [(0, 14), (20_015, 20_025)]
    dots = "." * 20_000
    assert [(s.start, s.end) for s in sentences.split_sentences(dots)] == [(0, 20_000)]


# ---- the kit's growth check ---------------------------------------------------------------
def test_the_growth_check_fails_a_backtracking_preprocessor() -> None:
    problems = growth.growth_problems(load(("slow", SlowPlugin)), "slow", ["KEY: 12 in a sample"])
    assert len(problems) == 1
    assert "preprocessor 'slow.key' is slower than linear" in problems[0]
    assert "runs of ' '" in problems[0] and " s at 4096 " in problems[0]
