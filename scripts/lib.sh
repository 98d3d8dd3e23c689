# Shared helpers for scripts/setup, scripts/dev and scripts/test. Source it; do not run it.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
DB_VENV="$TOOLS/secantusdb"

# Pinned tool versions (see DESIGN.md §9 for why these).
CARGO_LEPTOS_VERSION="0.3.10"
WASM_BINDGEN_VERSION="0.2.129"
SECANTUSDB_VERSION="0.7.0b3"

# Where cargo-leptos finds wasm-bindgen and wasm-opt instead of downloading them.
export PATH="$ROOT/scripts/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"

# cargo-leptos builds debug binaries with LEPTOS_OUTPUT_NAME set and `--cfg erase_components`
# added to RUSTFLAGS. `cargo test` must see exactly the same, or it compiles the whole
# dependency tree a second time; so RUSTFLAGS stays unset for cargo-leptos (it would add the
# flag twice) and is set for cargo test through cargo_test_env.
export LEPTOS_OUTPUT_NAME="sessionguard"
unset RUSTFLAGS
# CI builds once from a clean clone: incremental caches would only cost disk (gigabytes) and time.
if [[ "${CI:-}" == true ]]; then export CARGO_INCREMENTAL=0; fi
cargo_test_env() { RUSTFLAGS="--cfg erase_components" "$@"; }
# The features the tests and benches build with: the server, plus its test doubles.
TEST_FEATURES="ssr,test-util"

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
note() { printf '    %s\n' "$*"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

# A TCP port nobody is listening on right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for_port PORT SECONDS NAME: returns once something accepts connections on PORT.
wait_for_port() {
  local port=$1 seconds=$2 name=$3 i
  for ((i = 0; i < seconds * 10; i++)); do
    if python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1',$port)))" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  fail "$name did not start listening on port $port within ${seconds}s"
}

# The SecantusDB server, for scripts and for the tests that restart it.
SECANTUSD="$DB_VENV/bin/secantusd-py"

# start_mongodb PORT STORAGE LOGFILE [EXTRA FLAGS...]: starts SecantusDB in the background and
# sets MONGODB_PID. By default it is a single-node replica set (named "secantus"), which offers
# change streams; pass --standalone for a server without them. scripts/test also passes
# --enable-test-commands, for the fail-point tests.
start_mongodb() {
  local port=$1 storage=$2 log=$3
  shift 3
  [[ -x "$SECANTUSD" ]] || fail "SecantusDB is not installed; run scripts/setup"
  "$SECANTUSD" --host 127.0.0.1 --port "$port" --storage-path "$storage" "$@" >"$log" 2>&1 &
  MONGODB_PID=$!
  wait_for_port "$port" 60 "SecantusDB (log: $log)"
}

# stop_pid PID: stops a process this script started, waiting briefly for it to exit.
stop_pid() {
  local pid=$1 i
  kill "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}
