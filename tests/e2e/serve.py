#!/usr/bin/python3
"""Runs a lipstream server around one end-to-end test command.

Starts `lipstream serve` on a free loopback port (extra server options after
--server-args), waits until it answers, runs the test command with {url} and
{pid} replaced, then stops the server with SIGINT and checks that it shut
down cleanly: exit status 0 and no AddressSanitizer/LeakSanitizer report
(the Debug build runs with sanitizers). The server's log is printed.

usage: serve.py --lipstream BIN --avatar-dir DIR [--server-args="ARGS"] [--asan-options=OPTS]
                [--start-timeout S] -- CMD ARGS...
Exits 77 (ctest: skipped) when the command's program is missing.
"""
import argparse
import os
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, proc, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url + "/api/admin/config", timeout=2):
                return True
        except OSError:
            time.sleep(0.2)
    return False


class Server:
    """`lipstream serve` on a free loopback port, as a context manager: url and
    proc are set once it answers (ready; False when it did not start in
    start_timeout s). On exit it is stopped with SIGINT, its log printed, and
    clean says whether it stopped with status 0 and no sanitizer report.
    env: variables added to the server's environment; open_files: its (soft, hard) limit of open files
    (None: this process's)."""

    def __init__(self, lipstream, avatar_dir, server_args=(), asan_options="", start_timeout=60, env=None,
                 open_files=None):
        self.argv = [lipstream, "serve", "--avatar_dir", avatar_dir, *server_args]
        self.asan_options, self.start_timeout, self.extra_env = asan_options, start_timeout, env or {}
        self.open_files = open_files
        self.ready, self.clean = False, False

    def __enter__(self):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = dict(os.environ, **self.extra_env)
        # GLib's quark table leak (see lsan.supp) is only matched with full malloc stacks.
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS", "detect_leaks=1"),
                                                     "fast_unwind_on_malloc=0", self.asan_options]))
        env["LSAN_OPTIONS"] = "suppressions=" + os.path.join(HERE, "lsan.supp") + ":print_suppressions=0"
        self.log_path = os.path.join(os.getcwd(), f"server_{port}.log")
        self.log = open(self.log_path, "w+b")
        limit = self.open_files
        self.proc = subprocess.Popen(self.argv + ["--listenport", str(port)], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env,
                                     preexec_fn=limit and (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, limit)))
        self.ready = wait_ready(self.url, self.proc, self.start_timeout)
        if not self.ready:
            print("the server did not start")
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            status = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            status = "hung at shutdown"
        self.log.seek(0)
        text = self.log.read().decode(errors="replace")
        self.log.close()
        os.unlink(self.log_path)
        print("--- server log ---\n" + text + "--- end of server log ---")
        self.clean = status == 0 and "Sanitizer" not in text
        if not self.clean:
            print(f"FAIL: the server did not stop cleanly (status {status})")
        return False


def main():
    argv = sys.argv[1:]
    if "--" not in argv:
        sys.exit('usage: serve.py --lipstream BIN --avatar-dir DIR [--server-args="..."] -- CMD ...')
    split = argv.index("--")
    ap = argparse.ArgumentParser()
    ap.add_argument("--lipstream", required=True)
    ap.add_argument("--avatar-dir", required=True)
    ap.add_argument("--server-args", default="", help='one string, given as --server-args="--opt value"')
    ap.add_argument("--asan-options", default="", help="added to ASAN_OPTIONS, e.g. quarantine_size_mb=8")
    ap.add_argument("--start-timeout", type=float, default=60, help="seconds the server may take to answer")
    args = ap.parse_args(argv[:split])
    command = argv[split + 1:]
    if shutil.which(command[0]) is None:
        print(f"{command[0]} not found: skipped")
        sys.exit(77)

    status = 1
    with Server(args.lipstream, args.avatar_dir, shlex.split(args.server_args), args.asan_options,
                args.start_timeout) as server:
        if server.ready:
            cmd = [c.replace("{url}", server.url).replace("{pid}", str(server.proc.pid)) for c in command]
            status = subprocess.call(cmd)
    if not server.clean:
        status = 1 if status in (0, 77) else status
    sys.exit(status)


if __name__ == "__main__":
    main()
