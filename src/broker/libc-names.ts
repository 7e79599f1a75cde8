/**
 * The names libc goes by on glibc, musl, macOS and FreeBSD, for `dlopen`
 * through bun:ffi (data-dir-lock.ts's flock, open-files.ts's getrlimit):
 * the first that opens wins.
 */
export function libcNames(): string[] {
  if (process.platform === "darwin") return ["libSystem.B.dylib", "libc.dylib"];
  if (process.platform === "freebsd") return ["libc.so.7"];
  return ["libc.so.6", `libc.musl-${process.arch === "arm64" ? "aarch64" : "x86_64"}.so.1`, "libc.so"];
}
