#!/usr/bin/env bash
# The baseline of bench/run-overhead.ts: the git work of one Nightshift `script` run, by hand.
#
#   bench/run-overhead.baseline.sh SOURCE COMMIT COMMAND BRANCH [REUSED_CLONE]
#
# Clones SOURCE with `--shared` (borrows its objects: no copy, no hard links; the cheapest
# honest way to get a fresh checkout without a cache kept between runs), checks COMMIT out
# detached, runs COMMAND with `sh -ec` in the checkout, commits everything when anything
# changed (nothing is committed or pushed otherwise, as Nightshift concludes `no_changes`),
# pushes the commit to SOURCE as refs/heads/BRANCH, and removes the checkout.
#
# With REUSED_CLONE, the floor of that git work instead: a clone kept between calls (made by
# the first) is reset to COMMIT (`checkout --force` + `clean -fdx`, which rewrite only what the
# last call changed) and kept afterwards. Not isolated, so not a fair baseline: it shows what
# the git work costs without writing out the repository's files.
set -euo pipefail

source_repo=$1
commit=$2
command=$3
branch=$4

reused=${5:-}

if [ -n "$reused" ]; then
  [ -d "$reused" ] || git clone --quiet --shared --no-checkout -- "$source_repo" "$reused"
  cd "$reused"
  git checkout --quiet --force --detach "$commit" --
  git clean -fdxq
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/nightshift-bench-baseline-XXXXXX")
  trap 'rm -rf "$work"' EXIT
  git clone --quiet --shared --no-checkout -- "$source_repo" "$work/repo"
  cd "$work/repo"
  git checkout --quiet --detach "$commit" --
fi
sh -ec "$command"
git add -A
if ! git diff --cached --quiet "$commit" --; then
  git commit --quiet --no-verify -m "bench: $command"
  git push --quiet --no-verify -- "$source_repo" "+HEAD:refs/heads/$branch"
fi
