#!/usr/bin/env bash
# Installs what the tests and the demo need, quietly and only what is missing.
# Debian packages are looked up by the command (or file) they provide, so a machine that already has them is left alone.
set -euo pipefail

# command-or-path:package
needs=(
  xorriso:xorriso
  isoinfo:genisoimage
  genisoimage:genisoimage
  7z:p7zip-full
  bsdtar:libarchive-tools
  qemu-system-x86_64:qemu-system-x86
  qemu-img:qemu-utils
  zstd:zstd
  /usr/share/OVMF/OVMF_CODE_4M.fd:ovmf
  /usr/lib/grub/i386-pc/cdboot.img:grub-pc-bin
  /usr/lib/grub/x86_64-efi/normal.mod:grub-efi-amd64-bin
  grub-mkimage:grub-common
  mformat:mtools
  mkfs.fat:dosfstools
  fsck.fat:dosfstools
  sfdisk:fdisk
  wimlib-imagex:wimtools
  /usr/lib/syslinux/modules/bios/chain.c32:syslinux-common
  /usr/lib/SYSLINUX/mbr.bin:syslinux
  osslsigncode:osslsigncode
  pdftotext:poppler-utils
  tmux:tmux
  bmaptool:bmap-tools
  chromium:chromium
)
if [ "${LIFEBOAT_WITH_WINE:-0}" = 1 ]; then needs+=(wine:wine wine64:wine64); fi

missing=()
for need in "${needs[@]}"; do
  what=${need%%:*} pkg=${need##*:}
  if [[ $what == /* ]]; then [ -e "$what" ] && continue
  else command -v "$what" >/dev/null 2>&1 && continue; fi
  [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
