"""The shared HTTP client against a real threaded server on 127.0.0.1: cache, retries, the address guard
(refused before any connection), size and time limits, robots.txt. Nothing but loopback is contacted:
refused addresses are checked with an audit hook that records every socket connect attempt."""
import json
import sys
import threading
import time

import pytest
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Response

from directory_audit.errors import (DirectoryAuditError, DownloadTooLarge, FetchFailed, FetchTimeout,
                                    RobotsDisallowed, UnsafeURL)
from directory_audit.http import DEFAULT_USER_AGENT, HttpClient, HttpOptions, _retry_after, check_url

CONNECTS: list[tuple] = []


def _record_connects(event, args):
    if event == "socket.connect":
        CONNECTS.append(args[1])


sys.addaudithook(_record_connects)   # audit hooks cannot be removed; it only appends to a list


@pytest.fixture(scope="module")
def server():
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    yield srv
    srv.clear()
    if srv.is_running():
        srv.stop()


@pytest.fixture
def httpserver(server):
    server.clear()
    yield server
    server.clear()


@pytest.fixture
def opts(tmp_path):
    return HttpOptions(cache_dir=tmp_path / "cache", respect_robots=False, requests_per_second=0,
                       backoff_base=0.01, total_timeout=20)


def connects_to(host: str) -> list:
    return [a for a in CONNECTS if isinstance(a, tuple) and a and a[0] == host]


def test_identifying_user_agent_and_cache_hit_makes_no_request(httpserver, opts):
    httpserver.expect_request("/index.json").respond_with_json({"provider_urls": []})
    with HttpClient(opts) as client:
        first = client.get(httpserver.url_for("/index.json"))
        second = client.get(httpserver.url_for("/index.json"))
    assert first.status == 200 and not first.from_cache
    assert second.from_cache and second.content == first.content and second.sha256 == first.sha256
    assert len(httpserver.log) == 1
    ua = httpserver.log[0][0].headers["User-Agent"]
    assert ua == DEFAULT_USER_AGENT and ua.startswith("directory-audit/") and "(+http" in ua
    # a new client on the same cache folder is served from the file too
    with HttpClient(opts) as client:
        assert client.get(httpserver.url_for("/index.json")).from_cache
    assert len(httpserver.log) == 1


def test_refresh_ignores_the_cache(httpserver, opts):
    httpserver.expect_request("/a").respond_with_data("x")
    with HttpClient(opts) as client:
        client.get(httpserver.url_for("/a"))
    with HttpClient(HttpOptions(**{**opts.__dict__, "refresh": True})) as client:
        assert not client.get(httpserver.url_for("/a")).from_cache
    assert len(httpserver.log) == 2


def test_429_with_retry_after_then_200(httpserver, opts):
    httpserver.expect_ordered_request("/p").respond_with_data("slow down", status=429, headers={"Retry-After": "1"})
    httpserver.expect_ordered_request("/p").respond_with_data("ok")
    with HttpClient(opts) as client:
        r = client.get(httpserver.url_for("/p"))
    assert (r.status, r.content) == (200, b"ok") and len(httpserver.log) == 2


def test_500_then_200_is_retried_with_backoff(httpserver, opts):
    httpserver.expect_ordered_request("/p").respond_with_data("oops", status=500)
    httpserver.expect_ordered_request("/p").respond_with_data("oops", status=503)
    httpserver.expect_ordered_request("/p").respond_with_data("ok")
    with HttpClient(opts) as client:
        r = client.get(httpserver.url_for("/p"))
    assert r.status == 200 and len(httpserver.log) == 3


def test_retries_stop_after_max_retries_and_the_status_is_returned(httpserver, opts):
    httpserver.expect_request("/p").respond_with_data("down", status=503)
    with HttpClient(HttpOptions(**{**opts.__dict__, "max_retries": 2})) as client:
        r = client.get(httpserver.url_for("/p"))
        assert r.status == 503 and len(httpserver.log) == 3
        with pytest.raises(FetchFailed, match="HTTP 503"):
            client.get(httpserver.url_for("/p"), raise_for_status=True)


def test_non_2xx_is_returned_for_the_caller_to_judge(httpserver, opts):
    httpserver.expect_request("/login").respond_with_data("<form>", status=403)
    with HttpClient(opts) as client:
        assert client.get(httpserver.url_for("/login")).status == 403


def test_retry_after_as_http_date():
    assert _retry_after("5") == 5.0
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0      # in the past: retry now
    assert _retry_after("soon") is None


def test_redirects_are_followed_and_recorded(httpserver, opts):
    httpserver.expect_request("/old").respond_with_data("", status=301, headers={"Location": "/new"})
    httpserver.expect_request("/new").respond_with_data("here")
    with HttpClient(opts) as client:
        r = client.get(httpserver.url_for("/old"))
    assert r.content == b"here" and r.final_url.endswith("/new") and r.redirects == [httpserver.url_for("/old")]
    assert r.url == httpserver.url_for("/old")


def test_redirect_to_metadata_address_is_refused_before_connecting(httpserver, opts):
    CONNECTS.clear()
    httpserver.expect_request("/go").respond_with_data(
        "", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/iam/security-credentials/"})
    with HttpClient(opts) as client, pytest.raises(UnsafeURL, match="169.254.169.254.*metadata"):
        client.get(httpserver.url_for("/go"))
    assert connects_to("169.254.169.254") == []
    assert connects_to("127.0.0.1")          # the loopback page itself was fetched


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/",
                                    "http://100.100.100.200/latest/meta-data/", "http://[fe80::1]/x",
                                    "http://[::ffff:169.254.169.254]/"])
def test_url_in_a_loopback_document_pointing_at_metadata_is_refused_before_any_connection(httpserver, opts, target):
    CONNECTS.clear()
    httpserver.expect_request("/index.json").respond_with_json({"provider_urls": [target]})
    with HttpClient(opts) as client:
        index = client.get(httpserver.url_for("/index.json"))
        url = json.loads(index.content)["provider_urls"][0]
        with pytest.raises(UnsafeURL) as exc:
            client.get(url, found_in=index.url)
    assert "metadata" in str(exc.value) and index.url in str(exc.value)
    assert [a for a in CONNECTS if isinstance(a, tuple) and a[0] != "127.0.0.1"] == []


def test_private_address_allowed_when_the_document_came_from_loopback(httpserver, opts):
    httpserver.expect_request("/providers.json").respond_with_json([])
    with HttpClient(opts) as client:
        r = client.get(httpserver.url_for("/providers.json"), found_in=httpserver.url_for("/index.json"))
    assert r.status == 200


def test_loopback_url_found_in_a_public_document_is_refused_before_any_connection(httpserver, opts):
    CONNECTS.clear()
    # The index came from a public address (an IP literal, so nothing is resolved or contacted).
    with HttpClient(opts) as client, pytest.raises(UnsafeURL, match="private or loopback"):
        client.get(httpserver.url_for("/providers.json"), found_in="http://93.184.215.14/index.json")
    assert CONNECTS == [] and len(httpserver.log) == 0
    with pytest.raises(UnsafeURL):
        check_url("http://10.0.0.5/x", found_in="https://93.184.215.14/")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/", "http:///nohost"])
def test_only_http_and_https(url, opts):
    with HttpClient(opts) as client, pytest.raises(UnsafeURL, match="only http and https"):
        client.get(url, found_in="http://127.0.0.1/index.json")


def test_typed_url_may_be_loopback(httpserver, opts):
    httpserver.expect_request("/x").respond_with_data("ok")
    with HttpClient(opts) as client:
        assert client.get(httpserver.url_for("/x")).content == b"ok"


def test_too_large_by_content_length_is_refused_before_reading(httpserver, opts):
    httpserver.expect_request("/big").respond_with_data(b"x" * 4096)
    small = HttpOptions(**{**opts.__dict__, "max_download_mb": 1 / 1024})   # 1 KB
    with HttpClient(small) as client, pytest.raises(DownloadTooLarge, match=r"announces 4,096 bytes.*1 KB|download limit"):
        client.get(httpserver.url_for("/big"))


def test_too_large_streamed_without_content_length_is_stopped(httpserver, opts, tmp_path):
    def chunks(_request):
        return Response((b"y" * 1000 for _ in range(50)), content_type="application/json")   # chunked
    httpserver.expect_request("/stream").respond_with_handler(chunks)
    small = HttpOptions(**{**opts.__dict__, "max_download_mb": 10 / 1024})   # 10 KB
    with HttpClient(small) as client:
        with pytest.raises(DownloadTooLarge, match="max-download-mb"):
            client.get(httpserver.url_for("/stream"))
        with pytest.raises(DownloadTooLarge):
            client.download(httpserver.url_for("/stream"), tmp_path / "out.json")
    assert not (tmp_path / "out.json").exists() and not list(tmp_path.glob(".out.json*"))


def test_slow_drip_server_hits_the_total_timeout(httpserver, opts):
    def drip(_request):
        def body():
            for _ in range(100):
                yield b"["
                time.sleep(0.1)
        return Response(body(), content_type="application/json")
    httpserver.expect_request("/drip").respond_with_handler(drip)
    quick = HttpOptions(**{**opts.__dict__, "total_timeout": 1.0, "read_timeout": 5.0})
    with HttpClient(quick) as client, pytest.raises(FetchTimeout, match="1 s"):
        client.get(httpserver.url_for("/drip"))


def test_robots_disallow_fetches_nothing_but_robots(httpserver, opts):
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /private/\n")
    httpserver.expect_request("/public/a").respond_with_data("ok")
    polite = HttpOptions(**{**opts.__dict__, "respect_robots": True})
    with HttpClient(polite) as client:
        with pytest.raises(RobotsDisallowed, match="robots.txt disallows"):
            client.get(httpserver.url_for("/private/list"))
        assert client.get(httpserver.url_for("/public/a")).content == b"ok"
    paths = [req.path for req, _ in httpserver.log]
    assert "/private/list" not in paths and paths.count("/robots.txt") == 1


def test_robots_missing_allows_everything(httpserver, opts):
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/a").respond_with_data("ok")
    with HttpClient(HttpOptions(**{**opts.__dict__, "respect_robots": True})) as client:
        assert client.get(httpserver.url_for("/a")).status == 200


def test_download_streams_to_a_file_and_is_cached(httpserver, opts, tmp_path):
    body = b"[" + b",".join(b'{"npi": "1234567893"}' for _ in range(2000)) + b"]"
    httpserver.expect_request("/providers.json").respond_with_data(body)
    with HttpClient(opts) as client:
        r = client.download(httpserver.url_for("/providers.json"), tmp_path / "dl" / "providers.json")
        again = client.download(httpserver.url_for("/providers.json"), tmp_path / "dl2" / "providers.json")
    assert r.content is None and r.path.read_bytes() == body and not r.from_cache
    assert again.from_cache and again.path.read_bytes() == body and again.sha256 == r.sha256
    assert len(httpserver.log) == 1


def test_get_many_yields_results_and_errors_in_order(httpserver, opts):
    for i in range(4):
        httpserver.expect_request(f"/p{i}").respond_with_data(f"page {i}")
    urls = [httpserver.url_for(f"/p{i}") for i in range(4)] + ["http://169.254.169.254/"]
    with HttpClient(opts) as client:
        out = list(client.get_many(urls, found_in=httpserver.url_for("/")))
    assert [r.content for r in out[:4]] == [f"page {i}".encode() for i in range(4)]
    assert isinstance(out[4], UnsafeURL)


def test_rate_limit_spaces_requests_to_one_host(httpserver, opts):
    httpserver.expect_request("/r").respond_with_data("ok")
    paced = HttpOptions(**{**opts.__dict__, "requests_per_second": 20.0, "use_cache": False})
    started = time.monotonic()
    with HttpClient(paced) as client:
        for _ in range(3):
            client.get(httpserver.url_for("/r"))
    # three requests at 20/s: the host's next free slot is three intervals after the first request
    assert client._host_next["127.0.0.1"] >= started + 3 / 20.0 and len(httpserver.log) == 3


def test_unreachable_host_is_a_clear_error(opts):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()                                    # nothing listens there now
    with HttpClient(opts) as client, pytest.raises(FetchFailed, match="could not be fetched") as exc:
        client.get(f"http://127.0.0.1:{port}/x")
    assert isinstance(exc.value, DirectoryAuditError)


def test_concurrency_cap_holds_across_threads(httpserver, opts):
    active, peak, lock = [0], [0], threading.Lock()

    def slow(_request):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.2)
        with lock:
            active[0] -= 1
        return Response("ok")
    httpserver.expect_request("/slow").respond_with_handler(slow)
    capped = HttpOptions(**{**opts.__dict__, "concurrency": 2, "use_cache": False})
    with HttpClient(capped) as client:
        threads = [threading.Thread(target=client.get, args=(httpserver.url_for("/slow"),)) for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(httpserver.log) == 5 and peak[0] <= 2


# --- through the QHP loader and the command line ---------------------------------------------------

def _cli(*args):
    from click.testing import CliRunner
    from directory_audit.cli import main
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_qhp_index_naming_a_metadata_url_exits_2_before_connecting(httpserver, tmp_path):
    CONNECTS.clear()
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/index.json").respond_with_json(
        {"provider_urls": ["http://169.254.169.254/latest/meta-data/providers.json"]})
    r = _cli("audit", httpserver.url_for("/index.json"), "--format", "qhp", "--out", str(tmp_path / "out"), "--quiet")
    assert r.exit_code == 2
    assert "169.254.169.254" in r.output and "metadata" in r.output and httpserver.url_for("/index.json") in r.output
    assert [a for a in CONNECTS if isinstance(a, tuple) and a[0] != "127.0.0.1"] == []


def test_qhp_download_past_max_download_mb_exits_2_naming_the_limit(httpserver, tmp_path):
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/providers.json").respond_with_data(b"[" + b" " * (1024 * 1024 + 10) + b"]")
    r = _cli("audit", httpserver.url_for("/providers.json"), "--format", "qhp", "--out", str(tmp_path / "out"),
             "--max-download-mb", "1", "--quiet")
    assert r.exit_code == 2
    assert "download limit of 1 MB" in r.output and "--max-download-mb" in r.output
    assert not (tmp_path / "out" / "findings.csv").exists()


def test_max_download_mb_from_settings_file(tmp_path):
    from directory_audit.errors import ConfigError
    from directory_audit.settings import load_settings
    cfg = tmp_path / "s.toml"
    cfg.write_text("max_download_mb = 64\n")
    s = load_settings(cfg)
    assert s.max_download_mb == 64 and HttpOptions.from_settings(s).max_bytes == 64 * 1024 * 1024
    cfg.write_text("max_download_mb = 0\n")
    with pytest.raises(ConfigError, match="max_download_mb"):
        load_settings(cfg)
