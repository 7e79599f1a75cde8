import { randomBytes } from "node:crypto";
import * as path from "node:path";
import type { Logger } from "../core/logger.ts";
import type { FileSystem } from "../storage/file-system.ts";
import type { CredentialStore } from "./credential-store.ts";

/** `<dataDir>/admin-password`: the first admin's password, one line, mode 0600. */
export const ADMIN_PASSWORD_FILE_NAME = "admin-password";

/** The user the first start under `--auth required` creates (a super user by `--super-users`' default). */
export const BOOTSTRAP_ADMIN_USER = "admin";

/** Random bytes of the generated password: 24, which base64url spells in 32 characters. */
const PASSWORD_RANDOM_BYTES = 24;

/**
 * The first start of a leader under `--auth required` with no user at all:
 * nobody could log in, so the broker makes user `admin` with a random
 * password and leaves the password in `<dataDir>/admin-password` (mode
 * 0600, written durably before the user exists, so a crash in between
 * leaves a file whose password the next start overwrites, never a user
 * whose password nobody knows). Logs one line saying where the file is,
 * never the password. Does nothing when the store has any user: an
 * operator who deleted `admin` is not given it back.
 *
 * A follower never calls this: it takes its leader's store.
 */
export async function bootstrapAdmin(credentials: CredentialStore, dataDir: string, fs: FileSystem, logger: Logger): Promise<void> {
  if (credentials.listUsers().length > 0) return;
  const password = randomBytes(PASSWORD_RANDOM_BYTES).toString("base64url");
  const filePath = path.join(dataDir, ADMIN_PASSWORD_FILE_NAME);
  await fs.writeFileAtomic(filePath, new TextEncoder().encode(`${password}\n`), { mode: 0o600 });
  await credentials.addUser(BOOTSTRAP_ADMIN_USER, password);
  logger.info(
    `authentication is required and no user existed: created user '${BOOTSTRAP_ADMIN_USER}'; its password is in ${filePath} (mode 0600). ` +
      "Log in with it, then change it or make your own users and remove the file.",
  );
}
