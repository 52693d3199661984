"""A tiny loopback DNS responder for the integration tests: UDP on 127.0.0.1, A and SRV
records, an answer set the test changes while it runs.

It also serves DNS over TCP (2-byte length prefix, RFC 1035 4.2.2) on 127.0.0.1:`tcp_port`,
with the same answers; `tcp_queries` and `tcp_connections` count what came that way. At most
16 connections are kept; each reads at most 64 KiB pending.

`srv` maps an SRV name (`_http._tcp.app.test`) to a list of (priority, weight, port, target,
addr) tuples: each becomes an SRV record, and `addr` (an IPv4 string, or None) an A record for
the target in the Additional section. A target without one is resolved through `answers`.

`answers` maps a name (lower case, no trailing dot) to a list of IPv4 addresses: a name that
is absent answers NXDOMAIN, an AAAA question for a known name answers NOERROR with no record
(what a v4-only zone says). `garbage = True` makes it answer every query with junk (the proxy
must ignore it). Bounded: queries over 512 bytes are dropped, names are read label by label
with no compression, and the thread stops with stop() (a socket timeout lets it notice)."""

import selectors
import socket
import struct
import threading


class DnsServer:
    def __init__(self, host="127.0.0.1"):
        self.answers = {}
        self.srv = {}
        self.garbage = False
        self.queries = 0
        self._lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.tcp_queries = 0
        self.tcp_connections = 0
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((host, 0))
        self.lsock.listen(16)
        self.tcp_port = self.lsock.getsockname()[1]
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, name="dns", daemon=True)
        self.thread.start()
        self.tcp_thread = threading.Thread(target=self._serve_tcp, name="dns-tcp", daemon=True)
        self.tcp_thread.start()

    def set(self, name, addrs):
        with self._lock:
            if addrs is None:
                self.answers.pop(name, None)
            else:
                self.answers[name] = list(addrs)

    def set_srv(self, name, records):
        with self._lock:
            if records is None:
                self.srv.pop(name, None)
            else:
                self.srv[name] = list(records)

    def stop(self):
        self._stop.set()
        self.thread.join(timeout=2)
        self.tcp_thread.join(timeout=2)
        self.sock.close()
        self.lsock.close()

    def _serve_tcp(self):
        sel = selectors.DefaultSelector()
        sel.register(self.lsock, selectors.EVENT_READ, None)
        bufs = {}
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(timeout=0.1):
                    if key.data is None:
                        try:
                            c, _peer = self.lsock.accept()
                        except OSError:
                            continue
                        if len(bufs) >= 16:
                            c.close()
                            continue
                        c.setblocking(False)
                        bufs[c] = b""
                        sel.register(c, selectors.EVENT_READ, "conn")
                        with self._lock:
                            self.tcp_connections += 1
                        continue
                    c = key.fileobj
                    try:
                        data = c.recv(4096)
                    except OSError:
                        data = b""
                    if not data or len(bufs[c]) > 65536:
                        sel.unregister(c)
                        c.close()
                        del bufs[c]
                        continue
                    bufs[c] += data
                    while len(bufs[c]) >= 2:
                        n = struct.unpack("!H", bufs[c][:2])[0]
                        if len(bufs[c]) < 2 + n:
                            break
                        q, bufs[c] = bufs[c][2:2 + n], bufs[c][2 + n:]
                        with self._lock:
                            self.tcp_queries += 1
                        reply = self._answer(q) if n <= 512 else None
                        if reply:
                            try:
                                c.setblocking(True)
                                c.settimeout(1)
                                c.sendall(struct.pack("!H", len(reply)) + reply)
                                c.setblocking(False)
                            except OSError:
                                pass
        finally:
            for c in bufs:
                c.close()
            sel.close()

    def _serve(self):
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(data) > 512:
                continue
            reply = self._answer(data)
            if reply:
                try:
                    self.sock.sendto(reply, peer)
                except OSError:
                    pass

    def _answer(self, q):
        if len(q) < 12:
            return None
        qid, _flags, qd = struct.unpack("!HHH", q[:6])
        if qd != 1:
            return None
        pos, labels = 12, []
        while pos < len(q) and q[pos] != 0 and len(labels) < 64:
            n = q[pos]
            if n > 63 or pos + 1 + n > len(q):
                return None
            labels.append(q[pos + 1:pos + 1 + n].decode(errors="replace"))
            pos += 1 + n
        if pos + 5 > len(q):
            return None
        question = q[12:pos + 5]
        qtype = struct.unpack("!H", q[pos + 1:pos + 3])[0]
        name = ".".join(labels).lower()
        with self._lock:
            self.queries += 1
            addrs = self.answers.get(name)
            srv = self.srv.get(name) if qtype == 33 else None
            garbage = self.garbage
        if garbage:
            # the right id and a question, then an answer count with nothing behind it
            return struct.pack("!HHHHHH", qid, 0x8180, 1, 5, 0, 0) + question + b"\xc0"
        if srv is not None:
            return self._srv(qid, question, srv)
        if addrs is None:
            return struct.pack("!HHHHHH", qid, 0x8183, 1, 0, 0, 0) + question
        rrs = b""
        if qtype == 1:
            for a in addrs:
                rrs += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 1, 4) + socket.inet_aton(a)
        n = len(addrs) if qtype == 1 else 0
        return struct.pack("!HHHHHH", qid, 0x8180, 1, n, 0, 0) + question + rrs

    @staticmethod
    def _name(n):
        return b"".join(bytes([len(x)]) + x.encode() for x in n.split(".") if x) + b"\0"

    def _srv(self, qid, question, records):
        an = ar = b""
        nar = 0
        for prio, weight, port, target, addr in records:
            rdata = struct.pack("!HHH", prio, weight, port) + self._name(target)
            an += b"\xc0\x0c" + struct.pack("!HHIH", 33, 1, 1, len(rdata)) + rdata
            if addr:
                ar += self._name(target) + struct.pack("!HHIH", 1, 1, 1, 4) + \
                    socket.inet_aton(addr)
                nar += 1
        return struct.pack("!HHHHHH", qid, 0x8180, 1, len(records), 0, nar) + question + an + ar
