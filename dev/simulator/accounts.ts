import type { Usage } from '../../nodes/Factori/transport/contract';

export interface SimulatorAccount {
	username: string;
	/** The user's own password: the account can log in at once. */
	password?: string;
	/** A temporary password: the account must reset it before it can log in. */
	temporaryPassword?: string;
	/** Pings the contract allows in all (default DEFAULT_MAX_LIMIT). */
	maxLimit?: number;
}

export interface QuotaUpdate {
	maxLimit?: number;
	totalHits?: number;
	failedRequests?: number;
}

export const DEFAULT_MAX_LIMIT = 1_000_000;

/** Minimum length of a password chosen at reset (factori-api.md, reset_password 400). */
export const MIN_PASSWORD_LENGTH = 8;

/** The accounts the simulator starts with unless told otherwise. */
export const DEMO_ACCOUNT: Readonly<SimulatorAccount> = { username: 'demo', temporaryPassword: 'demo-temporary' };
export const READY_ACCOUNT: Readonly<SimulatorAccount> = { username: 'ready', password: 'ready-password-1' };
export const DEMO_ACCOUNTS: readonly SimulatorAccount[] = [DEMO_ACCOUNT, READY_ACCOUNT];

export interface AccountState {
	readonly username: string;
	password: string;
	mustReset: boolean;
	maxLimit: number;
	totalHits: number;
	failedRequests: number;
}

const isCount = (value: number) => Number.isInteger(value) && value >= 0;

export type LoginResult = 'ok' | 'invalid' | 'reset-required';

export class Accounts {
	private readonly byName = new Map<string, AccountState>();

	/** Adds an account, or replaces the one with the same username. */
	add(account: SimulatorAccount): void {
		if (!account.username) throw new Error('an account needs a username');
		const password = account.temporaryPassword ?? account.password;
		if (!password) throw new Error(`account "${account.username}" needs a password or a temporaryPassword`);
		const maxLimit = account.maxLimit ?? DEFAULT_MAX_LIMIT;
		if (!isCount(maxLimit)) throw new Error(`maxLimit of "${account.username}" must be a whole number >= 0`);
		this.byName.set(account.username, {
			username: account.username,
			password,
			mustReset: account.temporaryPassword !== undefined,
			maxLimit,
			totalHits: 0,
			failedRequests: 0,
		});
	}

	get(username: string): AccountState | undefined {
		return this.byName.get(username);
	}

	require(username: string): AccountState {
		const account = this.byName.get(username);
		if (!account) throw new Error(`no simulator account "${username}"`);
		return account;
	}

	/** Whether `password` is the account's current one (temporary or chosen). */
	passwordMatches(username: string, password: string): boolean {
		const account = this.byName.get(username);
		return account !== undefined && account.password === password;
	}

	/**
	 * The contract answers 403 "while the account still has its temporary password": any
	 * login of such an account is refused with the reset hint, whatever password it tried,
	 * since the user's own password cannot exist before the reset.
	 */
	login(username: string, password: string): LoginResult {
		if (this.byName.get(username)?.mustReset) return 'reset-required';
		return this.passwordMatches(username, password) ? 'ok' : 'invalid';
	}

	resetPassword(username: string, newPassword: string): void {
		const account = this.require(username);
		account.password = newPassword;
		account.mustReset = false;
	}

	setQuota(username: string, update: QuotaUpdate): void {
		const account = this.require(username);
		for (const [field, value] of Object.entries(update)) {
			if (value !== undefined && !isCount(value)) throw new Error(`${field} must be a whole number >= 0`);
		}
		if (update.maxLimit !== undefined) account.maxLimit = update.maxLimit;
		if (update.totalHits !== undefined) account.totalHits = update.totalHits;
		if (update.failedRequests !== undefined) account.failedRequests = update.failedRequests;
	}

	usage(username: string): Usage {
		const { maxLimit, totalHits, failedRequests } = this.require(username);
		return {
			max_limit: maxLimit,
			usage_quota: Math.max(0, maxLimit - totalHits + failedRequests),
			total_hits: totalHits,
			failed_requests: failedRequests,
		};
	}

	/** Counts one ping; a failed one is counted but not billed. */
	countHit(username: string, failed: boolean): void {
		const account = this.require(username);
		account.totalHits++;
		if (failed) account.failedRequests++;
	}
}
