#!/usr/bin/env bash
# Builds what an auditor carries onto an air-gapped machine, and proves that it works.
#
#   scripts/release.sh              # the committed source (git archive HEAD)
#   scripts/release.sh --worktree   # the working tree as it is (commit shown as <HEAD>-dirty)
#
# One build does everything:
#   1. the source is copied into a work folder and its dependencies are vendored (`cargo vendor`:
#      the only step that uses the network, and only crates.io);
#   2. it is built with an EMPTY CARGO_HOME whose config.toml points crates-io at the vendored
#      folder, `--offline --frozen` (what an organisation without internet access repeats),
#      statically linked (`-C target-feature=+crt-static`, x86_64-unknown-linux-gnu), by
#      `cargo auditable build --release --no-default-features` (no `collect`: no network code at
#      all), which embeds the dependency list in the binary;
#   3. the binary is checked: statically linked, the embedded list names rsa and sha2, and
#      `--version` names the commit;
#   4. the chroot proof: inside a folder that holds only the binary and the demo data (no /lib,
#      no /usr, nothing else), `/trailproof verify /demo/mirror --public-keys /demo/public-keys.json`
#      must exit 0 and say PASS;
#   5. dist/trailproof-VERSION-x86_64-unknown-linux-gnu/ (binary, README, licences, changelog,
#      security policy, demo data, SHA256SUMS) and beside it its .tar.gz and a SHA256SUMS for that.
#
# Any failure stops the script with a message and a non-zero exit; nothing is skipped. The chroot
# needs root (CI runs as root); otherwise the script tries an unprivileged user namespace
# (`unshare -r`) and fails if that is not allowed either.
#
# Environment:
#   TRAILPROOF_RELEASE_WORK   work folder, emptied first (default: target/release-work)
#   CARGO_AUDITABLE_VERSION   version installed from crates.io when cargo-auditable is missing
#                             (default 0.7.7)
#   TRAILPROOF_DIST           where the release goes (default: dist)
# Needs: git, cargo and rustc (stable), a C compiler, file, ldd, readelf, objcopy, python3,
# sha256sum, tar, gzip, chroot.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C

target=x86_64-unknown-linux-gnu
source_mode=commit
case "${1:-}" in
    "") ;;
    --worktree) source_mode=worktree ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "release.sh: unknown argument '$1' (--worktree or nothing)" >&2; exit 2 ;;
esac

fail() { echo "release.sh: FAILED: $*" >&2; exit 1; }
start_all=$SECONDS
step_start=$SECONDS
step() {
    local now=$SECONDS
    [ -n "${step_name:-}" ] && echo "   ($step_name: $((now - step_start)) s)"
    step_name=$1
    step_start=$now
    echo "-- $1"
}

for tool in git cargo cc file ldd readelf objcopy python3 sha256sum tar gzip chroot; do
    command -v "$tool" >/dev/null || fail "'$tool' is not installed"
done

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
[ -n "$version" ] || fail "no version in Cargo.toml"
name=trailproof-$version-$target
work=$(mkdir -p "${TRAILPROOF_RELEASE_WORK:-target/release-work}" && cd "${TRAILPROOF_RELEASE_WORK:-target/release-work}" && pwd)
dist=$(mkdir -p "${TRAILPROOF_DIST:-dist}" && cd "${TRAILPROOF_DIST:-dist}" && pwd)

# Build facts for `trailproof --version` (build.rs): the same commit builds the same text.
commit=$(git rev-parse HEAD)
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)
if [ "$source_mode" = worktree ] && [ -n "$(git status --porcelain --untracked-files=normal)" ]; then
    commit="$commit-dirty"
fi
export SOURCE_DATE_EPOCH TRAILPROOF_GIT_COMMIT=$commit
echo "== release $name (commit $commit, source $source_mode, date $(date -u -d "@$SOURCE_DATE_EPOCH" +%FT%TZ))"
if [ "$source_mode" = commit ] && [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    echo "   note: the working tree has uncommitted changes; they are NOT in this release (--worktree builds them)"
fi

step "cargo-auditable"
if ! command -v cargo-auditable >/dev/null; then
    auditable_version=${CARGO_AUDITABLE_VERSION:-0.7.7}
    echo "   installing cargo-auditable $auditable_version from crates.io"
    # --debug: half the compile time, and the wrapper's own speed does not matter.
    cargo install --locked --debug --quiet "cargo-auditable@$auditable_version"
fi
auditable=$(command -v cargo-auditable) || fail "cargo-auditable is not on PATH"
echo "   $(cargo install --list | grep '^cargo-auditable ' || echo "cargo-auditable (not installed by cargo install)") at $auditable"

step "source into $work/src"
rm -rf "$work"
mkdir -p "$work/src"
src=$work/src
if [ "$source_mode" = commit ]; then
    git archive --format=tar HEAD | tar -x -C "$src"
else
    git ls-files -z --cached --others --exclude-standard \
        | while IFS= read -r -d '' path; do [ -e "$path" ] && printf '%s\0' "$path"; done \
        | tar --null --no-recursion -T - -c | tar -x -C "$src"
fi

step "cargo vendor (network: crates.io)"
(cd "$src" && cargo vendor --locked --versioned-dirs --quiet vendor >/dev/null)
echo "   $(find "$src/vendor" -mindepth 1 -maxdepth 1 -type d | wc -l) crates, $(du -sh "$src/vendor" | cut -f1)"

step "offline build: empty CARGO_HOME, --offline --frozen, crt-static, cargo auditable"
cargo_home=$work/cargo-home
mkdir -p "$cargo_home"
cat >"$cargo_home/config.toml" <<EOF
[source.crates-io]
replace-with = "vendored-sources"

[source.vendored-sources]
directory = "$src/vendor"
EOF
# A clean environment: nothing from the caller's cargo set-up (wrappers, registries, flags) can
# help the build. rustup still finds the toolchain through HOME (or RUSTUP_HOME).
(
    cd "$src"
    env -i \
        PATH="$(dirname "$auditable"):$PATH" HOME="$HOME" \
        ${RUSTUP_HOME:+RUSTUP_HOME="$RUSTUP_HOME"} ${RUSTUP_TOOLCHAIN:+RUSTUP_TOOLCHAIN="$RUSTUP_TOOLCHAIN"} \
        CARGO_HOME="$cargo_home" CARGO_TARGET_DIR="$work/target" CARGO_TERM_COLOR=never \
        RUSTFLAGS="-C target-feature=+crt-static --remap-path-prefix=$src=/trailproof-$version" \
        TRAILPROOF_GIT_COMMIT="$TRAILPROOF_GIT_COMMIT" SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" \
        cargo auditable build --release --offline --frozen --target "$target" \
        -p trailproof --bin trailproof --no-default-features
) || fail "the offline build failed"
bin=$work/target/$target/release/trailproof
[ -x "$bin" ] || fail "no binary at $bin"
if find "$cargo_home" -mindepth 1 -maxdepth 1 ! -name config.toml | grep -q .; then
    echo "   CARGO_HOME after the build: $(ls -A "$cargo_home" | tr '\n' ' ')"
fi

step "checks: static, embedded dependency list, --version"
file_out=$(file -b "$bin")
echo "   file: $file_out"
case "$file_out" in
    *"statically linked"* | *"static-pie linked"*) ;;
    *) fail "file does not say the binary is statically linked" ;;
esac
ldd_out=$(ldd "$bin" 2>&1 || true)
echo "   ldd: $ldd_out"
case "$ldd_out" in
    *"not a dynamic executable"* | *"statically linked"*) ;;
    *) fail "ldd lists shared libraries" ;;
esac
if readelf -lW "$bin" | grep -q 'INTERP'; then fail "the binary asks for a program interpreter"; fi
if readelf -dW "$bin" | grep -q '(NEEDED)'; then fail "the binary needs shared libraries"; fi
# (objcopy writes its copy of the binary to a scratch file, leaving the binary untouched.)
objcopy --dump-section .dep-v0="$work/dep-v0.zlib" "$bin" "$work/objcopy.scratch" \
    || fail "no .dep-v0 section (cargo auditable did not embed the dependency list)"
rm -f "$work/objcopy.scratch"
python3 - "$work/dep-v0.zlib" <<'EOF' || fail "the embedded dependency list is not what was built"
import json, sys, zlib
packages = json.loads(zlib.decompress(open(sys.argv[1], "rb").read()))["packages"]
names = {p["name"] for p in packages}
missing = {"trailproof", "rsa", "sha2"} - names
print(f"   embedded dependency list: {len(packages)} packages, e.g. "
      + ", ".join(f"{p['name']} {p['version']}" for p in packages if p["name"] in ("rsa", "sha2")))
banned = names & {"reqwest", "hyper", "h2", "ureq", "curl", "rustls", "native-tls", "openssl", "socket2",
                  "mio", "tokio", "aws-lc-rs", "aws-lc-sys", "ring", "aws-config", "aws-sdk-s3"}
if missing:
    sys.exit(f"   missing: {sorted(missing)}")
if banned:
    sys.exit(f"   network crates in the binary: {sorted(banned)}")
EOF
version_out=$("$bin" --version)
echo "$version_out" | sed 's/^/   /'
case "$version_out" in
    *"$commit"*) ;;
    *) fail "--version does not name commit $commit" ;;
esac
echo "   size: $(stat -c %s "$bin") bytes"

step "chroot proof: only the binary and the demo data"
root=$work/chroot
mkdir -p "$root/demo"
cp "$bin" "$root/trailproof"
cp -R "$src/testdata/demo/mirror" "$root/demo/mirror"
cp "$src/testdata/demo/public-keys.json" "$root/demo/public-keys.json"
[ "$(find "$root" -mindepth 1 -maxdepth 1 -printf '%f ' | tr ' ' '\n' | sort | tr '\n' ' ')" = "demo trailproof " ] \
    || fail "the chroot holds more than /trailproof and /demo"
echo "   / holds only /trailproof and /demo ($(find "$root" -type f | wc -l) files)"
if [ "$(id -u)" = 0 ]; then
    in_root() { chroot "$root" "$@"; }
elif unshare -r true 2>/dev/null; then
    in_root() { unshare -r chroot "$root" "$@"; }
else
    fail "chroot needs root (or unprivileged user namespaces for 'unshare -r'); the proof cannot be skipped"
fi
in_root /trailproof --version >"$work/chroot-version.out" 2>&1 \
    || { cat "$work/chroot-version.out" >&2; fail "'/trailproof --version' failed inside the chroot"; }
grep -q "$commit" "$work/chroot-version.out" || fail "'--version' inside the chroot does not name the commit"
echo "   chroot: /trailproof --version: $(head -n 1 "$work/chroot-version.out")"
status=0
in_root /trailproof verify /demo/mirror --public-keys /demo/public-keys.json \
    >"$work/chroot-verify.out" 2>"$work/chroot-verify.err" || status=$?
if [ "$status" != 0 ] || ! grep -q PASS "$work/chroot-verify.out"; then
    cat "$work/chroot-verify.out" "$work/chroot-verify.err" >&2
    fail "verify of the demo mirror inside the chroot exited $status without PASS"
fi
echo "   chroot: /trailproof verify /demo/mirror --public-keys /demo/public-keys.json: exit 0, $(grep -m 1 PASS "$work/chroot-verify.out")"

step "dist: $dist/$name"
out=$dist/$name
rm -rf "$out" "$out.tar.gz" "$dist/SHA256SUMS"
mkdir -p "$out/demo"
install -m 0755 "$bin" "$out/trailproof"
for doc in README.md LICENSE-MIT LICENSE-APACHE CHANGELOG.md SECURITY.md; do
    [ -f "$src/$doc" ] || fail "$doc is missing from the source"
    install -m 0644 "$src/$doc" "$out/$doc"
done
cp -R "$src/testdata/demo/mirror" "$out/demo/mirror"
cp "$src/testdata/demo/public-keys.json" "$out/demo/public-keys.json"
cat >"$out/demo/README.txt" <<'EOF'
TEST-ONLY demo data. None of it comes from AWS: mirror/ is a generated copy of a CloudTrail
bucket, signed with the TEST-ONLY keys published in trailproof's repository (testdata/keys), and
public-keys.json lists those keys. A pass on it proves that this trailproof binary runs here,
nothing about any real trail. For real evidence, use the keys of `aws cloudtrail list-public-keys`.

    ./trailproof verify demo/mirror --public-keys demo/public-keys.json
EOF
(cd "$out" && find . -type f ! -name SHA256SUMS -printf '%P\n' | sort | xargs -d '\n' sha256sum >SHA256SUMS)
(cd "$out" && sha256sum -c --quiet --strict SHA256SUMS) || fail "the folder's SHA256SUMS does not check"
# Reproducible archive: fixed order, owners, modes and times, and no name or time in the gzip header.
(cd "$dist" && tar --sort=name --owner=0 --group=0 --numeric-owner --mode='u+rwX,go+rX,go-w' \
    --mtime="@$SOURCE_DATE_EPOCH" -cf - "$name" | gzip -n -9 >"$name.tar.gz")
(cd "$dist" && sha256sum "$name.tar.gz" >SHA256SUMS && sha256sum -c --quiet --strict SHA256SUMS) \
    || fail "SHA256SUMS of the archive does not check"
echo "   $(cd "$out" && wc -l <SHA256SUMS) files in SHA256SUMS; $name.tar.gz $(stat -c %s "$out.tar.gz") bytes"
echo "   $(cat "$dist/SHA256SUMS")"
echo "   ($step_name: $((SECONDS - step_start)) s)"
echo "== release OK: $dist/$name.tar.gz (static binary $(stat -c %s "$out/trailproof") bytes); total $((SECONDS - start_all)) s"
