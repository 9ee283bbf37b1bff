#!/usr/bin/env bash
# Install the Debian packages the test suite needs and this machine lacks.
#
# Idempotent and non-interactive: checks each package first (`command -v` for the
# program it provides, else `dpkg -s`), runs `apt-get update` once and only when
# something is missing, and prints what it installs. Needs root (or sudo) only then.
set -euo pipefail

# One entry per line: "<debian package>[:<program it provides>]".
PACKAGES=(
    curl:curl  # tests/e2e runs the README's tour, which uses curl
    redis-server:redis-server  # tests/scale: Celery broker and channel layer
    postgresql:pg_ctlcluster   # tests/scale: the scale-out database; the sql component's tests
    mariadb-server:mariadbd    # the sql component's tests: MySQL's dialect on a real server
    chromium:chromium          # tests/e2e/browser: Playwright drives /usr/bin/chromium
    # The document component reads DOC and PPT (and renders DOCX/PPTX pages) through
    # LibreOffice, as Instill does; about 60 packages, a minute to install.
    libreoffice-writer-nogui:libreoffice
    libreoffice-impress-nogui
    # The video component (and the audio component for formats other than WAV) run
    # ffmpeg; the server starts without it. espeak-ng speaks the audio tests' speech.
    ffmpeg:ffmpeg
    espeak-ng:espeak-ng
    # The email component's tests read mail from a real IMAP server (Dovecot), which
    # they start themselves on free ports; the package's own service is not used.
    dovecot-imapd:/usr/sbin/dovecot
)

# Extra packages may be asked for on the command line, same format
# (e.g. `scripts/install-system-deps.sh hey` before `make bench`).
PACKAGES+=("$@")

is_present() {
    local package=$1 program=$2
    if [[ -n $program ]] && command -v "$program" >/dev/null 2>&1; then
        return 0
    fi
    dpkg -s "$package" >/dev/null 2>&1 && dpkg -s "$package" 2>/dev/null | grep -q '^Status: install ok installed'
}

missing=()
for entry in "${PACKAGES[@]+"${PACKAGES[@]}"}"; do
    [[ -z $entry ]] && continue
    package=${entry%%:*}
    program=""
    [[ $entry == *:* ]] && program=${entry#*:}
    if ! is_present "$package" "$program"; then
        missing+=("$package")
    fi
done

if (( ${#missing[@]} == 0 )); then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system-deps: missing ${missing[*]}, and this is not a Debian/Ubuntu system; install them by hand." >&2
    exit 1
fi

sudo=()
if (( EUID != 0 )); then
    if command -v sudo >/dev/null 2>&1; then
        sudo=(sudo -n)
    else
        echo "install-system-deps: missing ${missing[*]}; run this script as root to install them." >&2
        exit 1
    fi
fi

echo "install-system-deps: installing ${missing[*]}"
# apt and dpkg chatter goes to a log, shown only when something fails.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! "${sudo[@]+"${sudo[@]}"}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null >"$log" 2>&1 ||
    ! "${sudo[@]+"${sudo[@]}"}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >>"$log" 2>&1; then
    cat "$log" >&2
    echo "install-system-deps: failed to install ${missing[*]}" >&2
    exit 1
fi
echo "install-system-deps: installed ${missing[*]}"
