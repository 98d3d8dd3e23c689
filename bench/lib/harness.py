"""bench/run's harness: sessionguard and the Express peer side by side on one MongoDB server.

Seeds both systems with the same users and sessions, then runs each workload for each system,
one process at a time, alternating A/B every round, and prints one table per workload. Started
by bench/run, which installs wrk and the peer's packages, builds the app and starts the
database; run it through that script.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pymongo
from bson import ObjectId

HERE = os.path.dirname(os.path.abspath(__file__))
PASSWORD = "bench-password-1"
USER_AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36",
]
SESSIONS_PER_USER = 5
# Each login-logout thread signs in as its own user, so no two threads share throttle counters.
CYCLE_USERS = 64


def log(message):
    print(f"    {message}", flush=True)


def now():
    return datetime.now(timezone.utc)


def http(method, url, headers=None, body=None, timeout=120):
    """(status, headers, body) without following redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(url, method=method, headers=headers or {}, data=body)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as answer:
            return answer.status, answer.headers, answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as answer:
        return answer.code, answer.headers, answer.read().decode("utf-8", "replace")


@dataclass
class Running:
    """A server process of one system, started for one workload."""

    process: subprocess.Popen
    port: int
    ready_s: float
    # sessionguard counts its MongoDB commands in Prometheus metrics on a port of their own;
    # the Express peer reports them in /healthz.
    metrics_port: int | None = None

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def peak_rss_mib(self):
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_seconds(self):
        """User plus system CPU time the server process has used so far."""
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def commands(self):
        if self.metrics_port is not None:
            status, _, body = http("GET", f"http://127.0.0.1:{self.metrics_port}/metrics")
            if status != 200:
                raise SystemExit(f"/metrics answered {status}: {body[:200]}")
            counts = {}
            for line in body.splitlines():
                if line.startswith('sessionguard_db_commands_total{command="'):
                    series, value = line.rsplit(" ", 1)
                    counts[series.split('"')[1]] = int(float(value))
            counts.pop("ping", None)
            return counts
        status, _, body = http("GET", f"{self.base}/healthz")
        if status != 200:
            raise SystemExit(f"/healthz answered {status}: {body[:200]}")
        counts = json.loads(body)["commands"]
        # /healthz itself pings MongoDB on sessionguard; pings are never a request's work.
        counts.pop("ping", None)
        return counts

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(command, env, cwd, log_path):
    port = free_port()
    env = {**os.environ, **env(port)}
    started = time.monotonic()
    with open(log_path, "a") as log_file:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=log_file, stderr=subprocess.STDOUT)
    while True:
        if process.poll() is not None:
            raise SystemExit(f"{command[0]} exited with {process.returncode}; see {log_path}")
        try:
            status, _, _ = http("GET", f"http://127.0.0.1:{port}/healthz", timeout=1)
            if status == 200:
                return Running(process, port, time.monotonic() - started)
        except OSError:
            pass
        if time.monotonic() - started > 60:
            process.kill()
            raise SystemExit(f"{command[0]} did not answer /healthz within 60 s; see {log_path}")
        time.sleep(0.01)


class Sessionguard:
    """The system under test, with its own documents (DESIGN.md §3)."""

    name = "sessionguard"
    cookie_name = "sessionguard"
    page_path = "/account/security"
    login_path = "/api/login"
    logout_path = "/api/logout"

    def __init__(self, args, client):
        self.args = args
        self.db = client[args.db_prefix + "sessionguard"]

    def start(self, log_path, extra_env=None):
        metrics_port = free_port()

        def env(port):
            return {
                "METRICS_ADDR": f"127.0.0.1:{metrics_port}",
                "MONGODB_URI": self.args.mongodb_uri,
                "MONGODB_DB": self.db.name,
                "SITE_ADDR": f"127.0.0.1:{port}",
                "PUBLIC_ORIGIN": f"http://127.0.0.1:{port}",
                "COOKIE_SECURE": "false",
                "HASH_CONCURRENCY": str(self.args.cycle_connections),
                "LEPTOS_SITE_ROOT": self.args.site_root,
                "RUST_LOG": "warn",
                **(extra_env or {}),
            }

        running = start([self.args.app], env, None, log_path)
        running.metrics_port = metrics_port
        return running

    def password_hash(self, log_path):
        """A hash of PASSWORD made by the app itself (`sessionguard create-user`)."""
        email = "hash-source@bench.test"
        self.db.users.delete_many({"email": email})
        env = {**os.environ, "MONGODB_URI": self.args.mongodb_uri, "MONGODB_DB": self.db.name, "RUST_LOG": "warn"}
        with open(log_path, "a") as log_file:
            subprocess.run([self.args.app, "create-user", email], input=PASSWORD + "\n", text=True, env=env, check=True, stdout=log_file, stderr=subprocess.STDOUT)
        hash_ = self.db.users.find_one({"email": email})["password_hash"]
        self.db.users.delete_many({"email": email})
        return hash_

    def seed_users(self, emails, hash_):
        at = now()
        docs = [{"_id": ObjectId(), "email": e, "password_hash": hash_, "created_at": at, "password_changed_at": at} for e in emails]
        insert(self.db.users, docs)
        return {d["email"]: str(d["_id"]) for d in docs}

    def seed_sessions(self, user_id, email, count):
        """Inserts `count` sessions as the app writes them; returns (Cookie headers, handles)."""
        at = now()
        cookies, handles, docs = [], [], []
        for i in range(count):
            token = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
            handle = secrets.token_hex(12)
            agent = USER_AGENTS[i % len(USER_AGENTS)]
            ip = f"198.51.100.{i % 250 + 1}"
            docs.append({
                "_id": hashlib.sha256(token.encode()).hexdigest(),
                "handle": handle,
                "user_id": user_id,
                "data": {"user_id": user_id, "email": email, "user_agent": agent, "ip": ip},
                "created_at": at,
                "last_seen_at": at,
                "expires_at": at + timedelta(minutes=30),
                "user_agent": agent,
                "ip": ip,
            })
            cookies.append(f"{self.cookie_name}={token}")
            handles.append(handle)
        insert(self.db.sessions, docs)
        return cookies, handles

    def sessions_of(self, user_id):
        return self.db.sessions.count_documents({"user_id": user_id})

    def clear_sessions_of(self, user_id):
        self.db.sessions.delete_many({"user_id": user_id})

    def mark_all_seen_now(self):
        self.db.sessions.update_many({}, {"$set": {"last_seen_at": now()}})

    def logout_everywhere(self, running, cookie):
        headers = {"Cookie": cookie, "Origin": running.base, "Accept": "application/json"}
        return http("POST", f"{running.base}/api/logout_everywhere", headers, b"")

    def page_lists(self, body, handles):
        return all(f'value="{h}"' in body for h in handles)


class Peer:
    """Express 4 + express-session + connect-mongo, as bench/peer-express/server.js writes it."""

    name = "express"
    cookie_name = "connect.sid"
    page_path = "/account/security"
    login_path = "/login"
    logout_path = "/logout"
    secret = "bench-only-secret"

    def __init__(self, args, client):
        self.args = args
        self.db = client[args.db_prefix + "peer"]

    def start(self, log_path):
        def env(port):
            return {
                "PORT": str(port),
                "MONGODB_URI": self.args.mongodb_uri,
                "MONGODB_DB": self.db.name,
                "SESSION_SECRET": self.secret,
                "NODE_ENV": "production",
            }

        return start(["node", "server.js"], env, self.args.peer_dir, log_path)

    def password_hash(self, log_path):
        script = (
            "require('argon2').hash(process.argv[1], {type: 2, memoryCost: 19456, timeCost: 2, parallelism: 1})"
            ".then((h) => process.stdout.write(h))"
        )
        return subprocess.run(["node", "-e", script, PASSWORD], cwd=self.args.peer_dir, check=True, capture_output=True, text=True).stdout

    def seed_users(self, emails, hash_):
        docs = [{"_id": ObjectId(), "email": e, "passwordHash": hash_} for e in emails]
        insert(self.db.users, docs)
        return {d["email"]: str(d["_id"]) for d in docs}

    def cookie(self, sid):
        """express-session's cookie: "s:" + sid + "." + HMAC-SHA256 (cookie-signature), URI-encoded."""
        mac = base64.b64encode(hmac.new(self.secret.encode(), sid.encode(), hashlib.sha256).digest()).decode().rstrip("=")
        return f"{self.cookie_name}=" + urllib.parse.quote(f"s:{sid}.{mac}", safe="!~*'()")

    def seed_sessions(self, user_id, email, count):
        at = now()
        cookies, handles, docs = [], [], []
        for i in range(count):
            sid = base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")
            session = {
                "cookie": {"originalMaxAge": None, "expires": None, "httpOnly": True, "path": "/", "sameSite": "lax"},
                "userId": user_id,
                "email": email,
                "userAgent": USER_AGENTS[i % len(USER_AGENTS)],
            }
            docs.append({"_id": sid, "expires": at + timedelta(days=14), "lastModified": at, "session": json.dumps(session, separators=(",", ":"))})
            cookies.append(self.cookie(sid))
            handles.append(sid)
        insert(self.db.sessions, docs)
        return cookies, handles

    def sessions_of(self, user_id):
        return self.db.sessions.count_documents(self.owned_by(user_id))

    def clear_sessions_of(self, user_id):
        self.db.sessions.delete_many(self.owned_by(user_id))

    def mark_all_seen_now(self):
        self.db.sessions.update_many({}, {"$set": {"lastModified": now()}})

    @staticmethod
    def owned_by(user_id):
        return {"session": {"$regex": re.escape(f'"userId":"{user_id}"')}}

    def logout_everywhere(self, running, cookie):
        return http("POST", f"{running.base}/logout-everywhere", {"Cookie": cookie}, b"")

    def page_lists(self, body, handles):
        return body.count("<li>") == len(handles)


def insert(collection, docs):
    for i in range(0, len(docs), 1000):
        collection.insert_many(docs[i : i + 1000], ordered=False)


@dataclass
class Seeded:
    """What one system was seeded with: page cookies (one per session) and the cycle users."""

    cookies_file: str
    sample_cookie: str
    sample_handles: list
    user_ids: dict = field(default_factory=dict)


def seed(system, users, hash_, work_dir):
    system.db.sessions.delete_many({})
    system.db.users.delete_many({})
    emails = [f"user{i}@bench.test" for i in range(users)]
    emails += [f"cycle{k}@bench.test" for k in range(CYCLE_USERS)] + ["everywhere@bench.test"]
    ids = system.seed_users(emails, hash_)
    cookies, sample = [], None
    for i in range(users):
        email = f"user{i}@bench.test"
        user_cookies, handles = system.seed_sessions(ids[email], email, SESSIONS_PER_USER)
        cookies += user_cookies
        sample = sample or (user_cookies[0], handles)
    path = os.path.join(work_dir, f"{system.name}-cookies.txt")
    with open(path, "w") as out:
        out.write("\n".join(cookies) + "\n")
    return Seeded(path, sample[0], sample[1], ids)


# --- wrk ------------------------------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def wrk(url, script, threads, connections, duration, env):
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s", "-s", os.path.join(HERE, script), url]
    output = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, check=True).stdout
    result = {"requests": int(re.search(r"(\d+) requests in", output).group(1))}
    result["seconds"] = float(re.search(r"requests in ([\d.]+)s", output).group(1))
    for pct in ("50", "99"):
        value, unit = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M).groups()
        result[f"p{pct}_ms"] = float(value) * UNITS[unit]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["non_2xx_3xx"] = int(bad.group(1)) if bad else 0
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    result["socket_errors"] = sum(int(n) for n in errors.groups()) if errors else 0
    cycles = re.search(r"CYCLES (\d+) SURVIVED (\d+) FAILED (\d+)", output)
    if cycles:
        result["cycles"], result["survived"], result["failed"] = (int(n) for n in cycles.groups())
    return result


# --- workloads --------------------------------------------------------------------------------


def command_delta(before, after):
    return {name: after.get(name, 0) - before.get(name, 0) for name in after if after.get(name, 0) != before.get(name, 0)}


def start_on_the_page(system, seeded, log_path):
    """Starts `system` with every seeded session just used, as on a busy site (so a run measures
    views inside the 60 s touch window, however long seeding and earlier runs took), and checks
    that the sampled session's page lists the seeded sessions; stops it if not."""
    system.mark_all_seen_now()
    running = system.start(log_path)
    status, _, body = http("GET", running.base + system.page_path, {"Cookie": seeded.sample_cookie})
    if status != 200 or not system.page_lists(body, seeded.sample_handles):
        running.stop()
        raise SystemExit(f"{system.name}: the security page did not list the seeded sessions (status {status}); see {log_path}")
    return running


def run_page(system, seeded, args, log_path):
    running = start_on_the_page(system, seeded, log_path)
    try:
        before = running.commands()
        cpu_before = running.cpu_seconds()
        result = wrk(running.base, "page.lua", 2, args.connections, args.duration, {"BENCH_COOKIES": seeded.cookies_file, "BENCH_PATH": system.page_path})
        result["cpu_ms_per"] = (running.cpu_seconds() - cpu_before) * 1e3 / max(result["requests"], 1)
        commands = command_delta(before, running.commands())
        # The check request above is not part of the run; wrk's are.
        return finish(result, running, commands, result["requests"])
    finally:
        running.stop()


def run_cycle(system, seeded, args, log_path):
    n = args.cycle_connections
    cycle_users = [seeded.user_ids[f"cycle{k}@bench.test"] for k in range(n)]
    for user_id in cycle_users:
        system.clear_sessions_of(user_id)
    running = system.start(log_path)
    try:
        before = running.commands()
        env = {
            "BENCH_LOGIN": system.login_path,
            "BENCH_LOGOUT": system.logout_path,
            "BENCH_PAGE": system.page_path,
            "BENCH_ORIGIN": running.base,
            "BENCH_COOKIE_NAME": re.escape(system.cookie_name).replace("\\", "%"),
            "BENCH_EMAIL_PREFIX": "cycle",
            "BENCH_PASSWORD": PASSWORD,
        }
        result = wrk(running.base, "cycle.lua", n, n, args.duration, env)
        commands = command_delta(before, running.commands())
        # wrk stops in mid-cycle: at most one session per connection may still be signed in.
        left = sum(system.sessions_of(user_id) for user_id in cycle_users)
        if left > n:
            raise SystemExit(f"{system.name}: {left} sessions of the sign-in users remain after the run, more than one per connection")
        return finish(result, running, commands, max(result["cycles"], 1), rate=result["cycles"] / result["seconds"])
    finally:
        running.stop()


def run_everywhere(system, seeded, args, log_path):
    user_id = seeded.user_ids["everywhere@bench.test"]
    cookies, _ = system.seed_sessions(user_id, "everywhere@bench.test", args.everywhere_sessions)
    running = system.start(log_path)
    try:
        before = running.commands()
        started = time.monotonic()
        status, _, body = system.logout_everywhere(running, cookies[0])
        took_ms = (time.monotonic() - started) * 1e3
        commands = command_delta(before, running.commands())
        left = system.sessions_of(user_id)
        if status >= 400 or left:
            raise SystemExit(f"{system.name}: log out everywhere answered {status} ({body[:200]}) and left {left} sessions")
        result = {"requests": 1, "seconds": took_ms / 1e3, "p50_ms": took_ms, "p99_ms": took_ms, "non_2xx_3xx": 0, "socket_errors": 0, "left": left}
        return finish(result, running, commands, 1, rate=1e3 / took_ms)
    finally:
        running.stop()


def check_answers(system, label, result, log_path, peer_may_stall=False):
    """Stops the harness (so bench/run, and the smoke run in scripts/test, fail) when a run
    measured nothing: no request completed, or, for sessionguard, any answer was not 2xx/3xx
    or any sign-in/logout cycle failed. The peer's error answers are a finding, reported in
    its table; it must still complete requests, or the harness itself is broken, except where
    `peer_may_stall` says its stalling is the finding."""
    completed = result.get("cycles", result["requests"])
    if completed == 0 and not (peer_may_stall and system != "sessionguard"):
        raise SystemExit(f"{system}: {label} completed no {'cycle' if 'cycles' in result else 'request'}; see {log_path}")
    if system == "sessionguard":
        if result["non_2xx_3xx"]:
            raise SystemExit(f"{system}: {label} got {result['non_2xx_3xx']} answers that were not 2xx or 3xx; see {log_path}")
        if result.get("failed"):
            raise SystemExit(f"{system}: {label} had {result['failed']} sign-in/logout steps fail; see {log_path}")


def finish(result, running, commands, per, rate=None):
    result["rate"] = rate if rate is not None else result["requests"] / result["seconds"]
    result["rss_mib"] = running.peak_rss_mib()
    result["ready_s"] = running.ready_s
    result["commands"] = commands
    result["commands_per"] = sum(commands.values()) / max(per, 1)
    return result


def run_sign_in_timing(system, seeded, args, log_path):
    """Wrong-password sign-ins for emails that have accounts against sign-ins for emails that
    do not, one at a time and interleaved, on sessionguard: the two medians must agree (within
    10 %), or the answer's timing tells an attacker which emails are registered. The throttle is
    raised for this run only, so every attempt reaches the password check."""
    known = [f"user{k}@bench.test" for k in range(args.users)]
    assert all(email in seeded.user_ids for email in known), "the timing probe signs in as the seeded users"
    raised = {"LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_IP": "100000", "LOGIN_MAX_FAILURES_PER_ACCOUNT": "100000", "LOGIN_MAX_FAILURES_PER_IP": "100000"}
    running = system.start(log_path, raised)
    try:
        times = {"known": [], "unknown": []}
        headers = {"Origin": running.base, "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        for k in range(args.timing_attempts):
            # Unknown emails repeat as often as known ones, so both paths meet throttle counters
            # that already exist (a fresh counter is an insert, a cheaper command).
            for label, email in (("known", known[k % len(known)]), ("unknown", f"nobody{k % len(known)}@bench.test")):
                body = urllib.parse.urlencode({"email": email, "password": "not-the-password"}).encode()
                started = time.monotonic()
                status, _, answer = http("POST", running.base + system.login_path, headers, body)
                times[label].append((time.monotonic() - started) * 1e3)
                if status != 401:
                    raise SystemExit(f"{system.name}: a wrong sign-in for a {label} email answered {status}: {answer[:200]}; see {log_path}")
        # The first attempts warm caches and connections on both paths alike; drop them.
        warm = min(5, args.timing_attempts // 4)
        return {label: statistics.median(values[warm:]) for label, values in times.items()}
    finally:
        running.stop()


def run_first_load(system, seeded, args, log_path):
    """Cold loads of the security page in Chromium on a throttled connection (bench/lib/first_load.cjs)."""
    running = start_on_the_page(system, seeded, log_path)
    try:
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "first_load.cjs")
        command = ["node", script, running.base + system.page_path, seeded.sample_cookie, str(args.first_loads),
                   str(args.latency_ms), str(args.down_kbit), str(args.up_kbit)]
        answer = subprocess.run(command, capture_output=True, text=True, timeout=120 + 60 * args.first_loads)
        if answer.returncode != 0:
            raise SystemExit(f"first-load measurement failed: {answer.stderr[-2000:]}")
        return json.loads(answer.stdout.strip().splitlines()[-1])
    finally:
        running.stop()


def run_ceiling(args):
    """Raw `find_one({_id})` by the Rust driver from 32 tasks (examples/ceiling.rs): the most
    this database answers, with no application in the way."""
    database = args.db_prefix + "sessionguard"
    command = [args.ceiling, args.mongodb_uri, database, "sessions", str(args.duration)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finds, seconds = re.search(r"CEILING (\d+) ([\d.]+)", output).groups()
    return {"rate": int(finds) / float(seconds), "requests": int(finds), "seconds": float(seconds)}


# --- report -----------------------------------------------------------------------------------


def median(results, key):
    return statistics.median(r[key] for r in results)


def report(name, unit, runs, ceiling, note):
    """One workload's table. `unit` is what one operation is (request, cycle, call)."""
    print(f"\n### {name}\n")
    if note:
        print(f"{note}\n")
    print(f"| system | {unit}s/s (median) | p50 | p99 | peak RSS | MongoDB commands per {unit} | of ceiling | rounds |")
    print("|---|---|---|---|---|---|---|---|")
    rates = {}
    for system, results in runs.items():
        rate = median(results, "rate")
        rates[system] = rate
        of_ceiling = f"{rate / ceiling:.0%}" if ceiling else "n/a"
        rounds = ", ".join(f"{r['rate']:.0f}" if r["rate"] >= 10 else f"{r['rate']:.2f}" for r in results)
        print(
            f"| {system} | {rate:,.1f} | {median(results, 'p50_ms'):.1f} ms | {median(results, 'p99_ms'):.1f} ms | "
            f"{max(r['rss_mib'] for r in results):.1f} MiB | {median(results, 'commands_per'):.2f} | {of_ceiling} | {rounds} |"
        )
    if len(rates) == 2 and rates.get("express"):
        print(f"\nsessionguard / express: **{rates['sessionguard'] / rates['express']:.2f}×**")
    if ceiling:
        for system, results in runs.items():
            per = median(results, "commands_per")
            print(f"- {system}: the ceiling divided by its {per:.2f} commands per {unit} is {ceiling / per:,.0f}/s; it reached {rates[system] * per / ceiling:.0%} of that")
    for system, results in runs.items():
        last = results[-1]
        extras = []
        if last.get("non_2xx_3xx") or last.get("socket_errors"):
            extras.append(f"{last['non_2xx_3xx']} non-2xx/3xx answers, {last['socket_errors']} socket errors")
        for key in ("cycles", "survived", "failed"):
            if key in last:
                extras.append(f"{key} {sum(r[key] for r in results)}")
        breakdown = ", ".join(f"{k} {v}" for k, v in sorted(last["commands"].items()))
        print(f"- {system}, last round's commands: {breakdown or 'none'}" + (f"; {'; '.join(extras)}" if extras else ""))


def bundle_sizes(site_root):
    import gzip

    pkg = os.path.join(site_root, "pkg")
    rows = []
    for name in sorted(os.listdir(pkg)):
        if name.endswith((".wasm", ".js")):
            raw = open(os.path.join(pkg, name), "rb").read()
            brotli = os.path.join(pkg, name + ".br")
            rows.append((name, len(raw), len(gzip.compress(raw, 9)), os.path.getsize(brotli) if os.path.exists(brotli) else None))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mongodb-uri", required=True)
    parser.add_argument("--app", required=True, help="the sessionguard binary")
    parser.add_argument("--ceiling", required=True, help="the examples/ceiling binary")
    parser.add_argument("--site-root", required=True)
    parser.add_argument("--peer-dir", required=True)
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--build", required=True, help="what the binary is, for the report (release or debug)")
    parser.add_argument("--database", required=True, help="what the database is, for the report")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--cycle-connections", type=int, default=4)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--scale-users", type=int, default=5000)
    parser.add_argument("--everywhere-sessions", type=int, default=10_000)
    parser.add_argument("--first-loads", type=int, default=5, help="cold loads of the security page in the first-load measurement")
    parser.add_argument("--latency-ms", type=int, default=150, help="first load: round-trip latency added to every request")
    parser.add_argument("--down-kbit", type=int, default=1600, help="first load: download bandwidth")
    parser.add_argument("--up-kbit", type=int, default=750, help="first load: upload bandwidth")
    parser.add_argument("--db-prefix", default="bench_")
    parser.add_argument("--timing-attempts", type=int, default=200, help="wrong sign-ins per path in the timing probe")
    args = parser.parse_args()
    os.makedirs(args.work_dir, exist_ok=True)
    log_path = os.path.join(args.work_dir, "servers.log")
    open(log_path, "w").close()

    client = pymongo.MongoClient(args.mongodb_uri)
    systems = [Sessionguard(args, client), Peer(args, client)]
    print("==> Hashing the shared password with each system's own Argon2id (m=19456, t=2, p=1)", flush=True)
    hashes = {s.name: s.password_hash(log_path) for s in systems}

    def seed_all(users):
        print(f"==> Seeding both systems: {users} users × {SESSIONS_PER_USER} sessions, plus {CYCLE_USERS} sign-in users", flush=True)
        started = time.monotonic()
        seeded = {s.name: seed(s, users, hashes[s.name], args.work_dir) for s in systems}
        log(f"seeded in {time.monotonic() - started:.1f} s")
        return seeded

    def rounds(label, workload, seeded, peer_may_stall=False):
        runs = {s.name: [] for s in systems}
        for r in range(args.rounds):
            for system in systems:
                result = workload(system, seeded[system.name], args, log_path)
                check_answers(system.name, label, result, log_path, peer_may_stall)
                runs[system.name].append(result)
                log(f"{label} round {r + 1}/{args.rounds} {system.name}: {result['rate']:,.1f}/s, p99 {result['p99_ms']:.1f} ms, {result['commands_per']:.2f} commands each, ready in {result['ready_s'] * 1e3:.0f} ms")
        return runs

    results = {}
    seeded = seed_all(args.users)
    print("==> ceiling: raw find_one({_id}) by the Rust driver from 32 tasks", flush=True)
    ceilings = []
    for r in range(args.rounds):
        ceilings.append(run_ceiling(args)["rate"])
        log(f"ceiling round {r + 1}/{args.rounds}: {ceilings[-1]:,.0f} finds/s")
    ceiling = statistics.median(ceilings)
    print(f"==> page: GET {Sessionguard.page_path}, {args.connections} connections, {args.duration} s", flush=True)
    results["page"] = rounds("page", run_page, seeded)
    # Right after the page runs: the later workloads end sessions, the sampled one among them.
    print(f"==> first load: {args.first_loads} cold loads of {Sessionguard.page_path} in Chromium, {args.latency_ms} ms latency, {args.down_kbit} kbit/s down", flush=True)
    first_load = run_first_load(systems[0], seeded[systems[0].name], args, log_path)
    log(f"first load: {first_load}")
    print(f"==> login-logout: {args.cycle_connections} connections, {args.duration} s", flush=True)
    results["login-logout"] = rounds("login-logout", run_cycle, seeded)
    print(f"==> logout-everywhere: one user with {args.everywhere_sessions} sessions", flush=True)
    results["logout-everywhere"] = rounds("logout-everywhere", run_everywhere, seeded)
    print(f"==> sign-in timing: {args.timing_attempts} wrong sign-ins each for known and unknown emails, interleaved", flush=True)
    timing = run_sign_in_timing(systems[0], seeded[systems[0].name], args, log_path)
    seeded = seed_all(args.scale_users)
    print(f"==> scale: the page again with {args.scale_users * SESSIONS_PER_USER} sessions stored", flush=True)
    # With this many sessions the peer's regex scan may answer nothing within wrk's timeout: that is the finding.
    results["scale"] = rounds("scale", run_page, seeded, peer_may_stall=True)

    print(f"\n## Results ({args.build} build of sessionguard, {args.database}, {args.rounds} round(s) of {args.duration} s)\n")
    print(f"ceiling: {ceiling:,.0f} `find_one({{_id}})` per second (median of {args.rounds}: {', '.join(f'{c:,.0f}' for c in ceilings)})")
    report("page", "request", results["page"], ceiling, f"N = {args.users} users × {SESSIONS_PER_USER} sessions, {args.connections} connections.")
    report("login-logout", "cycle", results["login-logout"], None, f"{args.cycle_connections} connections; a cycle is sign in, log out, and the old cookie refused.")
    report("logout-everywhere", "call", results["logout-everywhere"], None, f"One call ends {args.everywhere_sessions} sessions of one user; the rate is 1 / its time.")
    report("scale", "request", results["scale"], ceiling, f"N = {args.scale_users} users × {SESSIONS_PER_USER} sessions = {args.scale_users * SESSIONS_PER_USER} stored.")
    gap = abs(timing["known"] - timing["unknown"]) / max(timing["known"], timing["unknown"])
    print("\n### sign-in timing (sessionguard)\n")
    print(f"Wrong password for an existing account: median {timing['known']:.1f} ms; unknown email: median {timing['unknown']:.1f} ms; "
          f"they differ by {gap:.1%} (target: within 10 %, {'met' if gap <= 0.10 else 'NOT met'}).")
    ready = {s.name: statistics.median(r["ready_s"] for runs in results.values() for r in runs[s.name]) for s in systems}
    print("\n### start-up\n")
    for name, seconds in ready.items():
        print(f"- {name}: /healthz answered {seconds * 1e3:.0f} ms after the process started (median over every run)")
    print("\n### server CPU per page view\n")
    for system, runs in results["page"].items():
        print(f"- {system}: {median(runs, 'cpu_ms_per'):.3f} ms of CPU per {Sessionguard.page_path if system == 'sessionguard' else 'page'} view (median of {len(runs)})")
    print("\n### first load on a slow connection (sessionguard)\n")
    print(f"Until `<body data-live=\"connected\">`, cold, {args.latency_ms} ms latency, {args.down_kbit} kbit/s down, {args.up_kbit} kbit/s up: "
          f"median {first_load['median_ms'] / 1e3:.2f} s of {len(first_load['times_ms'])} ({', '.join(f'{t / 1e3:.2f}' for t in first_load['times_ms'])} s); "
          f"{statistics.median(first_load['bytes']) / 1024:,.0f} KiB on the wire per load (target: 1.5 s, {'met' if first_load['median_ms'] <= 1500 else 'NOT met'}).")
    print("\n### hydrate bundle\n")
    for name, raw, gz, br in bundle_sizes(args.site_root):
        served = f", {br / 1024:,.0f} KiB as the build's brotli (what a browser downloads)" if br is not None else ", compressed per request (no .br: not a release build)"
        print(f"- {name}: {raw / 1024:,.0f} KiB raw, {gz / 1024:,.0f} KiB gzipped{served}")
    with open(os.path.join(args.work_dir, "results.json"), "w") as out:
        json.dump({"ceiling": ceilings, "results": results, "ready_s": ready, "sign_in_timing_ms": timing, "first_load": first_load}, out, indent=1, default=str)
    # sessionguard's guarantee is checked; the peer's lapses are a finding, reported above.
    survived = sum(r.get("survived", 0) for runs in results.values() for r in runs["sessionguard"])
    if survived:
        raise SystemExit(f"sessionguard: a logged-out cookie still reached the page in {survived} cycles")


if __name__ == "__main__":
    main()
