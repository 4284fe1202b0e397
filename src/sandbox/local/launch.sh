#!/bin/sh
# Launcher of the Nightshift local sandbox. Every mode ends by exec'ing the next program, so the
# process Nightshift spawned keeps its pid (and process group) all the way down to bwrap.
#
#   hold LOWER STATE OWNER OVERLAY DISK  mount the tmpfs STATE/fstab lists (with one mount program):
#                                        STATE/tmp, STATE/home and, when DISK is not empty, STATE/disk
#                                        for the overlay's upper and work dirs (else STATE/upper,
#                                        STATE/work); then the workspace overlay (extra options
#                                        OVERLAY) on STATE/merged, make sure .git/hooks is a real
#                                        directory, print "ready", then wait until stdin closes
#                                        (Nightshift destroyed the sandbox or died); the mount
#                                        namespace lives as long as this process
#   etc DIR NAME...                      mount a small tmpfs on DIR holding /etc/NAME for each NAME
#                                        (bind-mounted, so always the host's current files) and empty
#                                        passwd, group and hosts (mount points for the sandbox's own),
#                                        print "ready", then wait until stdin closes. Holders start in
#                                        this mount namespace, so one bind shows the curated /etc
#   join PROCS... -- CMD...              write our pid to each cgroup.procs file, then exec CMD
#   enter STATE -- CMD...                (in a fresh mount namespace) show STATE at /tmp, so that the
#                                        unprivileged bwrap can reach it whatever its host path is
set -eu

mode=$1
shift
case $mode in
hold)
  lower=$1 state=$2 owner=$3
  upper=$state/upper work=$state/work
  mount -a -T "$state/fstab"
  if [ -n "$5" ]; then
    upper=$state/disk/upper work=$state/disk/work
    install -d -o "${owner%%:*}" -g "${owner#*:}" "$upper" "$work"
  fi
  mount -t overlay nightshift -o "lowerdir=$lower,upperdir=$upper,workdir=$work,$4" "$state/merged"
  # The sandbox binds .git/hooks read-only: it must exist and must not lead out of the workspace.
  git=$state/merged/.git
  if [ -d "$git" ] && [ ! -L "$git" ]; then
    if [ -L "$git/hooks" ] || { [ -e "$git/hooks" ] && [ ! -d "$git/hooks" ]; }; then rm -f "$git/hooks"; fi
    if [ -L "$git/config" ]; then rm -f "$git/config"; fi
    [ -d "$git/hooks" ] || mkdir "$git/hooks"
  fi
  echo ready
  while read -r _; do :; done
  ;;
etc)
  dir=$1
  shift
  mount -t tmpfs -o mode=0755,size=1m nightshift-etc "$dir"
  for name in passwd group hosts; do : >"$dir/$name"; done
  for name in "$@"; do
    if [ -d "/etc/$name" ]; then mkdir "$dir/$name"; else : >"$dir/$name"; fi
    mount --bind "/etc/$name" "$dir/$name"
  done
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
*)
  echo "launch.sh: unknown mode $mode" >&2
  exit 2
  ;;
esac
