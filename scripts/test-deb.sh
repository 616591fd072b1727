#!/usr/bin/env bash
# scripts/test-deb.sh [FILE.deb] — the Debian package of this machine's architecture (amd64 here) on a clean
# Debian 12 (bookworm) chroot.
#  1. a debootstrap --variant=minbase chroot of bookworm, cached as a tarball in /var/cache/facescore-ci
#     (FACESCORE_CI_CACHE) so that the next run only unpacks it; the mirror is the one apt uses here
#     (/etc/apt/sources.list.d/debian.sources, else deb.debian.org; DEBIAN_MIRROR overrides);
#  2. `apt-get install ./facescore_*.deb` inside it (pulls the runtime libraries; .debs cached too); the
#     postinst must enable the unit (symlink) without systemd running;
#  3. the service started the way /lib/systemd/system/facescore.service says: its Environment= and
#     EnvironmentFile= (a /etc/facescore/env we write: FACESCORE_LISTEN=127.0.0.1:0, i.e. a free loopback port),
#     StateDirectory= (created, owned by an unprivileged uid like DynamicUser's), WorkingDirectory=, UMask=,
#     and the ExecStart= command line with ${VAR}s expanded, run in the chroot as that uid (systemd itself
#     cannot run there); GET /healthz answers ok, POST /api/v1/score of the packaged sample finds 4 faces and
#     the SQLite store appears in /var/lib/facescore; SIGTERM stops it with status 0;
#  4. `facescore score /usr/share/facescore/samples/face.jpg` inside the chroot gives the same faces and
#     scores as the same binary outside; `systemd-analyze verify` accepts the unit and its security exposure
#     is at most 2.0;
#  5. reinstalling with /run/systemd/system present (systemd "running", but no systemctl answers) succeeds;
#  6. where systemd-nspawn exists: systemd boots in the chroot, the package's unit starts with its whole
#     sandbox, answers /healthz and scores, the store is in /var/lib/private/facescore of a dynamic uid;
#  7. apt-get purge removes the files, the enable symlink and the state directory.
# Needs root (chroot, mount), debootstrap, curl; systemd-nspawn (systemd-container) for step 6. Without FILE
# builds the package with `make deb`.
# Last line: "test-deb: ok (N s)".
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
t0=$(date +%s)
step() { echo "test-deb: [$(( $(date +%s) - t0 )) s] $*"; }
fail() { echo "test-deb: FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot, mount)"

arch=$(dpkg --print-architecture)
deb=${1:-}
if [ -z "$deb" ]; then
  make -s deb >/dev/null
  deb=$(ls -t out/facescore_*_"$arch".deb | head -n1)
fi
[ -f "$deb" ] || fail "no package $deb"
deb=$(readlink -f "$deb")
step "package $deb"

suite=bookworm
cache=${FACESCORE_CI_CACHE:-/var/cache/facescore-ci}
mirror=${DEBIAN_MIRROR:-$(awk '$1 == "URIs:" {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
mirror=${mirror:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-$(awk '$1 == "URIs:" && /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
security=${security:-http://deb.debian.org/debian-security}
if command -v zstd >/dev/null; then comp=--zstd ext=tar.zst; else comp=--gzip ext=tar.gz; fi
tarball=$cache/debootstrap-$suite-$arch-minbase.$ext
mkdir -p "$cache/apt-archives/partial"

root=$(mktemp -d /tmp/facescore-chroot.XXXXXX)
pid=""
nspawn_pid=""
cleanup() {
  set +e
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  if [ -n "$nspawn_pid" ]; then
    kill -TERM "$nspawn_pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.3; done
    kill -KILL "$nspawn_pid" 2>/dev/null; wait "$nspawn_pid" 2>/dev/null
  fi
  local busy=0
  for m in "$root/var/cache/apt/archives" "$root/proc"; do
    if mountpoint -q "$m"; then umount "$m" || umount -l "$m" || busy=1; fi
  done
  rm -f "$root.nspawn.log" "$root.journal.log"
  # never delete through a mount that is still there (the archive cache is bind-mounted)
  if [ "$busy" = 0 ] && ! grep -q " $root/" /proc/mounts; then rm -rf "$root"; else echo "test-deb: left $root (mounted)" >&2; fi
}
trap cleanup EXIT

# 1. the chroot
if [ -f "$tarball" ]; then
  step "unpacking cached $tarball"
  tar -C "$root" $comp -xf "$tarball" --numeric-owner
else
  step "debootstrap $suite from $mirror (cold: cached afterwards in $tarball)"
  debootstrap --variant=minbase --arch="$arch" "$suite" "$root" "$mirror" > "$root.debootstrap.log" 2>&1 ||
    { tail -20 "$root.debootstrap.log"; fail "debootstrap"; }
  rm -f "$root.debootstrap.log"
  tar -C "$root" $comp -cf "$tarball.tmp.$$" --numeric-owner . && mv "$tarball.tmp.$$" "$tarball"
  step "cached $(du -h "$tarball" | cut -f1) $tarball"
fi
[ -x "$root/usr/bin/apt-get" ] || fail "chroot has no apt-get"
chmod 0755 "$root"   # the chroot's / (mktemp made it 0700): _apt and the service uid must enter it
mount -t proc proc "$root/proc"
mount --bind "$cache/apt-archives" "$root/var/cache/apt/archives"
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
# a Debian 12 as installed: point release plus updates and security
printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' "$mirror" "$suite" "$mirror" "$suite" \
  "$security" "$suite" > "$root/etc/apt/sources.list"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

# 2. install the package with its dependencies from the mirror
cp "$deb" "$root/tmp/"
step "apt-get update + install $(basename "$deb")"
in_root apt-get update -qq
in_root apt-get install -y -qq --no-install-recommends "/tmp/$(basename "$deb")" > "$root/tmp/apt.log" 2>&1 ||
  { tail -30 "$root/tmp/apt.log"; fail "apt-get install"; }
in_root dpkg-query -W -f='${Status} ${Version}\n' facescore | grep -q "install ok installed" || fail "not installed"
in_root facescore version
[ -L "$root/etc/systemd/system/multi-user.target.wants/facescore.service" ] ||
  fail "postinst did not enable facescore.service"
for f in /usr/bin/facescore /usr/share/man/man1/facescore.1.gz /usr/share/doc/facescore/copyright \
         /usr/share/doc/facescore/changelog.Debian.gz /usr/share/facescore/models/facescore/scut60.fsh; do
  [ -f "$root$f" ] || fail "missing $f"
done

# 3. the service, as its unit file says
unit=$root/lib/systemd/system/facescore.service
[ -f "$unit" ] || fail "no $unit"
key() { sed -n "s/^$1=//p" "$unit"; }
declare -A envv=()
while read -r line; do
  for kv in $line; do envv[${kv%%=*}]=${kv#*=}; done
done < <(key Environment)
envfile=$(key EnvironmentFile); envfile=${envfile#-}
[ -n "$envfile" ] || fail "unit has no EnvironmentFile="
mkdir -p "$root$(dirname "$envfile")"
printf 'FACESCORE_LISTEN=127.0.0.1:0\n' > "$root$envfile"
chmod 0600 "$root$envfile"
while IFS= read -r kv; do
  case $kv in ''|'#'*) continue;; esac
  envv[${kv%%=*}]=${kv#*=}
done < "$root$envfile"
exec_start=$(key ExecStart)
cmd=()
for w in $exec_start; do
  while [[ $w =~ \$\{([A-Za-z_][A-Za-z0-9_]*)\} ]]; do
    n=${BASH_REMATCH[1]}
    w=${w//"\${$n}"/${envv[$n]-}}
  done
  cmd+=("$w")
done
state=$(key StateDirectory); workdir=$(key WorkingDirectory); umask_=$(key UMask); smode=$(key StateDirectoryMode)
[ "$(key DynamicUser)" = yes ] && [ "$(key ProtectSystem)" = strict ] && [ "$state" = facescore ] ||
  fail "unit lacks DynamicUser=yes / ProtectSystem=strict / StateDirectory=facescore"
uid=61875   # systemd's DynamicUser range is 61184-65519
install -d -m "${smode:-0755}" -o "$uid" -g "$uid" "$root/var/lib/$state"
envargs=()
for k in "${!envv[@]}"; do envargs+=("$k=${envv[$k]}"); done
step "ExecStart (uid $uid, cwd ${workdir:-/}, umask ${umask_:-0022}): ${cmd[*]}"
: > "$root/tmp/serve.out"; : > "$root/tmp/serve.err"
chroot --userspec="$uid:$uid" "$root" /usr/bin/env -i PATH=/usr/bin:/bin "${envargs[@]}" \
  /bin/sh -c 'cd "$1" && umask "$2" && shift 2 && exec "$@"' sh "${workdir:-/}" "${umask_:-0022}" "${cmd[@]}" \
  > "$root/tmp/serve.out" 2> "$root/tmp/serve.err" &
pid=$!
port=""
for _ in $(seq 1 300); do
  port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$root/tmp/serve.out" || true)
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$root/tmp/serve.err"; fail "service exited at start"; }
  sleep 0.1
done
[ -n "$port" ] || { cat "$root/tmp/serve.err"; fail "service did not start listening in 30 s"; }
health=$(curl -fsS --max-time 10 "http://127.0.0.1:$port/healthz") || fail "/healthz"
echo "test-deb: /healthz on port $port: $health"
echo "$health" | grep -q '"status":"ok"' || fail "/healthz is not ok"
res=$(curl -fsS --max-time 60 -F "image=@$root/usr/share/facescore/samples/face.jpg" "http://127.0.0.1:$port/api/v1/score") ||
  fail "POST /api/v1/score"
nf=$(echo "$res" | grep -o '"box"' | wc -l)
[ "$nf" = 4 ] || fail "POST /api/v1/score found $nf faces, want 4: $res"
[ -f "$root/var/lib/$state/results.db" ] || fail "no /var/lib/$state/results.db"
[ "$(stat -c %u "$root/var/lib/$state/results.db")" = "$uid" ] || fail "results.db not owned by the service uid"
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
pid=""
[ "$rc" = 0 ] || { cat "$root/tmp/serve.err"; fail "service exited $rc on SIGTERM"; }
step "service: healthz ok, score 4 faces, results.db written, SIGTERM exit 0"

# 4. the CLI inside the chroot; same output as the same binary outside
in_root facescore score --csv /usr/share/facescore/samples/face.jpg > "$root/tmp/in.csv" || fail "facescore score in the chroot"
cat "$root/tmp/in.csv"
[ "$(tail -n +2 "$root/tmp/in.csv" | wc -l)" = 4 ] || fail "facescore score: want 4 faces"
dpkg-deb -x "$deb" "$root/tmp/host"
FACESCORE_MODELS=$root/tmp/host/usr/share/facescore/models "$root/tmp/host/usr/bin/facescore" score --csv \
  "$root/tmp/host/usr/share/facescore/samples/face.jpg" > "$root/tmp/out.csv" || fail "facescore score outside"
diff <(cut -d, -f2- "$root/tmp/in.csv") <(cut -d, -f2- "$root/tmp/out.csv") || fail "chroot and host scores differ"
# the unit as systemd reads it (the package's files plus the host's targets): verify, and the sandboxing's
# exposure score (systemd-analyze security: 0 = fully sandboxed, 10 = none; this unit 1.5 when written)
if command -v systemd-analyze >/dev/null; then
  cp -an /lib/systemd/system/. "$root/tmp/host/lib/systemd/system/"
  systemd-analyze verify --man=no --root="$root/tmp/host" facescore.service || fail "systemd-analyze verify"
  exposure=$(systemd-analyze security --offline=yes --root="$root/tmp/host" /lib/systemd/system/facescore.service 2>&1 |
             sed -n 's/.*Overall exposure level for facescore.service: \([0-9.]*\).*/\1/p')
  echo "test-deb: systemd-analyze verify ok, security exposure $exposure"
  awk -v e="$exposure" 'BEGIN { exit !(e != "" && e + 0 <= 2.0) }' || fail "unit exposure '$exposure' > 2.0"
else
  echo "test-deb: systemd-analyze missing, unit not verified"
fi

# 5. reinstall (postinst configure with the old version: the restart branch) as if systemd were running:
# with no systemctl answering, the maintainer scripts must still succeed
mkdir -p "$root/run/systemd/system"
in_root dpkg -i "/tmp/$(basename "$deb")" > "$root/tmp/reinstall.log" 2>&1 || { cat "$root/tmp/reinstall.log"; fail "reinstall"; }
rmdir "$root/run/systemd/system"

# 6. the real thing where systemd-nspawn exists (Debian systemd-container): systemd boots in the chroot (host
# network, --register=no: no systemd on the host), the package's enabled unit starts with its whole sandbox
# (DynamicUser, ProtectSystem=strict, the syscall filter, MemoryDenyWriteExecute, ...), answers /healthz and
# scores, its SQLite store lands in /var/lib/private/facescore owned by a dynamic uid; poweroff stops it.
if command -v systemd-nspawn >/dev/null; then
  step "systemd-nspawn: installing systemd in the chroot"
  in_root apt-get install -y -qq --no-install-recommends systemd systemd-sysv dbus > "$root/tmp/apt-systemd.log" 2>&1 ||
    { tail -20 "$root/tmp/apt-systemd.log"; fail "apt-get install systemd"; }
  rm -rf "$root/var/lib/facescore"   # made by step 3; systemd makes its own (private/) one
  port=""
  for _ in $(seq 1 50); do   # a free loopback port (nothing answers on it)
    c=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$c") 2>/dev/null; then port=$c; break; fi
  done
  [ -n "$port" ] || fail "no free port"
  printf 'FACESCORE_LISTEN=127.0.0.1:%s\n' "$port" > "$root$envfile"
  rm -rf "$root/var/log/journal"; mkdir -p "$root/var/log/journal"   # persistent journal: read after poweroff
  umount "$root/proc"
  systemd-nspawn -q --register=no --keep-unit -D "$root" -b > "$root.nspawn.log" 2>&1 &
  nspawn_pid=$!
  health=""
  for _ in $(seq 1 120); do
    health=$(curl -fsS --max-time 2 "http://127.0.0.1:$port/healthz" 2>/dev/null) && break
    kill -0 "$nspawn_pid" 2>/dev/null || break
    sleep 0.5
  done
  [ -n "$health" ] || { sed 's/\x1b\[[0-9;]*m//g' "$root.nspawn.log" | tail -30; fail "facescore.service under systemd: no /healthz"; }
  step "facescore.service under systemd (nspawn): /healthz $health"
  res=$(curl -fsS --max-time 60 -F "image=@$root/usr/share/facescore/samples/face.jpg" "http://127.0.0.1:$port/api/v1/score") ||
    fail "systemd: POST /api/v1/score"
  nf=$(echo "$res" | grep -o '"box"' | wc -l)
  [ "$nf" = 4 ] || fail "systemd: POST /api/v1/score found $nf faces, want 4"
  db=$root/var/lib/private/facescore/results.db
  [ -f "$db" ] && [ -L "$root/var/lib/facescore" ] || fail "systemd: no $db (StateDirectory with DynamicUser)"
  u=$(stat -c %u "$db")
  [ "$u" -ge 61184 ] && [ "$u" -le 65519 ] || fail "systemd: results.db owned by uid $u, not a dynamic user"
  kill -TERM "$nspawn_pid"
  rc=0; wait "$nspawn_pid" || rc=$?
  nspawn_pid=""
  mount -t proc proc "$root/proc"
  # The console's status lines are cut to the pty's width (which differs between machines), so the clean stop
  # is read from the container's journal: the server's own shutdown message and systemd's exit-status record.
  in_root journalctl -D /var/log/journal --no-pager -o cat -u facescore.service > "$root.journal.log" 2>&1 || true
  grep -q "facescore serve: stopped" "$root.journal.log" && grep -q "Deactivated successfully" "$root.journal.log" ||
    { echo "--- console"; sed 's/\x1b\[[0-9;]*m//g' "$root.nspawn.log" | grep -v '^$' | tail -20
      echo "--- journal -u facescore.service"; tail -20 "$root.journal.log"
      fail "systemd: facescore.service did not stop cleanly"; }
  rm -f "$root.nspawn.log" "$root.journal.log"
  step "systemd: score 4 faces, results.db owned by dynamic uid $u, clean stop (nspawn exit $rc)"
else
  echo "test-deb: systemd-nspawn missing (apt install systemd-container): the unit ran without systemd only"
fi

# 7. purge
in_root apt-get purge -y -qq facescore > "$root/tmp/purge.log" 2>&1 || { cat "$root/tmp/purge.log"; fail "apt-get purge"; }
[ ! -e "$root/usr/bin/facescore" ] && [ ! -e "$root/usr/share/facescore" ] && [ ! -e "$root/var/lib/facescore" ] &&
  [ ! -e "$root/var/lib/private/facescore" ] ||
  fail "files left after purge"
[ ! -e "$root/etc/systemd/system/multi-user.target.wants/facescore.service" ] || fail "enable symlink left after purge"
echo "test-deb: ok ($(( $(date +%s) - t0 )) s)"
