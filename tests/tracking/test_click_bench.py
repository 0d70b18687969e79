"""The click benchmark's wrk parsing and server-side 302 count (the rest runs in `make bench`)."""

import json
import subprocess
import sys
import time

import pytest

from bench import clicks as click_bench
from bench import common, servers

WRK_OUTPUT = """Running 15s test @ http://127.0.0.1:8102/c/Ab3dE9xY
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    21.86ms   10.01ms 189.66ms   93.29%
    Req/Sec     1.47k   189.63     2.05k    71.00%
  Latency Distribution
     50%   19.16ms
     75%   24.02ms
     90%   30.11ms
     99%   88.50ms
  44012 requests in 15.01s, 12.23MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   2932.21
Transfer/sec:    834.49KB
"""


def test_it_reads_throughput_latency_percentiles_and_errors():
    result = common.parse_wrk(WRK_OUTPUT)
    assert result["requests"] == 44012
    assert result["duration_s"] == pytest.approx(15.01)
    assert result["rps"] == pytest.approx(2932.21)
    assert (result["p50_ms"], result["p75_ms"], result["p90_ms"], result["p99_ms"]) == (19.16, 24.02, 30.11, 88.5)
    assert result["latency_avg_ms"] == pytest.approx(21.86)
    assert result["latency_max_ms"] == pytest.approx(189.66)
    assert result["errors"] == 3
    assert result["non_2xx_3xx"] == 4


def test_latency_units_are_converted_to_milliseconds():
    assert common._ms("850.00us") == pytest.approx(0.85)
    assert common._ms("1.20s") == pytest.approx(1200)
    assert common._ms("2.00m") == pytest.approx(120000)


def test_unreadable_output_is_an_error_not_a_zero():
    with pytest.raises(common.BenchError):
        common.parse_wrk("unable to connect to 127.0.0.1:8102 Connection refused")


def test_server_counts_from_every_worker_are_summed(tmp_path):
    (tmp_path / "101.json").write_text(json.dumps({"click": 7, "other": 2}))
    (tmp_path / "102.json").write_text(json.dumps({"click": 5}))
    (tmp_path / "103.tmp").write_text("{partial")
    assert click_bench._server_counts(tmp_path) == {"click": 12, "other": 2}


def test_the_cpu_meter_charges_a_busy_python_process_and_the_waiting_machine(capsys):
    burner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\nt = time.process_time() + 0.3\nwhile time.process_time() < t: pass\ntime.sleep(30)",
        ]
    )
    try:
        with common.cpu_meter() as meter:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                ticks = common._process_ticks().get(burner.pid)
                if ticks and ticks[1] * common._TICK_US >= 300_000:
                    break
                time.sleep(0.05)
        split = meter.per_request(100)
    finally:
        burner.kill()
        burner.wait()
    # 0.3 s of the burner's CPU over 100 requests: at least 2,000 µs each (part of it may fall
    # before the meter started, while the interpreter was loading).
    assert split["python"] >= 1_000
    assert 0 <= split["idle"] <= 1
    summary = servers.summarize(
        [
            {"rps": 10, "p50_ms": 1, "p99_ms": 2, "cpu_us": {"python": 100.0, "idle": 0.1}},
            {"rps": 20, "p50_ms": 1, "p99_ms": 2, "cpu_us": {"python": 300.0, "postgresql": 50.0, "idle": 0.3}},
            {"rps": 30, "p50_ms": 1, "p99_ms": 2, "cpu_us": {"python": 200.0, "idle": 0.2}},
        ]
    )
    assert summary["cpu_us"] == {"idle": 0.2, "postgresql": 0.0, "python": 200.0}
    servers.print_cpu({"bare 302, granian": summary})
    assert "python" in capsys.readouterr().out


def test_the_cpu_budget_of_a_target_ratio_names_the_part_that_alone_exceeds_it(monkeypatch, capsys):
    monkeypatch.setattr(servers.os, "cpu_count", lambda: 2)
    measured = {
        "bare 302, granian": {"rps": 16_000.0},
        "postback": {"rps": 1_000.0, "cpu_us": {"python": 1000.0, "postgresql": 600.0, "wrk": 40.0, "idle": 0.1}},
    }
    budget = servers.cpu_budget(measured, "postback", 0.25)
    # 2 cores x 1e6 µs / (0.25 x 16,000 req/s) = 500 µs per request in all.
    assert (budget["budget_us"], budget["spent_us"]) == (500, 1640)
    servers.print_budget("postback", budget)
    out = capsys.readouterr().out
    assert "leaves postback 500 µs" in out and "postgresql alone exceeds it" in out
    assert servers.cpu_budget({"bare 302, granian": {"rps": 1.0}, "x": {"rps": 1.0}}, "x", 0.5) is None
