import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import {
	installCommunityPackage,
	newSettings,
	packPackage,
	setUpOwner,
	startN8n,
	stopProcessGroup,
} from '../../dev/n8n-instance';
import { OWNER, STATE_VARIABLE, writeState } from './support/shared-n8n';

/**
 * Packs the built package (npm run build comes first), installs the tarball into a fresh n8n
 * as n8n installs community packages, starts n8n and creates its owner. Debug logging, so
 * that the secret checks read everything n8n can log.
 */
export default async function globalSetup(): Promise<void> {
	const folder = await mkdtemp(path.join(os.tmpdir(), 'factori-e2e-'));
	const settings = await newSettings(folder, { extraEnv: { N8N_LOG_LEVEL: 'debug' } });
	const tarball = await packPackage(folder);
	await installCommunityPackage(settings.userFolder, tarball);
	const n8n = await startN8n(settings);
	try {
		const cookie = await setUpOwner(n8n.url, OWNER);
		const file = path.join(folder, 'state.json');
		process.env[STATE_VARIABLE] = file;
		await writeState(
			{ folder, settings, pid: n8n.pid, url: n8n.url, cookie, owner: OWNER, startSeconds: [n8n.startSeconds] },
			file,
		);
		killOnAbort(file, folder);
		process.stdout.write(`\nn8n ${n8n.url} ready after ${n8n.startSeconds.toFixed(1)} s (folder ${folder})\n`);
	} catch (error) {
		await stopProcessGroup(n8n.pid);
		throw error;
	}
}

/**
 * If the run is interrupted (Ctrl-C) or dies before global-teardown.ts, n8n would be left
 * running in its own process group: kill the current one (a restart changes it). After a
 * normal teardown the state file is gone and there is nothing to do.
 */
function killOnAbort(file: string, folder: string): void {
	const kill = () => {
		try {
			const { pid } = JSON.parse(readFileSync(file, 'utf8')) as { pid: number };
			process.kill(-pid, 'SIGKILL');
		} catch {
			// already stopped and cleaned up
		}
	};
	process.once('exit', kill);
	for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
		process.once(signal, () => {
			kill();
			rmSync(folder, { recursive: true, force: true });
			process.exit(130);
		});
	}
}
