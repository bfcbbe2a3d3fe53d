#!/bin/sh
# The image's entrypoint: for every variable NAME_FILE in the environment, export NAME with the
# contents of that file (Compose secrets under /run/secrets, mounted Kubernetes Secrets), then run
# the command. A variable given both ways is an error, so a forgotten default cannot win.
set -eu
for name in $(env | sed -n 's/^\([A-Z][A-Z0-9_]*\)_FILE=.*/\1/p'); do
    file="$(printenv "${name}_FILE")"
    if [ -n "$(printenv "$name" || true)" ]; then
        echo "docker-entrypoint: both $name and ${name}_FILE are set; set one" >&2
        exit 1
    fi
    if [ ! -r "$file" ]; then
        echo "docker-entrypoint: ${name}_FILE names $file, which cannot be read" >&2
        exit 1
    fi
    value="$(cat "$file")"
    export "$name=$value"
    unset "${name}_FILE"
done
exec "$@"
