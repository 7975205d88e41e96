import { copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';

import { REPO_ROOT, stopProcessGroup } from '../../dev/n8n-instance';
import { readState, STATE_VARIABLE } from './support/shared-n8n';

/** Stops the current n8n process group, keeps n8n's log as an artifact, removes the folder. */
export default async function globalTeardown(): Promise<void> {
	const file = process.env[STATE_VARIABLE];
	if (!file) return;
	const state = await readState(file);
	await stopProcessGroup(state.pid);
	const artifacts = path.join(REPO_ROOT, '.artifacts', 'e2e');
	await mkdir(artifacts, { recursive: true });
	await copyFile(state.settings.logFile, path.join(artifacts, 'n8n.log')).catch(() => undefined);
	process.stdout.write(
		`n8n start-up times (s): ${state.startSeconds.map((seconds) => seconds.toFixed(1)).join(', ')}; log kept in ${artifacts}\n`,
	);
	await rm(state.folder, { recursive: true, force: true });
}
