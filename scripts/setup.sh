#!/usr/bin/env bash
# Installs what Nightshift needs, idempotently: Debian packages that are missing (git,
# bubblewrap, util-linux; with --tests also PostgreSQL and Chromium), the npm packages and the
# dashboard (web/dist).
# Usage: bash scripts/setup.sh [--tests]
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=false
[ "${1:-}" = "--tests" ] && with_tests=true

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "error: Nightshift needs Node.js 20.19 or newer (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

missing=()
command -v git >/dev/null || missing+=(git)
command -v bwrap >/dev/null || missing+=(bubblewrap)
{ command -v unshare && command -v setpriv && command -v prlimit; } >/dev/null || missing+=(util-linux)
command -v strace >/dev/null || missing+=(strace)
if $with_tests; then
  compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || missing+=(postgresql)
  command -v curl >/dev/null || missing+=(curl)
  # The dashboard's end-to-end tests drive Debian's Chromium (browsers cannot be downloaded).
  command -v chromium >/dev/null || missing+=(chromium)
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    apt_get=(apt-get)
  elif command -v sudo >/dev/null; then
    apt_get=(sudo apt-get)
  else
    echo "error: missing ${missing[*]}; install them with: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${apt_get[@]}" update -qq
  "${apt_get[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages: reinstall only when package-lock.json changed since the last install.
stamp=node_modules/.nightshift-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing npm packages"
  # `npm install` honours the lock file; `npm ci` of npm 11 rejects lock files with
  # platform-specific optional packages (npm/cli#9846).
  npm install --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

# The dashboard: rebuild only when its sources or the lock file changed since the last build.
web_stamp=web/dist/.nightshift-web.sha256
web_want=$(find web -path web/dist -prune -o -type f -print | LC_ALL=C sort | xargs sha256sum package-lock.json | sha256sum | cut -d' ' -f1)
if [ ! -f "$web_stamp" ] || [ "$(cat "$web_stamp")" != "$web_want" ]; then
  echo "building the dashboard"
  npm run --silent build:web
  echo "$web_want" > "$web_stamp"
fi

# The agent CLIs the harness tests drive (Claude Code, Codex), into the suite's tools cache;
# a no-op when the pinned versions are already there.
if $with_tests; then
  export NIGHTSHIFT_TOOLS_DIR="${NIGHTSHIFT_TOOLS_DIR:-$PWD/node_modules/.cache/nightshift-tools}"
  node bin/nightshift.js harness install --all
fi
