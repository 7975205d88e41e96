import { randomBytes } from 'node:crypto';

export type TokenKind = 'short' | 'long';

interface TokenEntry {
	kind: TokenKind;
	username: string;
	expiresAt: number;
}

export type TokenLookup = { ok: true; username: string } | { ok: false; reason: 'unknown' | 'expired' };

/** Issued tokens, each random hex, bound to an account and a lifetime in milliseconds. */
export class TokenStore {
	private readonly tokens = new Map<string, TokenEntry>();

	constructor(private readonly ttlMs: Record<TokenKind, number>) {}

	issue(kind: TokenKind, username: string, now: number): { token: string; expiresInSeconds: number } {
		const token = randomBytes(24).toString('hex');
		const ttl = this.ttlMs[kind];
		this.tokens.set(token, { kind, username, expiresAt: now + ttl });
		return { token, expiresInSeconds: Math.ceil(ttl / 1000) };
	}

	/** A live token of `kind`; a token of the other kind is unknown here. */
	lookup(kind: TokenKind, token: string, now: number): TokenLookup {
		const entry = this.tokens.get(token);
		if (!entry || entry.kind !== kind) return { ok: false, reason: 'unknown' };
		if (now >= entry.expiresAt) return { ok: false, reason: 'expired' };
		return { ok: true, username: entry.username };
	}

	/** Expires every token of `username`, or every token. */
	expire(username?: string): number {
		let count = 0;
		for (const entry of this.tokens.values()) {
			if (username === undefined || entry.username === username) {
				entry.expiresAt = Number.NEGATIVE_INFINITY;
				count++;
			}
		}
		return count;
	}

	revoke(token: string): boolean {
		return this.tokens.delete(token);
	}
}
