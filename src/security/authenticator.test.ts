import { describe, expect, test } from "bun:test";
import { GafkaError } from "../core/errors.ts";
import { Authenticator, NO_CREDENTIALS } from "./authenticator.ts";
import { ANONYMOUS, userPrincipal } from "./principal.ts";

const request = { method: "GET", path: "/api/v1/topics" };

describe("Authenticator", () => {
  test("no header is anonymous", () => {
    expect(NO_CREDENTIALS.authenticate(null, request)).toBe(ANONYMOUS);
    expect(NO_CREDENTIALS.authenticate("", request)).toBe(ANONYMOUS);
  });

  test("the scheme picks the verifier, case-insensitively, and gets the rest of the header", () => {
    const seen: string[] = [];
    const authenticator = new Authenticator({
      bearer: {
        verify(credentials) {
          seen.push(credentials);
          return userPrincipal("alice");
        },
      },
    });
    expect(authenticator.authenticate("bEaReR  abc ", request)).toEqual(userPrincipal("alice"));
    expect(seen).toEqual(["abc"]);
  });

  test("a scheme the broker does not take is 401, never anonymous", () => {
    const authenticator = new Authenticator({ bearer: { verify: () => userPrincipal("a") } });
    for (const header of ["Basic YTpi", "Negotiate x", "toString x", "__proto__ x"]) {
      let error: unknown;
      try {
        authenticator.authenticate(header, request);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(GafkaError);
      expect((error as GafkaError).code).toBe("unauthenticated");
    }
  });
});
