"""The click benchmark's wrk parsing and server-side 302 count (the rest runs in `make bench`)."""

import json

import pytest

from bench import clicks as click_bench
from bench import common

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
