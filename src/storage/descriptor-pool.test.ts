import { afterEach, expect, test } from "bun:test";
import * as path from "node:path";
import { FaultyFileSystem } from "../../test/helpers/faulty-fs.ts";
import { makeTempDir } from "../../test/helpers/temp-dir.ts";
import { DescriptorPool, type PooledFile } from "./descriptor-pool.ts";
import { type FileSystem, nodeFileSystem } from "./file-system.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

/** The node file system, recording the calls that matter to the pool, in order, by path. */
function recordingFileSystem(): { fs: FileSystem; calls: string[] } {
  const calls: string[] = [];
  const paths = new Map<number, string>();
  const name = (fd: number) => path.basename(paths.get(fd) ?? String(fd));
  const fs: FileSystem = {
    ...nodeFileSystem,
    openReadWrite(filePath) {
      const fd = nodeFileSystem.openReadWrite(filePath);
      paths.set(fd, filePath);
      calls.push(`open ${path.basename(filePath)}`);
      return fd;
    },
    close(fd) {
      calls.push(`close ${name(fd)}`);
      nodeFileSystem.close(fd);
    },
    fdatasyncSync(fd) {
      calls.push(`fdatasyncSync ${name(fd)}`);
      nodeFileSystem.fdatasyncSync(fd);
    },
    async fdatasync(fd) {
      calls.push(`fdatasync ${name(fd)}`);
      await nodeFileSystem.fdatasync(fd);
    },
  };
  return { fs, calls };
}

function tempDir(): string {
  const temp = makeTempDir();
  cleanups.push(temp.remove);
  return temp.dir;
}

const bytes = (text: string) => new TextEncoder().encode(text);

test("more files than descriptors: opened when used, closed least recently used first, never more open than the pool holds", () => {
  const dir = tempDir();
  const { fs, calls } = recordingFileSystem();
  const pool = new DescriptorPool(fs, 4);
  const files = Array.from({ length: 10 }, (_, i) => pool.file(path.join(dir, `${i}.log`)));
  expect(pool.openCount).toBe(0); // nothing is opened before it is used
  for (let round = 0; round < 3; round++) {
    for (const [i, file] of files.entries()) {
      pool.fs.write(file.fd, bytes(`${round}:${i};`), round * 4);
      expect(pool.openCount).toBeLessThanOrEqual(4);
    }
  }
  expect(pool.peakOpen).toBe(4);
  expect(pool.overshoots).toBe(0);
  // The least recently used went first: after the last round, files 6..9 are the ones open.
  expect(files.map((file) => file.isOpen)).toEqual([false, false, false, false, false, false, true, true, true, true]);
  files[6]!.fd; // a use moves it to the back: 7 goes next
  pool.file(path.join(dir, "x.log")).fd;
  expect(files.map((file) => file.isOpen).slice(6)).toEqual([true, false, true, true]);
  const buffer = new Uint8Array(12);
  for (const [i, file] of files.entries()) {
    expect(pool.fs.read(file.fd, buffer, 0, 12, 0)).toBe(12);
    expect(new TextDecoder().decode(buffer)).toBe(`0:${i};1:${i};2:${i};`);
  }
  expect(calls.filter((call) => call.startsWith("open")).length).toBe(pool.opens);
  for (const file of files) file.close();
});

test("a file written since its last fdatasync is fdatasync'ed before the pool closes its descriptor; a synced one is just closed", async () => {
  const dir = tempDir();
  const { fs, calls } = recordingFileSystem();
  const pool = new DescriptorPool(fs, 4);
  const written = pool.file(path.join(dir, "written.log"));
  const synced = pool.file(path.join(dir, "synced.log"));
  pool.fs.write(written.fd, bytes("not yet durable"), 0);
  pool.fs.write(synced.fd, bytes("durable"), 0);
  await pool.fs.fdatasync(synced.fd);
  expect(written.dirty).toBe(true);
  expect(synced.dirty).toBe(false);
  calls.length = 0;
  for (let i = 0; i < 4; i++) pool.file(path.join(dir, `other-${i}.log`)).fd;
  expect(written.isOpen).toBe(false);
  expect(synced.isOpen).toBe(false);
  expect(calls).toEqual([
    "open other-0.log",
    "open other-1.log",
    "fdatasyncSync written.log",
    "close written.log",
    "open other-2.log",
    "close synced.log",
    "open other-3.log",
  ]);
  expect(pool.evictionSyncs).toBe(1);
  // The owner's own fdatasync afterwards finds nothing left to do, and does not open the file for it.
  expect(written.dirty).toBe(false);
  calls.length = 0;
  await written.sync();
  expect(calls).toEqual([]);
});

test("a failed fdatasync before a close goes to the file's owner, and every later fdatasync of the file fails with it", async () => {
  const dir = tempDir();
  const faulty = new FaultyFileSystem();
  const pool = new DescriptorPool(faulty, 4);
  const failures: unknown[] = [];
  const file = pool.file(path.join(dir, "a.log"), (error) => failures.push(error));
  const fd = file.fd;
  pool.fs.write(fd, bytes("lost?"), 0);
  faulty.failSyncs = 1;
  for (let i = 0; i < 4; i++) pool.file(path.join(dir, `other-${i}.log`)).fd;
  expect(file.isOpen).toBe(false);
  expect(failures).toHaveLength(1);
  expect(String(failures[0])).toContain("EIO");
  // Never retried-and-continued: the owner goes through recovery, with new files.
  expect(pool.fs.fdatasync(file.fd)).rejects.toThrow(/EIO/);
});

test("a descriptor is never closed while its fdatasync runs; the pool goes past its size meanwhile and comes back", async () => {
  const dir = tempDir();
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const fs: FileSystem = { ...nodeFileSystem, fdatasync: async (fd) => held.then(() => nodeFileSystem.fdatasync(fd)) };
  const pool = new DescriptorPool(fs, 4);
  const syncing: PooledFile[] = [];
  const syncs: Promise<void>[] = [];
  for (let i = 0; i < 2; i++) {
    const file = pool.file(path.join(dir, `s${i}.log`));
    pool.fs.write(file.fd, bytes("x"), 0);
    syncs.push(pool.fs.fdatasync(file.fd));
    syncing.push(file);
  }
  await Bun.sleep(1); // both fdatasyncs run now (half the pool's size may)
  const others = Array.from({ length: 6 }, (_, i) => pool.file(path.join(dir, `o${i}.log`)));
  for (const other of others) other.fd;
  for (const file of syncing) expect(file.isOpen).toBe(true);
  expect(pool.openCount).toBe(4);
  // A third fdatasync waits its turn holding no pin: the pool evicts around it.
  const third = others[5]!;
  pool.fs.write(third.fd, bytes("y"), 0);
  const thirdSync = pool.fs.fdatasync(third.fd);
  release();
  await Promise.all([...syncs, thirdSync]);
  expect(pool.openCount).toBeLessThanOrEqual(4);
  for (const file of [...syncing, ...others]) expect(file.dirty).toBe(false);
});
