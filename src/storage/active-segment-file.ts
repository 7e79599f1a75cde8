import type { WriterFile } from "./log-writer.ts";
import type { Segment } from "./segment.ts";

/**
 * The active segment as a partition's writer sees it (LogWriterHost.file).
 * Its descriptor comes from the descriptor pool when the writer reads `fd`
 * (it may have been closed since the last look, and another number given);
 * a file that cannot be opened calls `failed` (the log goes through
 * recovery) and gives -1, so the write to it fails and is cut off. With no
 * segment (the files closed for a reopen) the file is -1 at `nextOffset`.
 */
export function activeSegmentFile(segment: Segment | undefined, nextOffset: number, failed: (reason: string) => void): WriterFile {
  if (segment === undefined) return { fd: -1, endPosition: 0, nextOffset };
  return {
    get fd() {
      try {
        return segment.fd;
      } catch (error) {
        failed(`cannot open ${segment.logPath}: ${error instanceof Error ? error.message : String(error)}`);
        return -1;
      }
    },
    identity: segment,
    dirty: segment.file.dirty,
    endPosition: segment.sizeBytes,
    nextOffset: segment.nextOffset,
  };
}
