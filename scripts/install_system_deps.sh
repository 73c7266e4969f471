#!/usr/bin/env bash
# Installs the Debian packages ClinAudio needs (audio, virtual sound server, X for screenshots).
# As root: apt-get. With password-less sudo: sudo apt-get. Otherwise: a clear message naming them.
set -euo pipefail
PKGS=(
  libportaudio2 pulseaudio pulseaudio-utils libasound2-plugins   # audio I/O + virtual sound server
  xvfb xauth                                                      # a real X server for screenshots
  libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0 libxcb-render-util0
  libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0   # Qt's xcb platform plugin
  libegl1 libgl1 libfontconfig1 libdbus-1-3 fonts-dejavu-core      # Qt runtime
  postgresql                                                      # team projects: tests start a throwaway server
  libmagic1                                                       # sed_eval -> dcase_util file-type checks
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ClinAudio: not a Debian/Ubuntu system; please install the equivalents of: ${missing[*]}" >&2
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo"
else
  echo "ClinAudio: missing Debian packages: ${missing[*]}" >&2
  echo "ClinAudio: install them with: sudo apt-get install -y ${missing[*]}" >&2
  echo "ClinAudio: continuing; audio playback, the live panel and screenshot tests may not work." >&2
  exit 0
fi
echo "ClinAudio: installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
