"""The HTTP server under the test servers of this folder (llm_server.py, tts_server.py).

A threaded server on a free localhost port that does not report clients hanging up (the
tests cancel replies and stop syntheses on purpose). serve() prints the port on the first
line of stdout, for the C test that started the script, then serves until killed.
"""
from http.server import ThreadingHTTPServer


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up are expected


def serve(handler):
    server = QuietServer(("127.0.0.1", 0), handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
