#!/usr/bin/env bash
# The baseline of bench/fleet.ts: the git work of one fleet repo, by hand.
#
#   bench/fleet.baseline.sh REPO CODEMOD TEST BRANCH
#
# Clones REPO with `--shared` into a temp dir, checks out its default branch, runs CODEMOD and
# TEST with `sh -ec`, commits everything and pushes it to REPO as refs/heads/BRANCH, then
# removes the clone. bench/fleet.ts runs it over every repo with `xargs -P` at the fleet's
# concurrency. With BENCH_BWRAP=1, CODEMOD and TEST run in one bubblewrap sandbox (every
# namespace, no capabilities, the host's /usr read-only, only the clone writable): the same
# git work with kernel isolation and nothing else.
set -euo pipefail

repo=$1
codemod=$2
test_command=$3
branch=$4

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone --quiet --shared -- "$repo" "$work/clone"
cd "$work/clone"
if [ "${BENCH_BWRAP:-}" = 1 ]; then
  bwrap --unshare-all --unshare-user --disable-userns --cap-drop ALL --die-with-parent \
    --tmpfs / --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64 \
    --proc /proc --dev /dev --tmpfs /tmp --bind "$work/clone" /workspace --chdir /workspace \
    -- sh -ec "$codemod; $test_command"
else
  sh -ec "$codemod"
  sh -ec "$test_command"
fi
git add -A
if ! git diff --cached --quiet; then
  git -c user.name=baseline -c user.email=baseline@localhost commit --quiet -m "baseline codemod"
  git push --quiet --force origin "HEAD:refs/heads/$branch"
fi
