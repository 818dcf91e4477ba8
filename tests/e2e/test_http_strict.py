"""Hardening of the HTTP layer, with raw sockets: chunked trailers (once a heap use-after-free),
strict framing (no lenient chunk, header or line parsing; one Host), pipelined requests
followed by a half-close, and TLS 1.2 limited to AEAD suites."""

import hashlib
import socket
import ssl
import time

from lib import (E2ETestCase, RawConn, bucket_name, client, delete_bucket, env, request_bytes,
                 sign, signed_bytes)


def chunked(data, trailer=b""):
    return b"%x\r\n%s\r\n0\r\n%s\r\n" % (len(data), data, trailer)


class StrictHttpTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = client()
        cls.b = bucket_name("strict")
        cls.c.create_bucket(Bucket=cls.b)
        cls.c.put_object(Bucket=cls.b, Key="one", Body=b"first object")

    @classmethod
    def tearDownClass(cls):
        delete_bucket(cls.c, cls.b)

    def raw(self, data, https=False):
        """Sends data on a new connection; the first response, or None if the server closed
        the connection without one."""
        rc = RawConn(https=https, timeout=10)
        try:
            rc.sendall(data)
            try:
                return rc.read_response()
            except EOFError:
                return None
        finally:
            rc.close()

    def assertServerAlive(self):
        rc = RawConn()
        try:
            rc.sendall(signed_bytes(sign("GET", "/%s/one" % self.b)))
            self.assertEqual(rc.read_response().body, b"first object")
        finally:
            rc.close()

    def assertNoObject(self, key):
        self.assertS3Error("NoSuchKey", 404, self.c.get_object, Bucket=self.b, Key=key)

    # --- trailers: refused, and never stored where a worker reads the headers

    def test_anonymous_chunked_put_with_big_trailer(self):
        target = "/%s/anon-trailer" % self.b
        pad = b"X-Pad: " + b"p" * 3000 + b"\r\n"
        for _ in range(50):
            r = self.raw(request_bytes("PUT", target, {"Host": "127.0.0.1",
                                                        "Transfer-Encoding": "chunked"},
                                       chunked(b"hello", pad)))
            self.assertIsNotNone(r, "no answer")
            self.assertIn(r.status, (400, 403), repr(r))
            # The error names what was asked for, never bytes from elsewhere in the heap.
            if r.body:
                self.assertIn(target.encode(), r.body)
                self.assertTrue(all(32 <= ch < 127 or ch in b"\r\n\t" for ch in r.body),
                                repr(r.body))
        self.assertServerAlive()

    def test_signed_chunked_put_with_trailer_refused(self):
        data = b"hello"
        s = sign("PUT", "/%s/signed-trailer" % self.b, body=data,
                 headers={"Content-Type": "text/plain"})
        h = dict(s.headers)
        h["Transfer-Encoding"] = "chunked"
        pad = b"X-Pad: " + b"q" * 3000 + b"\r\nContent-Type: evil/evil\r\n"
        r = self.raw(request_bytes("PUT", s.target, h, chunked(data, pad)))
        self.assertIsNotNone(r, "no answer")
        self.assertEqual(r.status, 400, repr(r))
        self.assertNoObject("signed-trailer")

    def test_signed_chunked_put_without_trailer_still_works(self):
        data = b"hello"
        s = sign("PUT", "/%s/no-trailer" % self.b, body=data,
                 headers={"Content-Type": "text/plain"})
        h = dict(s.headers)
        h["Transfer-Encoding"] = "chunked"
        r = self.raw(request_bytes("PUT", s.target, h, chunked(data)))
        self.assertRawOK(r)
        got = self.c.get_object(Bucket=self.b, Key="no-trailer")
        self.assertEqual((got["Body"].read(), got["ContentType"]), (data, "text/plain"))

    # --- strict framing: 400, then close

    def assertRefusedAndClosed(self, data, key=None):
        rc = RawConn(timeout=10)
        try:
            rc.sendall(data)
            r = rc.read_response()
            self.assertEqual(r.status, 400, repr(r))
            self.assertEqual(r.header("connection"), "close", repr(r))
            rc.sock.settimeout(5)
            try:
                self.assertEqual(rc.sock.recv(1), b"", "connection not closed")
            except ConnectionResetError:
                pass
        finally:
            rc.close()
        if key is not None:
            self.assertNoObject(key)
        self.assertServerAlive()

    def signed_chunked(self, key, body_bytes, data=b"hello"):
        s = sign("PUT", "/%s/%s" % (self.b, key), body=data)
        h = dict(s.headers)
        h["Transfer-Encoding"] = "chunked"
        return request_bytes("PUT", s.target, h, body_bytes)

    def test_chunk_data_longer_than_its_size(self):
        self.assertRefusedAndClosed(self.signed_chunked("junk", b"5\r\nhelloXX0\r\n\r\n"), "junk")

    def test_bad_chunk_size(self):
        self.assertRefusedAndClosed(self.signed_chunked("badsize", b"zz\r\nhello\r\n0\r\n\r\n"),
                                    "badsize")

    def test_space_before_header_colon(self):
        self.assertRefusedAndClosed(b"GET /%s/one HTTP/1.1\r\nHost : 127.0.0.1\r\n\r\n"
                                    % self.b.encode())

    def test_folded_header_line(self):
        self.assertRefusedAndClosed(b"GET /%s/one HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\r\n"
                                    b" folded\r\n\r\n" % self.b.encode())

    def test_missing_host(self):
        self.assertRefusedAndClosed(b"GET /%s/one HTTP/1.1\r\n\r\n" % self.b.encode())

    def test_duplicate_host(self):
        self.assertRefusedAndClosed(b"GET /%s/one HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                    b"Host: evil.example\r\n\r\n" % self.b.encode())

    def test_content_length_past_int64(self):
        self.assertRefusedAndClosed(b"PUT /%s/huge HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                    b"Content-Length: 9223372036854775808\r\n\r\nx"
                                    % self.b.encode(), key="huge")

    def test_http_1_0_without_host_allowed(self):
        r = self.raw(b"GET / HTTP/1.0\r\n\r\n")
        self.assertIsNotNone(r)
        self.assertNotEqual(r.status, 400, repr(r))

    # --- pipelining with a half-close: every request received is answered

    def pipeline_half_closed(self, reqs, https=False):
        rc = RawConn(https=https, timeout=30)
        try:
            rc.sendall(b"".join(reqs))
            if https:
                rc.sock.unwrap()  # close_notify; the TCP stream stays open for reading
            else:
                rc.sock.shutdown(socket.SHUT_WR)
            return [rc.read_response() for _ in reqs]
        finally:
            rc.close()

    def test_pipelined_puts_then_half_close(self):
        keys = ["hc-%02d" % i for i in range(30)]
        reqs = [signed_bytes(sign("PUT", "/%s/%s" % (self.b, k), body=k.encode()))
                for k in keys]
        rs = self.pipeline_half_closed(reqs)
        for r in rs:
            self.assertRawOK(r)
        for k in keys:
            got = self.c.get_object(Bucket=self.b, Key=k)["Body"].read()
            self.assertEqual(got, k.encode())

    def test_pipelined_gets_then_half_close(self):
        reqs = [signed_bytes(sign("GET", "/%s/one" % self.b)) for _ in range(5)]
        for r in self.pipeline_half_closed(reqs):
            self.assertEqual((r.status, r.body), (200, b"first object"))

    def test_half_close_while_a_worker_holds_the_request(self):
        """A chunked PUT goes to a worker when its headers end; a half-close right after
        its (refused) trailer, or in the middle of its body, still gets the worker's answer
        before the connection closes."""
        target = "/%s/hc-trailer" % self.b
        head = {"Host": "127.0.0.1", "Transfer-Encoding": "chunked"}
        for body in (chunked(b"hello", b"X-Pad: p\r\n"), b"5\r\nhel"):
            for _ in range(20):
                rc = RawConn(timeout=10)
                try:
                    rc.sendall(request_bytes("PUT", target, head, body))
                    rc.sock.shutdown(socket.SHUT_WR)
                    try:
                        r = rc.read_response()
                    except EOFError:
                        r = None
                finally:
                    rc.close()
                self.assertIsNotNone(r, "no answer after the half-close: %r" % body)
                self.assertIn(r.status, (400, 403), repr(r))
        self.assertServerAlive()

    def test_half_close_after_partial_request_closes(self):
        whole = signed_bytes(sign("GET", "/%s/one" % self.b))
        rc = RawConn(timeout=10)
        try:
            rc.sendall(whole + whole[:20])
            rc.sock.shutdown(socket.SHUT_WR)
            self.assertEqual(rc.read_response().body, b"first object")
            self.assertEqual(rc.sock.recv(1), b"")
        finally:
            rc.close()

    # --- TLS 1.2: AEAD suites only

    def tls12(self, ciphers):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(ciphers)
        s = socket.create_connection(("127.0.0.1", env().tls_port), timeout=10)
        try:
            t = ctx.wrap_socket(s, server_hostname="localhost")
            name = t.cipher()[0]
            t.close()
            return name
        finally:
            s.close()

    def test_tls12_cbc_suites_refused(self):
        for cbc in ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384",
                    "ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA", "AES128-SHA"):
            with self.assertRaises(ssl.SSLError, msg=cbc):
                self.tls12(cbc)

    def test_tls12_aead_suites_offered(self):
        self.assertIn("GCM", self.tls12("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"))
        self.assertIn("CHACHA20", self.tls12("ECDHE-ECDSA-CHACHA20-POLY1305:"
                                             "ECDHE-RSA-CHACHA20-POLY1305"))


if __name__ == "__main__":
    import unittest
    unittest.main()
