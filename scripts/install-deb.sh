#!/usr/bin/env bash
# Installs Debian packages for commands that are missing: each argument is COMMAND or
# COMMAND=PACKAGE (the package named like the command by default). Quiet when every command is
# there. `apt-get update` runs only when the package lists do not know a package yet.
#
#   bash scripts/install-deb.sh wrk valgrind
set -euo pipefail

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
for spec in "$@"; do
  command="${spec%%=*}"
  package="${spec#*=}"
  if command -v "$command" >/dev/null 2>&1; then
    continue
  fi
  echo "install-deb.sh: installing $package (for $command)" >&2
  if ! $sudo apt-get install -y -q "$package" >/dev/null; then
    $sudo apt-get update -q >/dev/null
    $sudo apt-get install -y -q "$package" >/dev/null
  fi
done
