"""The benchmark reads wrk's report; a misread number would make every ratio wrong."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
import bench  # noqa: E402

REPORT = """\
Running 8s test @ http://127.0.0.1:80/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    12.31ms    4.20ms  80.12ms   88.01%
    Req/Sec     1.31k   120.33     1.60k    70.00%
  Latency Distribution
     50%   11.50ms
     75%   13.02ms
     90%   16.80ms
     99%    1.02s
  20931 requests in 8.01s, 9.87MB read
  Socket errors: connect 3, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:   2613.11
Transfer/sec:      1.23MB
"""


def test_reads_throughput_latency_and_failures():
    numbers = bench.parse_wrk(REPORT)
    assert numbers["rps"] == pytest.approx(2613.11)
    assert numbers["requests"] == 20931
    assert numbers["p50_ms"] == pytest.approx(11.5)
    assert numbers["p99_ms"] == pytest.approx(1020.0)
    assert numbers["max_ms"] == pytest.approx(80.12)
    assert numbers["non2xx"] == 7
    assert numbers["socket_errors"] == 6
    assert numbers["failed"] == 13


def test_a_clean_report_has_no_failures_and_microsecond_latency():
    clean = REPORT.replace("  Socket errors: connect 3, read 2, write 0, timeout 1\n", "")
    clean = clean.replace("  Non-2xx or 3xx responses: 7\n", "").replace("11.50ms", "950.00us")
    numbers = bench.parse_wrk(clean)
    assert numbers["failed"] == 0
    assert numbers["p50_ms"] == pytest.approx(0.95)


def test_an_unreadable_latency_is_an_error():
    with pytest.raises(ValueError):
        bench.parse_wrk(REPORT.replace("11.50ms", "11.50m"))
