"""Serve a directory over loopback HTTP/1.1 (keep-alive, files sent with sendfile) for the
benchmarks, with an optional delay before each response, as a distant server would add.

    python3 serve.py DIR [--latency-ms N] [--port-file FILE]

Prints "PORT <n>" once it listens on 127.0.0.1 (and writes the port to FILE); serves until
killed.
"""

import argparse
import functools
import http.server
import socketserver
import sys
import time


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    latency = 0.0

    def send_head(self):
        if self.latency:
            time.sleep(self.latency)
        return super().send_head()

    def copyfile(self, source, outputfile):
        # The kernel copies the file to the socket (sendfile): the server's own copying is not
        # what the benchmarks measure, and on 2 cores it would take a client's share.
        outputfile.flush()
        self.connection.sendfile(source)

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 128


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--port-file")
    a = p.parse_args()
    handler = functools.partial(Handler, directory=a.dir)
    Handler.latency = a.latency_ms / 1000.0
    server = Server(("127.0.0.1", 0), handler)
    port = server.server_address[1]
    if a.port_file:
        with open(a.port_file, "w") as f:
            f.write(str(port))
    print("PORT %d" % port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
