import { DurableObject } from "cloudflare:workers";
import { tooManyAttempts } from "../errors/catalogue";
import { addressKey, networkKey } from "./client-address";

type Limit = { attempts: number; windowSeconds: number };

/**
 * The limits on sign-in and sign-up attempts: each rule counts the attempts of one subject (an
 * email, a client address, or both, or a client's network) within a sliding window. Addresses are
 * counted by their `addressKey`, networks by their `networkKey` (auth/client-address.ts).
 */
export const LIMITS = {
  /**
   * Failed logins for one email from one address: stops guessing one account's password from one
   * place, without letting that place lock the account's owner out everywhere else.
   */
  "login-email-address": { attempts: 5, windowSeconds: 15 * 60 },
  /** Failed logins from one address, for any email: stops trying one password on many accounts. */
  "login-address": { attempts: 5, windowSeconds: 15 * 60 },
  /**
   * Failed logins for one email from all addresses together: slows a guess spread over many
   * addresses, and is high enough that a few strangers cannot lock the owner out.
   */
  "login-email": { attempts: 50, windowSeconds: 15 * 60 },
  /** Registrations from one address, successful or not: stops mass sign-ups and probing which emails exist. */
  "registration-address": { attempts: 10, windowSeconds: 60 * 60 },
  /**
   * Registrations from one network (an IPv6 /48, an IPv4 /24): stops one line's many /64s (a /56
   * has 256) or neighbouring IPv4 addresses from filling a waitlist with accounts, and stays far
   * above what a household or an office signs up in an hour.
   */
  "registration-network": { attempts: 50, windowSeconds: 60 * 60 },
} as const satisfies Record<string, Limit>;

export type ThrottleRule = keyof typeof LIMITS;

/** An admitted attempt is identified by when it leaves the window. */
export type Admission = { admitted: true; attempt: number } | { admitted: false; retryAfterSeconds: number };

/** The object counting one rule's attempts for one subject, e.g. ("login-address", "198.51.100.7"). */
export function throttleCounter(env: Env, rule: ThrottleRule, subject: string) {
  return env.LOGIN_THROTTLE.getByName(`${rule}:${subject}`);
}

const ATTEMPTS = "attempts";

/**
 * One rule's counter for one subject. The attempts live in the object's own durable storage, so a
 * restart forgets none, and its alarm deletes that storage once the last attempt has left the window.
 * Each method reads and writes storage without awaiting anything in between, so no two
 * requests can both take the last free place.
 */
export class LoginThrottleObject extends DurableObject<Env> {
  /** Counts one more attempt if the rule allows it; otherwise says in how many seconds it will. */
  async admit(rule: ThrottleRule): Promise<Admission> {
    const { attempts, windowSeconds } = LIMITS[rule];
    const now = Date.now();
    const expiries = this.#expiries(now);
    if (expiries.length >= attempts) {
      return { admitted: false, retryAfterSeconds: Math.max(1, Math.ceil((Math.min(...expiries) - now) / 1000)) };
    }
    const expiry = now + windowSeconds * 1000;
    this.ctx.storage.kv.put(ATTEMPTS, [...expiries, expiry]);
    await this.ctx.storage.setAlarm(expiry);
    return { admitted: true, attempt: expiry };
  }

  /** Uncounts one admitted attempt that turned out not to be a failure. */
  async release(attempt: number): Promise<void> {
    const expiries = this.#expiries(Date.now());
    const index = expiries.indexOf(attempt);
    if (index >= 0) expiries.splice(index, 1);
    this.ctx.storage.kv.put(ATTEMPTS, expiries);
  }

  /** Forgets every attempt. */
  async reset(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  async alarm(): Promise<void> {
    const expiries = this.#expiries(Date.now());
    if (expiries.length === 0) {
      await this.ctx.storage.deleteAll();
    } else {
      this.ctx.storage.kv.put(ATTEMPTS, expiries);
      await this.ctx.storage.setAlarm(Math.max(...expiries));
    }
  }

  /** When each attempt still in the window leaves it (ms since the epoch). */
  #expiries(now: number): number[] {
    return (this.ctx.storage.kv.get<number[]>(ATTEMPTS) ?? []).filter((expiry) => expiry > now);
  }
}

export type Counter = { rule: ThrottleRule; subject: string };
type AdmittedAttempt = Counter & { attempt: number };

/** Counts an attempt on every counter, or on none: if one refuses, the others are uncounted and it is a 429. */
async function admitAll(env: Env, counters: Counter[]): Promise<AdmittedAttempt[]> {
  const admissions = await Promise.all(counters.map(({ rule, subject }) => throttleCounter(env, rule, subject).admit(rule)));
  const admitted: AdmittedAttempt[] = [];
  const waits: number[] = [];
  admissions.forEach((admission, i) => {
    if (admission.admitted) admitted.push({ ...counters[i], attempt: admission.attempt });
    else waits.push(admission.retryAfterSeconds);
  });
  if (waits.length === 0) return admitted;
  await Promise.all(admitted.map(({ rule, subject, attempt }) => throttleCounter(env, rule, subject).release(attempt)));
  throw tooManyAttempts(Math.max(...waits));
}

/**
 * The counters of a login for `email` from `address` (CF-Connecting-IP). A request without that
 * header did not come through Cloudflare's edge (a test's): its email is counted, alone and as
 * the pair's subject, and no address is.
 */
export function loginCounters(email: string, address: string | undefined): Counter[] {
  if (address === undefined) return [{ rule: "login-email-address", subject: email }, { rule: "login-email", subject: email }];
  const key = addressKey(address);
  return [
    // An email holds no space, so this never equals a subject of the request without an address.
    { rule: "login-email-address", subject: `${email} ${key}` },
    { rule: "login-address", subject: key },
    { rule: "login-email", subject: email },
  ];
}

/**
 * Admits a login attempt for `email` from `address` (if known), or throws a 429 with Retry-After,
 * before any password is checked. The attempt counts as a failure until `succeeded` is called:
 * so parallel guesses cannot all slip in before the first failure is counted.
 */
export async function admitLogin(env: Env, email: string, address: string | undefined): Promise<{ succeeded(): Promise<void> }> {
  const admitted = await admitAll(env, loginCounters(email, address));
  return {
    // A success clears the failures of its email from its address; on the address and on the
    // email as a whole it only uncounts itself, so one working account cannot clear what an
    // address piled up on other accounts, nor the owner what others piled up on the email.
    async succeeded() {
      await Promise.all(
        admitted.map(({ rule, subject, attempt }) => {
          const counter = throttleCounter(env, rule, subject);
          return rule === "login-email-address" ? counter.reset() : counter.release(attempt);
        }),
      );
    },
  };
}

/** Admits a registration from `address` (if known), counted on the address and on its network, or throws a 429 with Retry-After. */
export async function admitRegistration(env: Env, address: string | undefined): Promise<void> {
  if (address === undefined) return;
  await admitAll(env, [
    { rule: "registration-address", subject: addressKey(address) },
    { rule: "registration-network", subject: networkKey(address) },
  ]);
}
