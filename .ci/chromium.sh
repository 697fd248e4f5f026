#!/usr/bin/env bash
# Headless Chromium and its WebDriver from Debian's packages, for the test that opens the HTML health report.
#
#   .ci/chromium.sh install   install `chromium` and `chromium-driver` unless both are on PATH (needs root and
#                             apt-get); prints what it did. Never fails the caller: without them the browser test
#                             is skipped with its reason printed.
#   .ci/chromium.sh check     exit 0 when both are on PATH, 1 otherwise
set -uo pipefail

say() { echo "chromium.sh: $*" >&2; }

have() { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; }

case "${1:-install}" in
    check)
        have
        ;;
    install)
        if have; then
            say "$(chromium --version 2>/dev/null | head -1) and chromedriver are installed"
            exit 0
        fi
        if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
            say "cannot install Chromium here (not root, or no apt-get): the HTML report's browser test will be skipped"
            exit 0
        fi
        export DEBIAN_FRONTEND=noninteractive
        say "installing chromium and chromium-driver from Debian's packages"
        apt-get install -y -q chromium chromium-driver >&2 \
            || { apt-get update -q >&2 && apt-get install -y -q chromium chromium-driver >&2; } \
            || say "installation failed: the HTML report's browser test will be skipped"
        exit 0
        ;;
    *)
        say "usage: .ci/chromium.sh install|check"
        exit 2
        ;;
esac
