/**
 * A stream session's id: 128 random bits as 32 lowercase hex digits. A follower's acks name it,
 * and the leader counts an ack only for the session it opened for that follower: an id nobody
 * was sent cannot be guessed (a sequential one could, and a forged ack then counted as a copy).
 */
export function newSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Whether `text` has the shape of a session id (newSessionId). */
export function isSessionId(text: unknown): text is string {
  return typeof text === "string" && /^[0-9a-f]{32}$/.test(text);
}
