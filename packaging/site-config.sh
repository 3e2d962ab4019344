#!/usr/bin/env bash
# Write the settings file of an installation behind the bundle's nginx TLS proxy:
#   site-config.sh TEMPLATE OUT DATADIR
# The template is config/satellite.toml (every setting at its default); the installation's
# differences are: the data dir, nginx on this machine as the trusted proxy, and the session
# cookie marked Secure since the UI is reached over HTTPS only (nginx redirects port 80).
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: site-config.sh TEMPLATE OUT DATADIR" >&2; exit 2; }
sed -e "s|^data_dir = .*|data_dir = \"$3\"|" \
    -e "s|^trusted_proxy = .*|trusted_proxy = \"127.0.0.1\"|" \
    -e "s|^secure_cookies = .*|secure_cookies = true|" \
    "$1" > "$2"
grep -q '^secure_cookies = true$' "$2" || { echo "site-config.sh: no secure_cookies line in $1" >&2; exit 1; }
chmod 0640 "$2"
