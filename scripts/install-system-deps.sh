#!/usr/bin/env bash
# Install the Debian programs the test suite runs for real, if missing: bcftools, samtools, tabix
# (NGS fixtures), chromium (report.html is rendered in headless Chromium), slurm-wlm and munge
# (the workflow runs through a real single-node SLURM cluster, see scripts/slurm-local.sh).
# Idempotent: does nothing when everything is present. Needs root (or sudo) only when installing.
set -euo pipefail

need=()
command -v bcftools >/dev/null 2>&1 || need+=(bcftools)
command -v samtools >/dev/null 2>&1 || need+=(samtools)
command -v tabix    >/dev/null 2>&1 || need+=(tabix)
# Debian's own chromium package: a browser downloaded by a test library would not be reproducible
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v slurmctld >/dev/null 2>&1 || need+=(slurm-wlm)
command -v munged   >/dev/null 2>&1 || need+=(munge)

[ ${#need[@]} -eq 0 ] && exit 0

echo "install-system-deps: installing ${need[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
