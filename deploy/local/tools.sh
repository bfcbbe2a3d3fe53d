#!/usr/bin/env bash
# The operations tools the tests use, from Debian's packages when missing: promtool and
# prometheus (package prometheus: the alert rules' checks and the Prometheus integration test) and
# pg_dump/pg_restore/psql (postgresql-client: deploy/backup.sh and restore.sh). Without root or
# apt-get it only says what is missing (the tests that need a tool then skip, naming it).
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

missing=()
command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v pg_dump >/dev/null 2>&1 && command -v pg_restore >/dev/null 2>&1 &&
    command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
((${#missing[@]})) || exit 0

if ! need_root || ! command -v apt-get >/dev/null 2>&1; then
    say "Missing ${missing[*]}: the tests that need them will be skipped."
    info "to install: ${AS_ROOT}apt-get install -y --no-install-recommends ${missing[*]}"
    exit 0
fi
say "Installing ${missing[*]} (apt-get)"
# the packaged Prometheus would start a system-wide server on :9090: the tests start their own
policy="$(mktemp)"
printf '#!/bin/sh\nexit 101\n' >"$policy"
chmod +x "$policy"
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    "${SUDO[@]}" cp "$policy" /usr/sbin/policy-rc.d
    trap '"${SUDO[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
fi
rm -f "$policy"
if ! DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q --no-install-recommends \
    "${missing[@]}" >/dev/null 2>&1; then
    "${SUDO[@]}" apt-get update -q >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q --no-install-recommends \
        "${missing[@]}" >/dev/null
fi
if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]] && [[ " ${missing[*]} " == *" prometheus "* ]]; then
    "${SUDO[@]}" systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
say "Installed ${missing[*]}"
