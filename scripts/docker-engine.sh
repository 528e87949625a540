#!/usr/bin/env bash
# Make a local Docker engine and a tiny offline image available for tests.
#
# Idempotent:
#   - if `docker info` already answers, the engine is left untouched;
#   - otherwise installs docker.io/iptables/busybox-static (apt) when dockerd is
#     missing, starts dockerd in the background (log: $DOCKERD_LOG) and waits for it;
#   - builds `sessionkeeper-busybox:latest` from the static busybox binary
#     (no registry pulls) when that image does not exist yet.
#
# Environment overrides:
#   DOCKERD_LOG            dockerd log file                 (default /tmp/dockerd.log)
#   DOCKER_READY_TIMEOUT   seconds to wait for `docker info` (default 60)
#   DOCKER_STORAGE_DRIVER  force a storage driver (default: overlay2 if usable, else vfs)
set -euo pipefail

IMAGE="sessionkeeper-busybox:latest"
DOCKERD_LOG="${DOCKERD_LOG:-/tmp/dockerd.log}"
READY_TIMEOUT="${DOCKER_READY_TIMEOUT:-60}"
APT_PACKAGES=(docker.io iptables busybox-static)

log() { echo "docker-engine: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo -n); fi
as_root() {
  if [ "${#SUDO[@]}" -gt 0 ] && ! command -v sudo >/dev/null 2>&1; then
    die "need root (or passwordless sudo) to run: $*"
  fi
  "${SUDO[@]}" "$@"
}

engine_up() { docker info >/dev/null 2>&1; }

# A dockerd that is alive, not a killed one waiting to be reaped (a zombie would be waited on for nothing).
live_dockerd() {
  local pid
  for pid in $(pgrep -x dockerd 2>/dev/null); do
    case "$(ps -o stat= -p "$pid" 2>/dev/null)" in Z* | "") ;; *) return 0 ;; esac
  done
  return 1
}

apt_install() {
  log "installing ${APT_PACKAGES[*]} via apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${APT_PACKAGES[@]}" >/dev/null
}

busybox_static_ok() {
  [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1
}

# overlay2 needs a working overlay mount on the filesystem backing /var/lib/docker.
pick_storage_driver() {
  if [ -n "${DOCKER_STORAGE_DRIVER:-}" ]; then echo "$DOCKER_STORAGE_DRIVER"; return; fi
  as_root mkdir -p /var/lib/docker
  local t ok=0
  t="$(as_root mktemp -d /var/lib/docker/ovl-probe.XXXXXX)"
  as_root mkdir -p "$t/l" "$t/u" "$t/w" "$t/m"
  if as_root mount -t overlay overlay -o "lowerdir=$t/l,upperdir=$t/u,workdir=$t/w" "$t/m" 2>/dev/null; then
    ok=1
    as_root umount "$t/m" || true
  fi
  as_root rm -rf "$t"
  if [ "$ok" -eq 1 ]; then echo overlay2; else echo vfs; fi
}

# Without a usable iptables (nat table) dockerd refuses to start; fall back to no NAT rules.
iptables_flags() {
  if command -v iptables >/dev/null 2>&1 && as_root iptables -t nat -L -n >/dev/null 2>&1; then
    return
  fi
  if command -v iptables-legacy >/dev/null 2>&1 && as_root iptables-legacy -t nat -L -n >/dev/null 2>&1 \
     && command -v update-alternatives >/dev/null 2>&1; then
    as_root update-alternatives --set iptables /usr/sbin/iptables-legacy >/dev/null 2>&1 && return
  fi
  echo "--iptables=false --ip-masq=false"
}

wait_ready() {
  local deadline=$((SECONDS + READY_TIMEOUT)) pid="${1:-}"
  until engine_up; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 2; fi
    if [ "$SECONDS" -ge "$deadline" ]; then return 1; fi
    sleep 0.5
  done
}

start_dockerd() {
  local driver="$1" extra pid
  extra="$(iptables_flags)"
  log "starting dockerd --storage-driver=$driver${extra:+ $extra} (log: $DOCKERD_LOG)"
  # shellcheck disable=SC2086
  # (not via as_root: a backgrounded function would leave a bash subshell as dockerd's parent)
  "${SUDO[@]}" setsid dockerd --storage-driver="$driver" $extra >>"$DOCKERD_LOG" 2>&1 </dev/null &
  pid=$!
  wait_ready "$pid"
}

ensure_engine() {
  if engine_up; then return; fi

  if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1 || ! busybox_static_ok; then
    apt_install
  fi
  command -v dockerd >/dev/null 2>&1 || die "dockerd still missing after apt-get install"

  # Another dockerd may already be coming up (e.g. started concurrently): just wait for it.
  if live_dockerd; then
    log "dockerd process already running; waiting for it"
    wait_ready "" && return
    die "dockerd is running but 'docker info' did not answer within ${READY_TIMEOUT}s; see $DOCKERD_LOG:
$(tail -n 30 "$DOCKERD_LOG" 2>/dev/null)"
  fi
  # A dockerd killed outright leaves its pid file; if that pid is reused, dockerd refuses to start.
  as_root rm -f /var/run/docker.pid

  local driver rc=0 logged
  driver="$(pick_storage_driver)"
  logged=$( { wc -l <"$DOCKERD_LOG"; } 2>/dev/null || echo 0)
  start_dockerd "$driver" || rc=$?
  if [ "$rc" -eq 2 ]; then
    # dockerd exited at once. A storage driver it cannot use falls back to vfs; anything else (the
    # containerd of a dockerd that was killed still going away) gets one more try as it was.
    if tail -n +"$((logged + 1))" "$DOCKERD_LOG" | grep -q "error initializing graphdriver" \
       && [ "$driver" != vfs ] && [ -z "${DOCKER_STORAGE_DRIVER:-}" ]; then
      log "dockerd cannot use storage-driver=$driver; retrying with vfs"
      driver=vfs
    else
      log "dockerd exited at start; retrying once"
      sleep 2
    fi
    rc=0
    start_dockerd "$driver" || rc=$?
  fi
  if [ "$rc" -ne 0 ]; then
    die "docker engine not ready after ${READY_TIMEOUT}s (rc=$rc). Last lines of $DOCKERD_LOG:
$(tail -n 30 "$DOCKERD_LOG" 2>/dev/null)"
  fi
}

ensure_image() {
  if docker image inspect "$IMAGE" >/dev/null 2>&1; then return; fi
  busybox_static_ok || apt_install
  busybox_static_ok || die "/bin/busybox (busybox-static) not available"
  log "building $IMAGE from /bin/busybox"
  BUILD_ROOT="$(mktemp -d)"
  trap 'rm -rf "$BUILD_ROOT"' EXIT
  local root="$BUILD_ROOT"
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,proc,sys,dev}
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  local applet
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  tar -C "$root" --numeric-owner -c . \
    | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["/bin/sh"]' \
        - "$IMAGE" >/dev/null
}

ensure_engine
ensure_image
echo "docker engine ready ($(docker version --format '{{.Server.Version}}' 2>/dev/null)), image $IMAGE"
