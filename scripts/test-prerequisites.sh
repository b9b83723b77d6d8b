#!/bin/sh
# Runs first in `npm test`: the tests need a few Debian packages besides node_modules (the ssh tests
# start their own sshd on 127.0.0.1 and connect with the system ssh; the dashboard test drives
# /usr/bin/chromium; the JUnit test checks the report with xmllint; the secret reader is tried under busybox's ash; the Python spawner is tested with /usr/bin/python3). Whatever is missing is installed with apt-get when we are root and apt-get
# exists; otherwise this prints the one command to run and fails, so no test starts half-equipped.
set -eu

# One line per Debian package: the package, then what the tests run from it. An absolute path
# counts when it is executable (the first of several that exists is enough); a bare name is looked
# up in PATH. To need another package, add its line here.
REQUIREMENTS='
openssh-server /usr/sbin/sshd /usr/local/sbin/sshd /usr/bin/sshd
openssh-client ssh ssh-keygen
chromium       /usr/bin/chromium
postgresql     /usr/lib/postgresql/*/bin/initdb
libxml2-utils  xmllint
busybox        /usr/bin/busybox /bin/busybox
python3        /usr/bin/python3
'

# Succeeds when the programs of one package are there: every bare name, and one of the paths.
satisfied() {
  paths=none
  for program in "$@"; do
    case "$program" in
      /*) [ "$paths" = found ] || if [ -x "$program" ]; then paths=found; else paths=missing; fi ;;
      *) command -v "$program" >/dev/null 2>&1 || return 1 ;;
    esac
  done
  [ "$paths" != missing ]
}

# The packages of REQUIREMENTS that are not satisfied, on one line.
missing_packages() {
  printf '%s\n' "$REQUIREMENTS" | while read -r package programs; do
    # shellcheck disable=SC2086 # split into programs (and expand globs, e.g. a versioned directory)
    [ -z "$package" ] || satisfied $programs || printf '%s ' "$package"
  done
}

missing=$(missing_packages)
[ -n "$missing" ] || exit 0
missing=${missing% }

install="apt-get install -y --no-install-recommends $missing"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "npm test: missing test prerequisites and no apt-get to install them; install these Debian packages (or your system's equivalents), then rerun: $missing" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "npm test: missing test prerequisites ($missing); install them, then rerun: sudo apt-get update && sudo $install" >&2
  exit 1
fi

echo "npm test: installing test prerequisites with apt-get: $missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # one word per package
apt-get install -y -qq --no-install-recommends $missing >/dev/null

still=$(missing_packages)
if [ -n "$still" ]; then
  echo "npm test: still missing after apt-get install: ${still% } (what the tests run from each package is listed in scripts/test-prerequisites.sh)" >&2
  exit 1
fi
