/**
 * The one n8n every end-to-end test file uses. global-setup.ts starts it and writes its
 * state (settings, process id, owner session) to a file named by FACTORI_E2E_STATE; test
 * files read it here, and may restart n8n (the new process id goes back into the file, so
 * that global-teardown.ts stops whichever process is current).
 *
 * Each test file starts its own simulator and creates its own credential and workflows, so
 * files do not share logins or counters; webhook paths are made unique per file.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { N8nRest, startN8n, stopProcessGroup, type N8nSettings, type Owner } from '../../../dev/n8n-instance';

export const STATE_VARIABLE = 'FACTORI_E2E_STATE';

export interface SharedState {
	folder: string;
	settings: N8nSettings;
	pid: number;
	url: string;
	cookie: string;
	owner: Owner;
	/** Seconds each start of n8n took until it was ready, in order. */
	startSeconds: number[];
}

export const OWNER: Owner = { email: 'e2e-owner@example.com', firstName: 'End', lastName: 'ToEnd', password: 'E2e-Owner-Passw0rd' };

export function stateFile(): string {
	const file = process.env[STATE_VARIABLE];
	if (!file) throw new Error(`${STATE_VARIABLE} is not set: run the e2e tests through test/e2e/jest.config.js`);
	return file;
}

export async function readState(file = stateFile()): Promise<SharedState> {
	return JSON.parse(await readFile(file, 'utf8')) as SharedState;
}

export async function writeState(state: SharedState, file = stateFile()): Promise<void> {
	await writeFile(file, JSON.stringify(state, null, 2));
}

export class SharedN8n {
	readonly rest: N8nRest;

	private constructor(private state: SharedState) {
		this.rest = new N8nRest(state.url, state.cookie);
	}

	static async open(): Promise<SharedN8n> {
		return new SharedN8n(await readState());
	}

	get url(): string {
		return this.state.url;
	}

	get settings(): N8nSettings {
		return this.state.settings;
	}

	get cookie(): string {
		return this.state.cookie;
	}

	/** Stops n8n and starts it again on the same folder, database and port. */
	async restart(): Promise<number> {
		await stopProcessGroup(this.state.pid);
		const n8n = await startN8n(this.state.settings);
		this.state = { ...this.state, pid: n8n.pid, startSeconds: [...this.state.startSeconds, n8n.startSeconds] };
		await writeState(this.state);
		return n8n.startSeconds;
	}

	/** Everything n8n has written to stdout and stderr so far. */
	async log(): Promise<string> {
		return await readFile(this.state.settings.logFile, 'utf8');
	}

	/** The SQLite database's files (main file, write-ahead log), as raw bytes read as text. */
	async databaseBytes(): Promise<string> {
		const base = path.join(this.state.settings.userFolder, '.n8n', 'database.sqlite');
		const parts = await Promise.all(
			[base, `${base}-wal`].map(async (file) => await readFile(file).catch(() => Buffer.alloc(0))),
		);
		return Buffer.concat(parts).toString('latin1');
	}
}
