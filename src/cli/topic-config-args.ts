import type { TopicConfigEntry } from "../client/index.ts";
import { UsageError } from "./shared-args.ts";

/** `--config`, repeatable: a topic setting with Kafka's name (`--config retention.ms=3600000`); the broker checks names and values. */
export const configArgs = {
  config: { type: "string", description: "A topic setting, repeatable (Kafka's names: retention.ms, cleanup.policy, ...)", valueHint: "name=value" },
} as const;

/** The `--config name=value` pairs as an object; a usage error for one without `=` or given twice. */
export function configPairsArg(pairs: readonly string[], flag = "config"): Record<string, string> {
  const configs: Record<string, string> = {};
  for (const pair of pairs) {
    const separator = pair.indexOf("=");
    if (separator <= 0) throw new UsageError(`--${flag} must look like name=value, not '${pair}'`);
    const name = pair.slice(0, separator).trim();
    if (name in configs) throw new UsageError(`--${flag} ${name} is given twice`);
    configs[name] = pair.slice(separator + 1).trim();
  }
  return configs;
}

/** describe-topic's settings table: every setting, its value and where it comes from. */
export function configsText(configs: readonly TopicConfigEntry[], table: (rows: string[][]) => string): string {
  if (configs.length === 0) return "";
  return `\n\n${table([["CONFIG", "VALUE", "SOURCE"], ...configs.map((entry) => [entry.name, entry.value, entry.source])])}`;
}
