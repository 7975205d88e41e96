/**
 * `npm start`: this package inside a real n8n, against the local Factori simulator.
 *
 * Starts the simulator (a demo account that still has its temporary password), installs the
 * packed package into a fresh n8n the way n8n installs community packages, imports a Factori
 * credential and the example workflows, publishes the webhook example, creates the editor
 * login and prints how to use it. Ctrl-C stops n8n and the simulator and deletes the demo's
 * folder. Options: --port N (editor port; default 5678, or a free one when it is taken).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { DEMO_ACCOUNT, startSimulator, type Simulator } from './simulator/server';
import {
	EXAMPLES,
	FACTORI_CREDENTIAL_TYPE,
	filePathsOf,
	prepareExample,
	readExample,
	webhookPathOf,
	type ExampleName,
} from './examples';
import {
	N8nRest,
	freePort,
	installCommunityPackage,
	n8nCommand,
	newCredentialId,
	newSettings,
	packPackage,
	setUpOwner,
	startN8n,
	waitForWebhook,
	type Owner,
	type RunningN8n,
} from './n8n-instance';

const DEFAULT_PORT = 5678;

/** The editor login the demo creates (a local throwaway instance). */
const OWNER: Owner = { email: 'demo@example.com', firstName: 'Demo', lastName: 'User', password: 'Factori-Demo-1' };

/** The password the credential sets when it resets the demo account's temporary one. */
const DEMO_CHOSEN_PASSWORD = 'demo-chosen-password';
const CREDENTIAL_NAME = 'Factori account (local simulator)';

/** A few rows for the CSV example: two that match, one that does not, one malformed. */
const SAMPLE_CSV = [
	'name,email',
	'Jane Doe,Jane.Doe@Example.com',
	'John Roe,john.roe@example.org',
	'No Match,someone-nomatch@example.com',
	'Broken Row,not-an-email',
	'',
].join('\n');

const SAMPLE_CONTACTS = {
	contacts: [
		{ email: 'Jane.Doe@Example.com', crm_id: 'A-1' },
		{ phone: '(555) 123-4567', crm_id: 'A-2' },
		{ email: 'someone-nomatch@example.com', crm_id: 'A-3' },
		{ email: 'not-an-email', crm_id: 'A-4' },
	],
};

const say = (text = '') => process.stdout.write(`${text}\n`);

function portOption(): number | undefined {
	const args = process.argv.slice(2);
	const index = args.findIndex((arg) => arg === '--port' || arg.startsWith('--port='));
	if (index === -1) return undefined;
	const text = args[index].includes('=') ? args[index].split('=')[1] : args[index + 1];
	const port = Number(text);
	if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`--port needs a port number, not "${text}"`);
	return port;
}

async function portOrFree(preferred: number): Promise<number> {
	const taken = await new Promise<boolean>((resolve) => {
		const probe = net.createServer();
		probe.once('error', () => resolve(true));
		probe.listen(preferred, '127.0.0.1', () => probe.close(() => resolve(false)));
	});
	return taken ? await freePort() : preferred;
}

/** What is running, so that Ctrl-C or a failure stops exactly that. */
const started: { folder?: string; simulator?: Simulator; n8n?: RunningN8n } = {};

async function stopAll(removeFolder: boolean): Promise<void> {
	await started.n8n?.stop();
	started.n8n = undefined;
	await started.simulator?.stop();
	started.simulator = undefined;
	if (removeFolder && started.folder) await rm(started.folder, { recursive: true, force: true });
}

async function main(): Promise<void> {
	const requestedPort = portOption();
	const folder = await mkdtemp(path.join(os.tmpdir(), 'n8n-factori-demo-'));
	started.folder = folder;
	const clock = Date.now();
	const step = (text: string) => say(`[demo ${((Date.now() - clock) / 1000).toFixed(0).padStart(3)}s] ${text}`);

	step('checking the n8n runtime (the first run installs it: about 5 minutes, once)');
	const settings = await newSettings(folder, { port: requestedPort ?? (await portOrFree(DEFAULT_PORT)) });

	step('starting the Factori simulator');
	const simulator = await startSimulator();
	started.simulator = simulator;

	step('packing the package and installing it into n8n as a community package');
	const tarball = await packPackage(folder);
	await installCommunityPackage(settings.userFolder, tarball);

	step('importing the Factori credential (n8n import:credentials)');
	const credential = { id: newCredentialId(), name: CREDENTIAL_NAME };
	const credentialFile = path.join(folder, 'credential.json');
	await writeFile(
		credentialFile,
		JSON.stringify([
			{
				...credential,
				type: FACTORI_CREDENTIAL_TYPE,
				data: {
					username: DEMO_ACCOUNT.username,
					password: DEMO_CHOSEN_PASSWORD,
					temporaryPassword: DEMO_ACCOUNT.temporaryPassword,
					baseUrl: simulator.url,
				},
			},
		]),
	);
	try {
		await n8nCommand(settings, ['import:credentials', `--input=${credentialFile}`]);
	} finally {
		// n8n stores it encrypted; the plain copy has done its job.
		await rm(credentialFile, { force: true });
	}

	step(`starting n8n on http://127.0.0.1:${settings.port} (log: ${settings.logFile})`);
	const n8n = await startN8n(settings);
	started.n8n = n8n;
	step(`n8n ready after ${n8n.startSeconds.toFixed(1)} s; creating the editor login`);
	const rest = new N8nRest(n8n.url, await setUpOwner(n8n.url, OWNER));

	step('importing the example workflows');
	const imported: Partial<Record<ExampleName, { id: string; name: string }>> = {};
	let webhookPath = '';
	let csvInput = '';
	for (const name of Object.keys(EXAMPLES) as ExampleName[]) {
		const workflow = prepareExample(await readExample(name), { credential, filesDir: settings.filesDir });
		const stored = await rest.createWorkflow(workflow);
		imported[name] = stored;
		if (name === 'spreadsheet') {
			csvInput = filePathsOf(workflow).inputFile;
			await writeFile(csvInput, SAMPLE_CSV);
		}
		if (name === 'webhook') {
			webhookPath = webhookPathOf(workflow);
			await rest.activate(stored);
			await waitForWebhook(n8n.url, webhookPath);
		}
	}
	step('ready');

	const curl =
		`curl -s -X POST ${n8n.url}/webhook/${webhookPath} -H 'content-type: application/json' ` +
		`-d '${JSON.stringify(SAMPLE_CONTACTS)}'`;
	say();
	say('n8n with the Factori node is running.');
	say();
	say(`  Editor:   ${n8n.url}`);
	say(`  Login:    ${OWNER.email} / ${OWNER.password}`);
	say(`  Factori:  a local simulator at ${simulator.url}, account "${DEMO_ACCOUNT.username}" with its`);
	say(`            temporary password: the credential "${CREDENTIAL_NAME}" resets it on first use.`);
	say();
	say('  Workflows:');
	for (const name of Object.keys(imported) as ExampleName[]) {
		const workflow = imported[name];
		if (workflow) say(`    ${workflow.name}: ${n8n.url}/workflow/${workflow.id}${name === 'webhook' ? ' (published)' : ''}`);
	}
	say(`    The CSV example reads ${csvInput}: open it and press "Execute workflow".`);
	say();
	say('  Enrich contacts through the webhook:');
	say();
	say(`    ${curl}`);
	say();
	say(`Press Ctrl-C to stop n8n and the simulator (this deletes ${folder}).`);
}

let stopping = false;
async function onSignal(): Promise<void> {
	if (stopping) {
		if (started.n8n) process.kill(-started.n8n.pid, 'SIGKILL');
		process.exit(130);
	}
	stopping = true;
	say('\nstopping n8n and the simulator ...');
	await stopAll(true);
	say('stopped.');
	process.exit(0);
}
process.on('SIGINT', () => void onSignal());
process.on('SIGTERM', () => void onSignal());
// Last resort if this process dies some other way: n8n runs in its own process group.
process.on('exit', () => {
	if (started.n8n) {
		try {
			process.kill(-started.n8n.pid, 'SIGKILL');
		} catch {
			// already gone
		}
	}
});

main().catch(async (error: unknown) => {
	say(`\nThe demo could not start: ${error instanceof Error ? error.message : String(error)}`);
	const logFile = started.folder ? path.join(started.folder, 'n8n.log') : undefined;
	if (logFile) {
		const log = await readFile(logFile, 'utf8').catch(() => '');
		if (log) say(`last lines of ${logFile}:\n${log.split('\n').slice(-30).join('\n')}`);
	}
	await stopAll(false);
	if (started.folder) say(`(its files are kept in ${started.folder})`);
	process.exit(1);
});
