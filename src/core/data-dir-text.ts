import * as path from "node:path";

/**
 * Text for an answer, with every path under the data dir made relative to
 * it: "…corrupt frame at position 12 of /srv/gafka/orders-3/00000000000000004096.log"
 * becomes "…of orders-3/00000000000000004096.log", and the data dir itself
 * reads "<data dir>". Errors and statuses carry full paths (the broker's log
 * keeps them, for the operator); a client is told where inside the data dir,
 * never where the data dir is on the host.
 */
export class DataDirText {
  /** The data dir's spellings (absolute, as configured), longest first; a file path may use either. */
  private readonly prefixes: RegExp | undefined;

  constructor(dataDir: string) {
    const spellings = new Set([path.resolve(dataDir), path.normalize(dataDir)].map((spelling) => spelling.replace(/[\\/]+$/, "")));
    // "." (paths under it are relative already) and "/" (every absolute path would match) name nothing to cut.
    const named = [...spellings].filter((spelling) => spelling !== "." && spelling !== "");
    named.sort((a, b) => b.length - a.length);
    // A whole path only, not the tail of a longer one ("metadata/x" does not hold the data dir "data");
    // the bare data dir only when absolute (a relative "data" is also a word).
    const alternatives = named.map((spelling) => {
      const escaped = escapeRegExp(spelling);
      return path.isAbsolute(spelling) ? `${escaped}(?:[\\\\/]+|(?![\\w.-]))` : `${escaped}[\\\\/]+`;
    });
    this.prefixes = alternatives.length === 0 ? undefined : new RegExp(`(?<![\\w./\\\\-])(?:${alternatives.join("|")})`, "g");
  }

  /** `text` with paths under the data dir relative to it. */
  relative(text: string): string {
    if (this.prefixes === undefined) return text;
    return text.replace(this.prefixes, (match) => (/[\\/]$/.test(match) ? "" : "<data dir>"));
  }

  /** A copy of a JSON-shaped value (an error's details) with every string made relative. */
  relativeDeep(value: unknown): unknown {
    if (typeof value === "string") return this.relative(value);
    if (Array.isArray(value)) return value.map((item) => this.relativeDeep(item));
    if (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
      const copy: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) copy[key] = this.relativeDeep(item);
      return copy;
    }
    return value;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
