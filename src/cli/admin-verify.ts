import { defineCommand } from "citty";
import { nodeFileSystem } from "../storage/file-system.ts";
import type { PartitionReport, VerifyProblem, VerifyReport } from "../storage/verify.ts";
import { logLevelArgs } from "./shared-args.ts";

const REPAIRED = "repaired from the commit journal at the next start";

export default defineCommand({
  meta: { name: "verify", description: "Check every frame of every segment, and the commit journal, in a data dir (read-only; run it with the broker stopped)" },
  args: {
    "data-dir": { type: "string", description: "The broker's data directory", required: true },
    ...logLevelArgs("warn"),
  },
  async run({ args }) {
    const { verifyDataDir } = await import("../storage/verify.ts");
    const report = verifyDataDir(args["data-dir"], nodeFileSystem);
    printJournal(report);
    for (const partition of report.partitions) printPartition(partition);
    const damaged = report.partitions.filter((partition) => unrepaired(partition.problems) > 0).length;
    const journalDamaged = report.journal.problems.length > 0 ? ", the commit journal has problems" : "";
    console.log(`checked ${plural(report.partitions.length, "partition")}: ${damaged === 0 ? "all ok" : `${damaged} with problems`}${journalDamaged}`);
    // Any problem the next start does not repair from the journal fails the run, a torn tail too (the broker would cut it): scripts see it.
    if (!report.ok) throw new Error(`${args["data-dir"]} has damaged data (see above)`);
  },
});

function printJournal(report: VerifyReport): void {
  const { journal } = report;
  if (journal.files.length === 0) return;
  const verdict = journal.problems.length === 0 ? "ok" : `${plural(journal.problems.length, "problem")}`;
  console.log(`commit journal: ${plural(journal.files.length, "file")}, ${plural(journal.entries, "entry", "entries")}, ${verdict}`);
  for (const problem of journal.problems) console.log(`  ${problem.kind} in ${problem.file} at position ${problem.position}: ${problem.message}`);
  if (journal.byPartition === undefined) console.log("  the broker does not start on a journal damaged in the middle: nothing is replayed");
  for (const { name, entries } of report.journalOnly) {
    console.log(`  ${plural(entries, "entry", "entries")} for partition ${name}, which has no directory here: replayed if its topic exists, dropped otherwise`);
  }
}

function printPartition(partition: PartitionReport): void {
  const problems = unrepaired(partition.problems);
  const repaired = partition.problems.length - problems;
  const verdict = problems === 0 ? "ok" : `${plural(problems, "problem")}`;
  const also = repaired === 0 ? "" : ` (${repaired} damaged place(s) ${REPAIRED})`;
  console.log(`${partition.dir}: ${plural(partition.segments, "segment")}, ${plural(partition.records, "record")}, ${verdict}${also}`);
  const journal = partition.journal;
  if (journal !== undefined) {
    const entries = plural(journal.entries, "entry", "entries");
    if (journal.refused) console.log(`  commit journal: ${entries}; the next start refuses the partition as it replays them (below)`);
    else if (journal.rewrite === undefined) console.log(`  commit journal: ${entries} from offset ${journal.firstOffset}, all already in the segment files; the next start writes nothing`);
    else {
      const { offset, file, position } = journal.rewrite;
      console.log(`  commit journal: ${entries} from offset ${journal.firstOffset}; the next start writes them again from offset ${offset} (${file} at position ${position})`);
    }
  }
  for (const problem of partition.problems) printProblem(problem);
}

function printProblem(problem: VerifyProblem): void {
  const at = `position ${problem.position}${problem.offset === undefined ? "" : ` (offset ${problem.offset})`}`;
  console.log(`  ${problem.kind} in ${problem.file} at ${at}: ${problem.message}${problem.repairedByJournal === true ? `; ${REPAIRED}` : ""}`);
}

function unrepaired(problems: readonly VerifyProblem[]): number {
  return problems.filter((problem) => problem.repairedByJournal !== true).length;
}

function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : nouns}`;
}
