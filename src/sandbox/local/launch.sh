#!/bin/sh
# Launcher of the Nightshift local sandbox. Every mode ends by exec'ing the next program, so the
# process Nightshift spawned keeps its pid (and process group) all the way down to bwrap.
#
#   hold LOWER UPPER WORK MERGED [OPTS]  mount the workspace overlay on MERGED, print "ready", then
#                                        wait until stdin closes (Nightshift destroyed the sandbox or
#                                        died); the mount namespace lives as long as this process
#   join PROCS... -- CMD...              write our pid to each cgroup.procs file, then exec CMD
#   enter STATE -- CMD...                (in a fresh mount namespace) show STATE at /tmp, so that the
#                                        unprivileged bwrap can reach it whatever its host path is
#   cd DIR -- CMD...                     change to DIR (after entering the namespace), then exec CMD
set -eu

mode=$1
shift
case $mode in
hold)
  opts="lowerdir=$1,upperdir=$2,workdir=$3"
  if [ -n "${5:-}" ]; then opts="$opts,$5"; fi
  mount -t overlay nightshift -o "$opts" "$4"
  echo ready
  while read -r _; do :; done
  ;;
join)
  while [ "$1" != -- ]; do
    echo $$ >"$1"
    shift
  done
  shift
  exec "$@"
  ;;
enter)
  mount --rbind "$1" /tmp
  shift 2
  exec "$@"
  ;;
cd)
  cd "$1"
  shift 2
  exec "$@"
  ;;
*)
  echo "launch.sh: unknown mode $mode" >&2
  exit 2
  ;;
esac
