#!/usr/bin/env bash
# Install or upgrade Satellite from this offline bundle. Nothing is fetched from any network.
#
#   sudo ./install.sh                 # the real thing: /opt/satellite, /etc/satellite, /var/lib/satellite
#   ./install.sh --root DIR           # everything under DIR (tests, staging); no user, no systemctl
#
# Options: --root DIR   install under DIR instead of /
#          --no-system  do not create the service user, chown, or call systemctl (implied by --root
#                       and when not run as root)
# Upgrading is running a newer bundle's install.sh: settings and data stay; the service migrates
# the data when it next starts (`satellite init` runs before `satellite serve`).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root=""
system=1
python="${PYTHON:-python3}"
while [ $# -gt 0 ]; do
    case "$1" in
        --root) root="$(mkdir -p "$2" && cd "$2" && pwd)"; system=0; shift 2 ;;
        --no-system) system=0; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" -eq 0 ] || system=0

say() { printf '%s\n' "$*"; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }

version="$(sed -n 's/^version=//p' "$here/BUNDLE-INFO")"
want_python="$(sed -n 's/^python=//p' "$here/BUNDLE-INFO")"
command -v "$python" >/dev/null || die "$python is not installed; Satellite needs Python $want_python"
have_python="$("$python" -c 'import sys; print(f"{sys.version_info.major}.{sys.version_info.minor}")')"
[ "$have_python" = "$want_python" ] || \
    die "this bundle was built for Python $want_python but $python is $have_python; build the bundle on this OS release"
(cd "$here" && sha256sum --quiet --check SHA256SUMS) || die "the bundle's wheels do not match SHA256SUMS"

prefix="$root/opt/satellite"
venv="$prefix/venv"
confdir="$root/etc/satellite"
datadir="$root/var/lib/satellite"
docdir="$prefix/share"

if [ "$system" -eq 1 ] && ! id satellite >/dev/null 2>&1; then
    if command -v systemd-sysusers >/dev/null; then
        systemd-sysusers "$here/sysusers.d/satellite.conf"
    else
        useradd --system --home-dir /var/lib/satellite --shell /usr/sbin/nologin satellite
    fi
    say "created the service user 'satellite'"
fi

upgrade=0
[ -x "$venv/bin/satellite" ] && upgrade=1
[ -d "$venv" ] || "$python" -m venv "$venv"
# Only this bundle's wheels: no index, and no pip configuration that could add one.
pip_offline() {
    env -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL -u PIP_FIND_LINKS -u PIP_CONSTRAINT PIP_CONFIG_FILE=/dev/null \
        "$venv/bin/python" -m pip install --quiet --no-index "$@"
}
# This bundle's own Satellite first: pip would keep an installed one of the same version number,
# and a newer build may carry that number too. Then what it needs, at the bundle's versions.
pip_offline --no-deps --force-reinstall "$here"/wheels/satellite-"$version"-*.whl
pip_offline --find-links "$here/wheels" --upgrade --upgrade-strategy eager "satellite==$version"

install -d -m 0755 "$confdir" "$docdir" "$root/etc/systemd/system" "$root/usr/lib/sysusers.d" \
    "$root/usr/lib/tmpfiles.d" "$root/etc/nginx/sites-available" "$root/usr/local/bin"
install -d -m 0700 "$datadir"
if [ -f "$confdir/satellite.toml" ]; then
    install -m 0644 "$here/config/satellite.toml" "$confdir/satellite.toml.example"
else
    "$here/site-config.sh" "$here/config/satellite.toml" "$confdir/satellite.toml" "$datadir"
fi
sed -e "s|@VENV@|/opt/satellite/venv|g; s|@CONFDIR@|/etc/satellite|g; s|@DATADIR@|/var/lib/satellite|g" \
    -e "s|@BACKUPDIR@|/srv/backups/satellite|g" \
    -e "s|@DOCDIR@|/opt/satellite/share|g" \
    "$here/systemd/satellite.service" > "$root/etc/systemd/system/satellite.service"
install -m 0644 "$here/sysusers.d/satellite.conf" "$root/usr/lib/sysusers.d/satellite.conf"
install -m 0644 "$here/tmpfiles.d/satellite.conf" "$root/usr/lib/tmpfiles.d/satellite.conf"
nginx_site="$root/etc/nginx/sites-available/satellite.conf"
if [ -f "$nginx_site" ]; then
    install -m 0644 "$here/nginx/satellite.conf" "$nginx_site.new"
else
    install -m 0644 "$here/nginx/satellite.conf" "$nginx_site"
fi
# Every document (operations, devices, API, ...), as the unit's Documentation= line expects.
[ -d "$here/docs" ] && cp -R "$here/docs/." "$docdir/" && chmod -R u=rwX,go=rX "$docdir"
for command in satellite satellite-central satellite-agent; do
    ln -sf "$venv/bin/$command" "$root/usr/local/bin/$command"
done

if [ "$system" -eq 1 ]; then
    chown -R satellite:satellite "$datadir"
    chgrp satellite "$confdir/satellite.toml"
    command -v systemctl >/dev/null && systemctl daemon-reload || true
fi

if [ "$upgrade" -eq 1 ]; then
    say "Upgraded Satellite to $version in $prefix (settings in $confdir and data in $datadir kept)."
    say "Next: systemctl restart satellite   (it migrates the data as it starts)"
else
    say "Installed Satellite $version in $prefix."
    say "Next steps:"
    say "  1. edit $confdir/satellite.toml: device_url (the https:// name devices use), database_url"
    say "  2. sudo -u satellite SATELLITE_CONFIG=$confdir/satellite.toml satellite init --central-key central.pub"
    say "  3. a certificate: satellite tls request --hostname HOST (or tls self-signed), then tls install"
    say "  4. enable the nginx site $nginx_site (set server_name), nginx -t, reload nginx"
    say "  5. systemctl enable --now satellite; curl -k https://HOST/healthz"
    say "See $docdir/operations.md."
fi
