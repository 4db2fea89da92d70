#!/usr/bin/python3
"""The API's request limits, driven over raw HTTP against a running `imagegate serve`.

  api_limits.py ENDPOINT SERVE_PID SECRET_ID SECRET_KEY REQUEST_MEMORY_MIB

Each refusal is the API envelope on HTTP 200, with the documented code:
  - a method other than POST and GET: UnsupportedProtocol;
  - a GET query over 32 KiB: RequestSizeLimitExceeded (a signed 12 KiB query is served);
  - a 64 MiB body, signed or not, announced by Content-Length or sent chunked:
    RequestSizeLimitExceeded; with "Expect: 100-continue" the answer comes before any body byte;
  - a 200 MB request line or header: the connection is closed, the server lives on.
Then the load: 16 clients sending 64 MiB bodies with bad signatures, 16 with good ones, 8 sending
9 MiB bodies (under the limit, so held until the signature is checked) while 4 clients make normal
calls. Every normal call must succeed, and serve's peak RSS (VmHWM) must stay under its resident
size before the load, plus REQUEST_MEMORY_MIB (the server's http.request_memory_bytes: the bodies
it may hold at once), plus MARGIN_MIB for connection pools, threads and the allocator's slack. A
server that buffered what it was sent would need over 2 GiB here.
Standard library only; prints one line per case.
"""
import hashlib
import http.client
import json
import os
import socket
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from tc3call import signed_headers  # noqa: E402

MIB = 1024 * 1024
CHUNK = b"\0" * MIB


def fail(message):
    sys.exit(f"api-limits: FAIL: {message}")


def say(message):
    print(f"api-limits: {message}", flush=True)


class Endpoint:
    def __init__(self, url, secret_id, secret_key):
        self.url = url
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.secret_id, self.secret_key = secret_id, secret_key

    def headers(self, action, body_sha256, key="good", **kw):
        """key: "good", "wrong" (a well-formed signature made with another key) or "garbage" (an
        Authorization header that is no signature at all)."""
        h = signed_headers(self.url, action, body_sha256, self.secret_id,
                           self.secret_key if key == "good" else "not-the-key", **kw)
        if key == "garbage":
            h["Authorization"] = "garbage " + "x" * 200
        return h

    def request(self, method, target, headers, body=None, chunked=False):
        """Sends a request (body: bytes, or an int = that many zero bytes, streamed) and returns the
        parsed envelope's Response, or raises."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for k, v in headers.items():
                conn.putheader(k, v)
            if isinstance(body, int) and chunked:
                conn.putheader("Transfer-Encoding", "chunked")
            elif body is not None:
                conn.putheader("Content-Length", str(body if isinstance(body, int) else len(body)))
            conn.putheader("Connection", "close")
            conn.endheaders()
            try:
                if isinstance(body, int):
                    left = body
                    while left > 0:
                        n = min(left, MIB)
                        conn.send(b"%x\r\n%s\r\n" % (n, CHUNK[:n]) if chunked else CHUNK[:n])
                        left -= n
                    if chunked:
                        conn.send(b"0\r\n\r\n")
                elif body:
                    conn.send(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer and close before the whole body is sent
            r = conn.getresponse()
            data = r.read()
            if r.status != 200:
                raise RuntimeError(f"HTTP {r.status}: {data[:200]!r}")
            return json.loads(data)["Response"]
        finally:
            conn.close()


def zero_sha256(n):
    h = hashlib.sha256()
    left = n
    while left > 0:
        h.update(CHUNK[:min(left, MIB)])
        left -= MIB
    return h.hexdigest()


def code(response):
    return response.get("Error", {}).get("Code", "")


def expect_code(name, response, wanted):
    got = code(response)
    if got != wanted:
        fail(f"{name}: got {got or 'success'} ({response.get('Error', {}).get('Message', '')}), expected {wanted}")
    if len(response.get("RequestId", "")) != 36:
        fail(f"{name}: no RequestId in {response}")
    say(f"{name}: {wanted}")


def protocol_cases(ep, big, big_sha):
    expect_code("PUT", ep.request("PUT", "/", {"Host": f"{ep.host}:{ep.port}"}, b"{}"), "UnsupportedProtocol")

    def get(query_bytes):
        query = "Filters.0.Name=image-name&Filters.0.Values.0=" + "a" * query_bytes
        h = ep.headers("DescribeImages", hashlib.sha256(b"").hexdigest(), method="GET", query=query,
                       content_type="application/x-www-form-urlencoded")
        return ep.request("GET", "/?" + query, h)

    r = get(12 * 1024)
    if code(r) in ("RequestSizeLimitExceeded",) or code(r).startswith("AuthFailure"):
        fail(f"a signed 12 KiB GET query was refused: {r}")
    say(f"signed 12 KiB GET query: served ({code(r) or 'success'})")
    expect_code("40 KiB GET query", get(40 * 1024), "RequestSizeLimitExceeded")

    expect_code("64 MiB signed body", ep.request("POST", "/", ep.headers("DescribeImages", big_sha), big),
                "RequestSizeLimitExceeded")
    expect_code("64 MiB body, garbage Authorization",
                ep.request("POST", "/", ep.headers("DescribeImages", big_sha, key="garbage"), big),
                "RequestSizeLimitExceeded")
    expect_code("64 MiB signed body, chunked",
                ep.request("POST", "/", ep.headers("DescribeImages", big_sha), big, chunked=True),
                "RequestSizeLimitExceeded")
    small = 9 * MIB
    expect_code("9 MiB body, garbage Authorization",
                ep.request("POST", "/", ep.headers("DescribeImages", zero_sha256(small), key="garbage"), small),
                "AuthFailure.InvalidAuthorization")

    # Expect: 100-continue: the refusal arrives while the client still holds the whole body.
    s = socket.create_connection((ep.host, ep.port), timeout=10)
    head = "".join(f"{k}: {v}\r\n" for k, v in ep.headers("DescribeImages", big_sha).items())
    s.sendall(f"POST / HTTP/1.1\r\n{head}Content-Length: {big}\r\nExpect: 100-continue\r\n\r\n".encode())
    reply = s.recv(65536).decode(errors="replace")
    s.close()
    if not reply.startswith("HTTP/1.1 200") or "RequestSizeLimitExceeded" not in reply:
        fail(f"Expect: 100-continue: {reply[:300]!r}")
    say("64 MiB body with Expect: 100-continue: RequestSizeLimitExceeded before any body byte")

    for what, start in (("request line", b"GET /"), ("header", b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: ")):
        s = socket.create_connection((ep.host, ep.port), timeout=30)
        sent = 0
        try:
            s.sendall(start)
            while sent < 200 * 1000 * 1000:
                s.sendall(b"a" * MIB)
                sent += MIB
        except (BrokenPipeError, ConnectionResetError):
            pass
        s.close()
        if sent >= 200 * 1000 * 1000:
            fail(f"a 200 MB {what} was read whole")
        say(f"200 MB {what}: connection closed after {sent // MIB} MiB")


MARGIN_MIB = 64


def status_mib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024
    fail(f"no {field} in /proc/{pid}/status")


def load(ep, big, big_sha, pid, request_memory_mib):
    before = status_mib(pid, "VmRSS")
    max_peak_mib = before + request_memory_mib + MARGIN_MIB
    stop = threading.Event()
    errors, normal_ok, codes = [], [0], {}
    lock = threading.Lock()

    def sender(key, size, sha, rounds):
        for _ in range(rounds):
            try:
                c = code(ep.request("POST", "/", ep.headers("DescribeImages", sha, key=key), size))
            except Exception as e:  # noqa: BLE001 - every failure is reported
                c = f"{type(e).__name__}: {e}"
            with lock:
                codes[c] = codes.get(c, 0) + 1

    def normal():
        while not stop.is_set():
            try:
                body = json.dumps({"Limit": 10}).encode()
                r = ep.request("POST", "/", ep.headers("DescribeImages", hashlib.sha256(body).hexdigest()), body)
                if "Error" in r:
                    raise RuntimeError(json.dumps(r["Error"]))
                with lock:
                    normal_ok[0] += 1
            except Exception as e:  # noqa: BLE001
                with lock:
                    errors.append(str(e))
            time.sleep(0.02)

    small = 9 * MIB
    small_sha = zero_sha256(small)
    senders = [threading.Thread(target=sender, args=("garbage", big, big_sha, 2)) for _ in range(16)]
    senders += [threading.Thread(target=sender, args=("good", big, big_sha, 2)) for _ in range(16)]
    senders += [threading.Thread(target=sender, args=("wrong", small, small_sha, 2)) for _ in range(8)]
    normals = [threading.Thread(target=normal) for _ in range(4)]
    start = time.monotonic()
    for t in normals + senders:
        t.start()
    for t in senders:
        t.join()
    stop.set()
    for t in normals:
        t.join()
    peak = status_mib(pid, "VmHWM")
    say(f"load: 80 large requests in {time.monotonic() - start:.1f} s: {json.dumps(codes, sort_keys=True)}; "
        f"{normal_ok[0]} normal calls succeeded, {len(errors)} failed; serve's peak RSS {peak} MiB "
        f"({before} MiB before the load)")
    if errors:
        fail(f"normal calls failed under load: {errors[:3]}")
    if normal_ok[0] == 0:
        fail("no normal call was made during the load")
    allowed = {"RequestSizeLimitExceeded", "AuthFailure.SignatureFailure", "RequestLimitExceeded"}
    if set(codes) - allowed:
        fail(f"unexpected answers under load: {codes}")
    if codes.get("AuthFailure.SignatureFailure", 0) == 0:
        fail(f"no 9 MiB request was held and checked: {codes}")
    if codes.get("RequestSizeLimitExceeded", 0) != 64:
        fail(f"every 64 MiB request must be RequestSizeLimitExceeded: {codes}")
    if peak >= max_peak_mib:
        fail(f"serve's peak RSS {peak} MiB is not under {max_peak_mib} MiB ({before} MiB before the load, "
             f"{request_memory_mib} MiB of bodies, {MARGIN_MIB} MiB margin)")


def main(argv):
    if len(argv) != 6:
        sys.exit(__doc__)
    ep = Endpoint(argv[1], argv[3], argv[4])
    big = 64 * MIB
    big_sha = zero_sha256(big)
    protocol_cases(ep, big, big_sha)
    load(ep, big, big_sha, int(argv[2]), int(argv[5]))
    say("all cases passed")


if __name__ == "__main__":
    main(sys.argv)
