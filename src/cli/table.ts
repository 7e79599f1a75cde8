/** Left-aligned columns separated by two spaces, the first row the header (as Kafka's tools print them). */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd()).join("\n");
}

/** A number for a table cell, `-` when there is none (Kafka's convention). */
export function cell(value: number | string | null | undefined): string {
  return value === null || value === undefined ? "-" : String(value);
}
