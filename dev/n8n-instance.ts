/**
 * A real n8n, from the pinned runtime (dev/n8n-runtime.sh), with this package installed the
 * way n8n installs a community package: the demo (dev/demo.ts) and the end-to-end tests
 * (test/e2e) both start n8n through here.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const REPO_ROOT = path.resolve(__dirname, '..');
const RUNTIME_SCRIPT = path.join(REPO_ROOT, 'dev', 'n8n-runtime.sh');

/** Where n8n looks for community packages, under N8N_USER_FOLDER (n8n's `nodesDownloadDir`). */
export const COMMUNITY_NODES_DIR = path.join('.n8n', 'nodes');
/** Everything 127.0.0.1: n8n's editor, REST API and webhooks listen here only. */
export const HOST = '127.0.0.1';

/**
 * Installs the runtime when it is missing (4-6 minutes the first time; progress goes to
 * stderr) and returns the PATH that puts its Node 24 and its `n8n` first.
 */
export async function runtimePath(): Promise<string> {
	await new Promise<void>((resolve, reject) => {
		const install = spawn(RUNTIME_SCRIPT, ['install'], { stdio: ['ignore', 'ignore', 'inherit'] });
		install.once('error', reject);
		install.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${RUNTIME_SCRIPT} install exited with ${code}`))));
	});
	// The script's own `env` lines are the one statement of where its binaries live.
	const { stdout } = await run('bash', ['-c', `eval "$("$0" env)" && printf %s "$PATH"`, RUNTIME_SCRIPT]);
	return stdout;
}

/** A port nobody listens on right now, on 127.0.0.1. */
export async function freePort(): Promise<number> {
	return await new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once('error', reject);
		server.listen(0, HOST, () => {
			const { port } = server.address() as net.AddressInfo;
			server.close(() => resolve(port));
		});
	});
}

/** `npm pack` of the built package into `destination`; returns the tarball's path. */
export async function packPackage(destination: string): Promise<string> {
	await mkdir(destination, { recursive: true });
	const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', destination], {
		cwd: REPO_ROOT,
		maxBuffer: 16 * 1024 * 1024,
	});
	const [packed] = JSON.parse(stdout) as Array<{ filename: string }>;
	return path.join(destination, packed.filename);
}

/**
 * Installs a package tarball into `<userFolder>/.n8n/nodes`, step for step as n8n's own
 * community package installer does with the tarball it fetches (Settings > Community
 * nodes > Install): unpack into node_modules/<name>, drop dev, peer and optional
 * dependencies, `npm install` with n8n's flags, record it in nodes/package.json. n8n then
 * loads it at start-up under the package's name: node type `<package>.<node>`.
 */
export async function installCommunityPackage(userFolder: string, tarball: string): Promise<{ name: string; version: string }> {
	const nodesDir = path.join(userFolder, COMMUNITY_NODES_DIR);
	const staging = path.join(nodesDir, '.unpack');
	await mkdir(staging, { recursive: true });
	await run('tar', ['-xzf', tarball, '-C', staging, '--strip-components=1']);
	const manifest = JSON.parse(await readFile(path.join(staging, 'package.json'), 'utf8')) as Record<string, unknown> & {
		name: string;
		version: string;
	};
	const packageDir = path.join(nodesDir, 'node_modules', manifest.name);
	await mkdir(path.dirname(packageDir), { recursive: true });
	await rename(staging, packageDir);

	const kept: Record<string, unknown> = { ...manifest };
	for (const field of ['devDependencies', 'peerDependencies', 'optionalDependencies']) delete kept[field];
	await writeFile(path.join(packageDir, 'package.json'), JSON.stringify(kept, null, 2));
	await run(
		'npm',
		['install', '--audit=false', '--fund=false', '--bin-links=false', '--install-strategy=shallow', '--ignore-scripts=true', '--package-lock=false'],
		{ cwd: packageDir, env: withoutNpmSettings(process.env) },
	);
	const index = { name: 'installed-nodes', private: true, dependencies: { [manifest.name]: manifest.version } };
	await writeFile(path.join(nodesDir, 'package.json'), JSON.stringify(index, null, 2));
	return { name: manifest.name, version: manifest.version };
}

export interface N8nSettings {
	/** N8N_USER_FOLDER: n8n keeps its database, settings and community packages under `.n8n` here. */
	userFolder: string;
	port: number;
	/** The task runner broker's port; each n8n process on the machine needs its own. */
	brokerPort: number;
	encryptionKey: string;
	/** The only folder the Read/Write Files node may touch (N8N_RESTRICT_FILE_ACCESS_TO). */
	filesDir: string;
	/** PATH with the runtime first (runtimePath()). */
	path: string;
	/** Where n8n's stdout and stderr go (appended). */
	logFile: string;
	/** Extra environment, e.g. N8N_LOG_LEVEL. */
	extraEnv?: Record<string, string>;
}

/** New settings for a fresh instance in `folder` (ports picked now). */
export async function newSettings(folder: string, options: { port?: number; extraEnv?: Record<string, string> } = {}): Promise<N8nSettings> {
	const settings: N8nSettings = {
		userFolder: path.join(folder, 'n8n'),
		port: options.port ?? (await freePort()),
		brokerPort: await freePort(),
		encryptionKey: randomBytes(24).toString('hex'),
		filesDir: path.join(folder, 'files'),
		path: await runtimePath(),
		logFile: path.join(folder, 'n8n.log'),
		extraEnv: options.extraEnv,
	};
	await mkdir(settings.userFolder, { recursive: true });
	await mkdir(settings.filesDir, { recursive: true });
	return settings;
}

export function baseUrl(settings: N8nSettings): string {
	return `http://${HOST}:${settings.port}`;
}

/** The environment every n8n command of an instance runs with. */
export function n8nEnv(settings: N8nSettings, brokerPort = settings.brokerPort): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = {
		...withoutNpmSettings(process.env),
		PATH: settings.path,
		N8N_USER_FOLDER: settings.userFolder,
		N8N_ENCRYPTION_KEY: settings.encryptionKey,
		N8N_LISTEN_ADDRESS: HOST,
		N8N_HOST: HOST,
		N8N_PORT: String(settings.port),
		N8N_PROTOCOL: 'http',
		WEBHOOK_URL: `${baseUrl(settings)}/`,
		N8N_EDITOR_BASE_URL: `${baseUrl(settings)}/`,
		N8N_SECURE_COOKIE: 'false',
		N8N_RUNNERS_BROKER_PORT: String(brokerPort),
		N8N_RUNNERS_BROKER_LISTEN_ADDRESS: HOST,
		N8N_RESTRICT_FILE_ACCESS_TO: settings.filesDir,
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_HIRING_BANNER_ENABLED: 'false',
		...settings.extraEnv,
	};
	// n8n loads every folder listed here as custom nodes (`CUSTOM.<name>`), an empty value too.
	delete env.N8N_CUSTOM_EXTENSIONS;
	// Under a test runner NODE_ENV is 'test', and n8n then refuses to load any nodes.
	delete env.NODE_ENV;
	delete env.JEST_WORKER_ID;
	return env;
}

/** Runs an n8n CLI command (import:credentials, ...) while no server, or another, is running. */
export async function n8nCommand(settings: N8nSettings, args: string[]): Promise<string> {
	const env = n8nEnv(settings, await freePort());
	try {
		const { stdout } = await run('n8n', args, { env, cwd: settings.userFolder, maxBuffer: 64 * 1024 * 1024 });
		return stdout;
	} catch (error) {
		const failed = error as { stdout?: string; stderr?: string; message: string };
		throw new Error(`n8n ${args.join(' ')} failed: ${failed.message}\n${failed.stdout ?? ''}${failed.stderr ?? ''}`);
	}
}

/** The environment without what `npm run` exports (npm_config_*, ...), which npm would obey. */
function withoutNpmSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
	return Object.fromEntries(Object.entries(env).filter(([name]) => !/^npm_/i.test(name)));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether process group `pid` still has a live member. */
function groupAlive(pid: number): boolean {
	try {
		process.kill(-pid, 0);
		return true;
	} catch {
		return false;
	}
}

/**
 * Stops n8n's whole process group (n8n and its task runner): SIGTERM, n8n's graceful
 * shutdown, then SIGKILL for whatever is left after `graceMs`.
 */
export async function stopProcessGroup(pid: number, graceMs = 20_000): Promise<void> {
	if (!groupAlive(pid)) return;
	try {
		process.kill(-pid, 'SIGTERM');
	} catch {
		return;
	}
	const deadline = Date.now() + graceMs;
	while (groupAlive(pid) && Date.now() < deadline) await sleep(100);
	if (groupAlive(pid)) {
		try {
			process.kill(-pid, 'SIGKILL');
		} catch {
			// gone in between
		}
		while (groupAlive(pid)) await sleep(50);
	}
}

export interface RunningN8n {
	readonly pid: number;
	readonly url: string;
	/** Seconds from spawn to /healthz/readiness answering 200. */
	readonly startSeconds: number;
	stop(): Promise<void>;
}

/**
 * Starts `n8n start` in its own process group and waits until it is ready. The process
 * stays up until stop() (or stopProcessGroup(pid)).
 */
export async function startN8n(settings: N8nSettings, timeoutMs = 120_000): Promise<RunningN8n> {
	const log = openSync(settings.logFile, 'a');
	const started = Date.now();
	const child = spawn('n8n', ['start'], {
		env: n8nEnv(settings),
		cwd: settings.userFolder,
		detached: true,
		stdio: ['ignore', log, log],
	});
	closeSync(log);
	const pid = child.pid;
	if (pid === undefined) throw new Error('n8n did not start (is the runtime on PATH?)');
	let exited: string | undefined;
	child.once('exit', (code, signal) => {
		exited = `n8n exited (${signal ?? code}) before it was ready; see ${settings.logFile}`;
	});
	child.once('error', (error) => {
		exited = `n8n failed to start: ${error.message}`;
	});
	const url = baseUrl(settings);
	const stop = async () => await stopProcessGroup(pid);
	try {
		for (;;) {
			if (exited) throw new Error(exited);
			if (Date.now() - started > timeoutMs) throw new Error(`n8n was not ready after ${timeoutMs / 1000} s; see ${settings.logFile}`);
			try {
				const response = await fetch(`${url}/healthz/readiness`);
				if (response.ok) break;
			} catch {
				// not listening yet
			}
			await sleep(200);
		}
	} catch (error) {
		await stop();
		throw error;
	}
	return { pid, url, startSeconds: (Date.now() - started) / 1000, stop };
}

export interface Owner {
	email: string;
	firstName: string;
	lastName: string;
	password: string;
}

/** Creates the instance owner (first visit of the editor) and returns the session cookie. */
export async function setUpOwner(url: string, owner: Owner): Promise<string> {
	const response = await fetch(`${url}/rest/owner/setup`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(owner),
	});
	if (!response.ok) throw new Error(`owner setup failed: ${response.status} ${await response.text()}`);
	return authCookie(response);
}

function authCookie(response: Response): string {
	const cookie = response.headers.getSetCookie().find((value) => value.startsWith('n8n-auth='));
	if (!cookie) throw new Error('n8n sent no n8n-auth cookie');
	return cookie.split(';')[0].slice('n8n-auth='.length);
}

export interface WorkflowJson {
	name: string;
	nodes: Array<{ name: string; type: string; parameters: Record<string, unknown>; credentials?: Record<string, unknown>; [key: string]: unknown }>;
	connections: Record<string, unknown>;
	[key: string]: unknown;
}

export interface StoredWorkflow {
	id: string;
	versionId: string;
	name: string;
	active: boolean;
}

/** n8n's REST API as the editor uses it, with the owner's session cookie. */
export class N8nRest {
	constructor(
		readonly url: string,
		readonly cookie: string,
	) {}

	async request<T>(method: string, route: string, body?: unknown): Promise<T> {
		const response = await fetch(`${this.url}/rest${route}`, {
			method,
			headers: { cookie: `n8n-auth=${this.cookie}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const text = await response.text();
		if (!response.ok) throw new Error(`${method} /rest${route}: ${response.status} ${text.slice(0, 500)}`);
		return (JSON.parse(text) as { data: T }).data;
	}

	/** The raw answer text, for checks that look at everything n8n sends. */
	async text(route: string): Promise<string> {
		const response = await fetch(`${this.url}/rest${route}`, { headers: { cookie: `n8n-auth=${this.cookie}` } });
		return await response.text();
	}

	async createCredential(name: string, type: string, data: Record<string, unknown>): Promise<{ id: string; name: string }> {
		return await this.request('POST', '/credentials', { name, type, data });
	}

	async createWorkflow(workflow: WorkflowJson): Promise<StoredWorkflow> {
		return await this.request('POST', '/workflows', workflow);
	}

	/** Publishes (activates) a workflow, as the editor's Publish button does. */
	async activate(workflow: StoredWorkflow): Promise<StoredWorkflow> {
		return await this.request('POST', `/workflows/${workflow.id}/activate`, { versionId: workflow.versionId });
	}
}

/** A credential id as n8n makes them: 16 letters and digits. */
export function newCredentialId(): string {
	const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
	return Array.from(randomBytes(16), (byte) => alphabet[byte % alphabet.length]).join('');
}

/**
 * Waits until n8n has registered the production webhook at `path` (activation registers it
 * shortly after answering). A GET to a POST-only webhook that is registered says so.
 */
export async function waitForWebhook(url: string, webhookPath: string, timeoutMs = 30_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const response = await fetch(`${url}/webhook/${webhookPath}`);
		const text = await response.text();
		if (/not registered for GET requests/.test(text)) return;
		if (Date.now() > deadline) throw new Error(`webhook ${webhookPath} was not registered after ${timeoutMs / 1000} s: ${text.slice(0, 200)}`);
		await sleep(200);
	}
}
