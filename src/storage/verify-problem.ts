/** A damaged place `gafka admin verify` reports (src/storage/verify.ts). */
export interface VerifyProblem {
  /** torn: the remains of a write a crash cut short (the next start cuts it); corrupt: the next start refuses it. */
  kind: "torn" | "corrupt";
  file: string;
  position: number;
  offset?: number;
  message: string;
  /**
   * The next start writes this place again from the commit journal (it lies
   * at or past where the partition's files first differ from its journal
   * entries): nothing acknowledged is lost, and it does not fail verify.
   */
  repairedByJournal?: boolean;
}
