import { systemClock } from "../../src/core/clock.ts";
import type { AclBinding } from "../../src/security/acl.ts";
import { CredentialStore } from "../../src/security/credential-store.ts";
import { nodeFileSystem } from "../../src/storage/file-system.ts";

/**
 * Users, tokens and ACLs for suites that run a broker under --auth
 * required: written into the broker's data dir (security.json) before it
 * starts, through the credential store itself.
 */

/** `Authorization: Basic base64(user:password)`. */
export function basic(user: string, password: string): { authorization: string } {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}` };
}

export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

/** An ACL allowing (or denying) `operation` on a topic, group or the cluster. */
export function acl(
  user: string,
  operation: AclBinding["operation"],
  resourceType: AclBinding["resourceType"],
  resourceName: string,
  options: { patternType?: AclBinding["patternType"]; permission?: AclBinding["permission"] } = {},
): AclBinding {
  return {
    principal: `User:${user}`,
    resourceType,
    resourceName,
    patternType: options.patternType ?? "literal",
    operation,
    permission: options.permission ?? "allow",
  };
}

/** The credential store of a data dir no broker runs on yet (or any more). */
export function credentialStoreOf(dataDir: string): CredentialStore {
  nodeFileSystem.mkdirp(dataDir);
  return CredentialStore.load(dataDir, nodeFileSystem, systemClock);
}
