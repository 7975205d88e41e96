/**
 * Checks that no secret shows up in what n8n stores or prints. Results name the secret that
 * leaked, never its value, so that a failing test does not print it either.
 */

/** The simulator's tokens: 24 random bytes as hex. */
const TOKEN_SHAPE = /(?<![0-9a-f])[0-9a-f]{48}(?![0-9a-f])/;

export type Secrets = Record<string, string>;

/** Secrets from the simulator's record of Authorization headers (`Bearer <token>`). */
export function tokensSeen(authorizations: readonly string[]): Secrets {
	const tokens = new Set(authorizations.map((header) => header.replace(/^Bearer\s+/i, '')).filter(Boolean));
	return Object.fromEntries([...tokens].map((token, index) => [`token #${index + 1}`, token]));
}

/** Names of the secrets found in `text`; with `tokenShape`, also any string shaped like a token. */
export function leaks(text: string, secrets: Secrets, options: { tokenShape?: boolean } = {}): string[] {
	const found = Object.entries(secrets)
		.filter(([, value]) => value.length > 0 && text.includes(value))
		.map(([name]) => name);
	if (options.tokenShape && TOKEN_SHAPE.test(text)) found.push('a token-shaped string (48 hex characters)');
	return found;
}
