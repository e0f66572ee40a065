import { invalidCredentials } from "../errors/catalogue";
import { admitLogin } from "./login-throttle";
import { verifyPassword } from "./password";

// The password of a signed-in account, asked again before a change that a stolen token alone must
// not make (PUT /user/password, DELETE /user).

/**
 * Checks `password` against the account's stored hash under the login throttle, counted as a
 * login for the account's email from `address` would be: 429 past a limit before any hashing,
 * 401 invalid_credentials if wrong (a failure the limits count), and nothing counted if right.
 */
export async function confirmPassword(env: Env, account: { email: string; passwordHash: string }, password: string, address: string | undefined): Promise<void> {
  const attempt = await admitLogin(env, account.email, address);
  if (!(await verifyPassword(password, account.passwordHash))) throw invalidCredentials();
  await attempt.succeeded();
}
