// Passwords that top the published lists of the most used (and so the first guessed) passwords,
// lower-cased. Only those of 8 or more characters: shorter ones already fail the length rule.
const COMMON_PASSWORDS = new Set([
  "password", "password1", "password12", "password123", "password1234", "password!", "password1!", "1password",
  "passw0rd", "p@ssw0rd", "p@ssword", "passport",
  "12345678", "123456789", "1234567890", "12345678910", "987654321", "87654321", "147258369", "123654789",
  "11111111", "00000000", "55555555", "66666666", "77777777", "88888888", "999999999",
  "12341234", "12121212", "11223344", "123123123", "123456789a", "123abc123",
  "1q2w3e4r", "1q2w3e4r5t", "q1w2e3r4", "q1w2e3r4t5", "1qaz2wsx", "zaq12wsx", "1234qwer", "qwer1234",
  "12345qwert", "123qweasd", "qweasdzxc", "qwertyuiop", "qwertyui", "qwerty12", "qwerty123", "qwerty1234",
  "asdfghjkl", "asdfasdf", "asdf1234", "zxcvbnm1", "zxcvbnm123",
  "abcd1234", "1234abcd", "abc12345", "abcdefgh", "aa123456", "a1234567", "a12345678",
  "iloveyou", "iloveyou1", "iloveyou2", "iloveyou123", "loveme123", "lovely123",
  "sunshine", "sunshine1", "princess", "princess1", "babygirl1", "midnight",
  "football", "football1", "baseball", "basketball", "soccer123", "hockey123",
  "liverpool", "chelsea1", "arsenal1", "jordan23",
  "superman", "batman123", "starwars", "pokemon1", "blink182",
  "whatever", "trustno1", "letmein1", "letmein123", "welcome1", "welcome123", "freedom1", "hello123",
  "admin123", "administrator", "changeme", "changeme123", "secret123",
  "computer", "internet", "samsung1", "google123", "myspace1",
  "jennifer", "michelle", "matthew1", "charlie1",
  "master12", "mustang1", "shadow12", "dragon12", "monkey123", "killer123", "harley123",
]);

/** Whether the password is one of the most common ones, ignoring case. */
export function isCommonPassword(password: string): boolean {
  return COMMON_PASSWORDS.has(password.toLowerCase());
}
