#!/usr/bin/env bash
# Writes small seed images for the fuzz targets into DIR/<target>/, made by qemu-img.
set -euo pipefail
out=$1
mkdir -p "$out"/{qcow2,vhd,vmdk,open_image}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -c 300000 < <(yes 'imagegate seed line') > "$tmp/src.raw"
truncate -s 1M "$tmp/src.raw"
qemu-img convert -f raw -O qcow2 -o cluster_size=512 "$tmp/src.raw" "$out/qcow2/plain.qcow2"
qemu-img convert -c -f raw -O qcow2 -o cluster_size=4096 "$tmp/src.raw" "$out/qcow2/zlib.qcow2"
qemu-img convert -c -f raw -O qcow2 -o cluster_size=16384,compression_type=zstd,extended_l2=on "$tmp/src.raw" "$out/qcow2/zstd-l2.qcow2"
qemu-img convert -f raw -O qcow2 -o compat=0.10,cluster_size=1024 "$tmp/src.raw" "$out/qcow2/v2.qcow2"
qemu-img convert -f raw -O vpc -o force_size=on "$tmp/src.raw" "$out/vhd/dynamic.vhd"
qemu-img convert -f raw -O vpc -o subformat=fixed "$tmp/src.raw" "$out/vhd/fixed.vhd"
qemu-img convert -f raw -O vmdk "$tmp/src.raw" "$out/vmdk/sparse.vmdk"
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$tmp/src.raw" "$out/vmdk/stream.vmdk"
cp "$out"/qcow2/* "$out"/vhd/* "$out"/vmdk/* "$out/open_image/"
echo "seeds in $out"
