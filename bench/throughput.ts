/**
 * Throughput benchmark: `npm run bench`. Writes bench/RESULTS.md and prints the same table.
 * (See ON_ENGINE_THREAD for the variant with the simulator on the engine's thread.)
 *
 * Both nodes run in one engine, n8n-core's WorkflowExecute with the in-process harness the
 * tests use, against the local Factori simulator over HTTP on 127.0.0.1 at 200 calls per
 * second. The simulator runs on a thread of its own (simulator-thread.ts), as a remote server
 * would: its arrival times do not wait for the engine's event loop.
 *
 * 1. The Factori node: 2,000 distinct lookups at 30 ms and at 300 ms simulated latency.
 * 2. The same job built without this package: n8n's HTTP Request node with Batching (200 items
 *    per batch, 1,000 ms interval), a long token fetched beforehand and sent as a header.
 * 3. Two executions of the Factori node at once on one account, 1,000 lookups each.
 * 4. The node's own CPU per item, network taken out (see ownCpu below).
 *
 * The Factori runs start with a stored token, as every run after a credential's first does:
 * a one-item run logs in first, then the account rests a period before the measured run.
 * The engine is warmed up first (warmEngine), as a long-running n8n is, and every scenario
 * runs RUNS times, taking turns, so that the machine's noise falls on all of them alike.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { IExecuteFunctions, INode, INodeExecutionData, IRun } from 'n8n-workflow';
import { HttpRequest } from 'n8n-nodes-base/dist/nodes/HttpRequest/HttpRequest.node';

import { Factori } from '../nodes/Factori/Factori.node';
import { toWireIdentifier } from '../nodes/Factori/helpers/normalize';
import { PATHS } from '../nodes/Factori/transport/contract';
import { INITIAL_ARRIVAL_MARGIN_MS } from '../nodes/Factori/transport/pacer';
import { longTokenFor } from '../test/support/account-fixture';
import { CredentialStore, NodeTypes, factoriNode, outputOf, runWorkflow } from '../test/support/n8n-harness';
import { startSimulatorHere, startSimulatorThread, type SimulatorThread } from './simulator-thread';

const LIMIT = 200;
const PERIOD_MS = 1_000;
const ITEMS = 2_000;
const DATA = PATHS.consumerData;
const ACCOUNT = { username: 'bench', password: 'bench-password-1' };
/**
 * `npm run bench -- --simulator-on-engine-thread` runs the simulator on the engine's thread, a
 * harsher clock for the pacer (arrivals wait for the engine too), and writes its own file.
 */
const ON_ENGINE_THREAD = process.argv.includes('--simulator-on-engine-thread');
const COMMAND = ON_ENGINE_THREAD ? 'npm run bench -- --simulator-on-engine-thread' : 'npm run bench';
const RESULTS_FILE = ON_ENGINE_THREAD ? 'RESULTS-simulator-on-engine-thread.md' : 'RESULTS.md';
const RUNS = 3;

interface Row {
	scenario: string;
	run: number;
	latencyMs: number;
	items: number;
	/** The period over the mean time between accepted calls a limit apart (see limitGaps). */
	sustained: number;
	/** Mean and shortest time between accepted calls a limit apart, in ms. */
	gaps: { mean: number; shortest: number };
	/** Items per second of the node's execution time, as a share of the limit. */
	overall: number;
	rateLimited: number;
	busiestWindow: number;
	lost: number;
	wallMs: number;
	/** Process CPU (node, n8n-core and the simulator's thread together) per item, in µs. */
	cpuPerItemUs: number;
	ours: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const emails = (count: number, label: string): INodeExecutionData[] =>
	Array.from({ length: count }, (_, index) => ({ json: { email: `${label}.${index}@example.com` } }));

interface Bench {
	sim: SimulatorThread;
	store: CredentialStore;
}

async function setUp(latencyMs: number): Promise<Bench> {
	const start = ON_ENGINE_THREAD ? startSimulatorHere : startSimulatorThread;
	const sim = await start({ accounts: [ACCOUNT], rateLimit: LIMIT, periodMs: PERIOD_MS, latencyMs });
	const store = new CredentialStore(() => undefined);
	store.put('cred-1', { username: ACCOUNT.username, password: ACCOUNT.password, baseUrl: sim.url, rateLimit: LIMIT, rateLimitPeriod: 'second' });
	return { sim, store };
}

const lookupNode = () =>
	factoriNode(
		{ resource: 'consumer', operation: 'lookup', identifierType: 'email', identifier: '={{ $json.email }}' },
		{ onError: 'continueErrorOutput' },
	);

/** Logs in with a one-item run, then lets the account's window empty: the state of any later run. */
async function warmUp(bench: Bench): Promise<void> {
	await runWorkflow({ nodes: [lookupNode()], input: emails(1, 'warm-up'), store: bench.store });
	await sleep(PERIOD_MS + 100);
	await bench.sim.resetStats();
}

/**
 * A sliding-window limit of N per period means call k + N may arrive no sooner than a period
 * after call k. A client that spends the budget fully makes that gap exactly one period,
 * whether it sends in bursts or evenly; the share of the limit it reaches is the period over
 * the mean gap, over every pair of accepted calls N apart.
 */
function limitGaps(accepted: number[]): { mean: number; shortest: number } {
	const pairs = accepted.length - LIMIT;
	if (pairs < 1) return { mean: Number.NaN, shortest: Number.NaN };
	let sum = 0;
	let shortest = Infinity;
	for (let k = 0; k < pairs; k++) {
		const gap = accepted[k + LIMIT] - accepted[k];
		sum += gap;
		shortest = Math.min(shortest, gap);
	}
	return { mean: sum / pairs, shortest };
}

const executionTime = (run: IRun, node: string) => run.data.resultData.runData[node]?.[0]?.executionTime ?? Number.NaN;

/** Items that did not come out with a result: error items, or items missing from the output. */
function lostIn(run: IRun, node: string, items: number): number {
	const results = outputOf(run, node, 0).filter((item) => item.json.error === undefined && item.error === undefined);
	return items - results.length;
}

/** One scenario's measurement: what the run gave, and what the simulator saw. */
interface Measured {
	scenario: string;
	latencyMs: number;
	items: number;
	wallMs: number;
	cpuUs: number;
	lost: number;
	ours: boolean;
}

async function row(bench: Bench, run: number, { scenario, latencyMs, items, wallMs, cpuUs, lost, ours }: Measured): Promise<Row> {
	const seen = await bench.sim.report();
	const gaps = limitGaps(seen.accepted);
	return {
		scenario,
		run,
		latencyMs,
		items,
		sustained: PERIOD_MS / gaps.mean,
		gaps,
		overall: items / (wallMs / 1000) / LIMIT,
		rateLimited: seen.rateLimited,
		busiestWindow: seen.busiestWindow,
		lost,
		wallMs,
		cpuPerItemUs: cpuUs / items,
		ours,
	};
}

const cpuMicros = (since: NodeJS.CpuUsage) => {
	const used = process.cpuUsage(since);
	return used.user + used.system;
};

/** A scenario: runs `items` lookups on a set-up bench and says what it measured. */
type Scenario = (bench: Bench, latencyMs: number, items: number) => Promise<Measured>;

const factoriRun: Scenario = async (bench, latencyMs, items) => {
	await warmUp(bench);
	const input = emails(items, 'lookup');
	const cpu = process.cpuUsage();
	const run = await runWorkflow({ nodes: [lookupNode()], input, store: bench.store });
	const used = cpuMicros(cpu);
	return { scenario: 'Factori node', latencyMs, items, wallMs: executionTime(run, 'Factori'), cpuUs: used, lost: lostIn(run, 'Factori', items), ours: true };
};

const twoExecutions: Scenario = async (bench, latencyMs, items) => {
	await warmUp(bench);
	const inputs = [emails(items / 2, 'first'), emails(items / 2, 'second')];
	const cpu = process.cpuUsage();
	const started = performance.now();
	const runs = await Promise.all(inputs.map((input) => runWorkflow({ nodes: [lookupNode()], input, store: bench.store })));
	const wallMs = performance.now() - started;
	const used = cpuMicros(cpu);
	const lost = runs.reduce((sum, run, index) => sum + lostIn(run, 'Factori', inputs[index].length), 0);
	const scenario = `Factori node, 2 executions x ${grouped(items / 2)} at once`;
	return { scenario, latencyMs, items, wallMs, cpuUs: used, lost, ours: true };
};

/** The same job as a user would build it without this package. */
const httpRequestRun: Scenario = async (bench, latencyMs, items) => {
	const token = await longTokenFor(bench.sim.url, ACCOUNT);
	await sleep(PERIOD_MS + 100);
	await bench.sim.resetStats();
	const httpRequest = new HttpRequest();
	const node: INode = {
		id: 'http-request',
		name: 'HTTP Request',
		type: 'n8n-nodes-base.httpRequest',
		typeVersion: httpRequest.currentVersion,
		position: [0, 0],
		// Without it the first 429 stops the run; with it, each failed item is counted as lost.
		onError: 'continueRegularOutput',
		parameters: {
			method: 'GET',
			url: bench.sim.url + DATA,
			authentication: 'none',
			sendQuery: true,
			specifyQuery: 'keypair',
			queryParameters: { parameters: [{ name: 'email', value: '={{ $json.email }}' }] },
			sendHeaders: true,
			specifyHeaders: 'keypair',
			headerParameters: { parameters: [{ name: 'Authorization', value: `Bearer ${token}` }] },
			options: { batching: { batch: { batchSize: 200, batchInterval: 1_000 } } },
		},
	};
	const input = emails(items, 'lookup');
	const cpu = process.cpuUsage();
	const run = await runWorkflow({
		nodes: [node],
		input,
		store: bench.store,
		nodeTypes: new NodeTypes({ 'n8n-nodes-base.httpRequest': httpRequest }),
	});
	const used = cpuMicros(cpu);
	const scenario = `HTTP Request ${httpRequest.currentVersion}, batching 200 / 1,000 ms`;
	return { scenario, latencyMs, items, wallMs: executionTime(run, 'HTTP Request'), cpuUs: used, lost: lostIn(run, 'HTTP Request', items), ours: false };
};

/** One measured run of a scenario, on a simulator of its own. */
async function measure(scenario: Scenario, latencyMs: number, run: number): Promise<Row> {
	const bench = await setUp(latencyMs);
	try {
		return await row(bench, run, await scenario(bench, latencyMs, ITEMS));
	} finally {
		await bench.sim.stop();
	}
}

/**
 * Runs each scenario once on a few hundred items, unmeasured: V8 compiles the engine's hot
 * paths in the first runs of a process, which a long-running n8n has long done.
 */
async function warmEngine(scenarios: Scenario[]): Promise<void> {
	for (const scenario of scenarios) {
		const bench = await setUp(0);
		try {
			await scenario(bench, 0, 2 * LIMIT);
		} finally {
			await bench.sim.stop();
		}
	}
}

interface OwnCpu {
	pureMicrosPerItem: number;
	pureItems: number;
	nodeMicrosPerItem: number;
	nodeItems: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * The node's own CPU per item with the network taken out, two ways:
 * - pure: what the node does per item around the call, on 100,000 items of which 20,000 are
 *   distinct: normalize the identifier (toWireIdentifier), deduplicate (the Map keyed as the
 *   lookup operation keys it), map the answer back onto each item (the output item with its
 *   pairing). Median CPU of 5 rounds.
 * - whole node: Factori.execute itself (router, lookup operation, normalization, client,
 *   pacer, retry decision, answer parsing, error policy) on 5,000 distinct items, with a
 *   stand-in for n8n's execute functions: parameters read straight from the item, and an
 *   HTTP helper that answers at once with a stored record, so n8n-core's expression engine,
 *   its HTTP stack and the simulator are all out. Process CPU over the run.
 */
async function ownCpu(): Promise<OwnCpu> {
	const pureItems = 100_000;
	const raw = Array.from({ length: pureItems }, (_, index) => `  Person.${index % 20_000}@Example.COM `);
	const record = { id: 'fsim_1', first_name: 'Jordan', city: 'Chicago' };
	const rounds: number[] = [];
	for (let round = 0; round < 5; round++) {
		const cpu = process.cpuUsage();
		const lookups = new Map<string, { matched: boolean; identifierType: string; identifier: string; consumer: object }>();
		const values = raw.map((value) => toWireIdentifier('email', value, 'raw', 'none'));
		for (const value of values) {
			const key = `email\u0000${value}`;
			if (!lookups.has(key)) lookups.set(key, { matched: true, identifierType: 'email', identifier: value, consumer: record });
		}
		const output = values.map((value, index) => ({
			json: { ...lookups.get(`email\u0000${value}`) },
			pairedItem: { item: index },
		}));
		rounds.push(cpuMicros(cpu) / pureItems);
		if (output.length !== pureItems) throw new Error('lost items in the pure round');
	}

	const nodeItems = 5_000;
	const items = emails(nodeItems, 'own-cpu');
	const answer = { statusCode: 200, headers: {}, body: { status: 'success', data: record } };
	const parameters: Record<string, unknown> = { resource: 'consumer', operation: 'lookup', identifierType: 'email', identifierFormat: 'raw', options: {} };
	const node = lookupNode();
	const context = {
		getInputData: () => items,
		getNodeParameter: (name: string, itemIndex: number, fallback?: unknown) =>
			name === 'identifier' ? items[itemIndex].json.email : (parameters[name] ?? fallback),
		continueOnFail: () => true,
		getNode: () => node,
		getExecutionId: () => 'own-cpu',
		getExecutionCancelSignal: () => undefined,
		getCredentials: async () => ({
			username: 'own-cpu',
			password: 'unused',
			baseUrl: 'http://127.0.0.1:9/api/v1.0',
			// High enough that the pacer never waits: its bookkeeping is measured, not its pace.
			rateLimit: 1_000_000_000,
			rateLimitPeriod: 'second',
			longToken: 'stored',
		}),
		helpers: { httpRequestWithAuthentication: async () => answer },
	} as unknown as IExecuteFunctions;
	const cpu = process.cpuUsage();
	const [output] = await new Factori().execute.call(context);
	const nodeMicros = cpuMicros(cpu);
	if (output.length !== nodeItems || output.some((item) => item.json.matched !== true)) throw new Error('the stubbed run lost items');
	return { pureMicrosPerItem: median(rounds), pureItems, nodeMicrosPerItem: nodeMicros / nodeItems, nodeItems };
}

function versionOf(name: string): string {
	const manifest = readFileSync(join(__dirname, '..', 'node_modules', name, 'package.json'), 'utf8');
	return (JSON.parse(manifest) as { version: string }).version;
}

function machine(): string {
	let model = cpus()[0]?.model ?? 'unknown';
	try {
		const lscpu = execFileSync('lscpu', { encoding: 'utf8' });
		model = /Model name:\s*(.+)/.exec(lscpu)?.[1]?.trim() ?? model;
	} catch {
		// lscpu is optional; os.cpus() names the model too.
	}
	return `${availableParallelism()} CPUs (nproc), ${model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`;
}

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const grouped = (value: number) => Math.round(value).toLocaleString('en-US');

function table(rows: Row[]): string {
	const header = [
		'Scenario',
		'Run',
		'Latency',
		'Items',
		'Sustained / limit',
		`Gap, calls ${LIMIT} apart: mean / shortest`,
		'Overall / limit',
		'429s',
		'Most in one window',
		'Items lost',
		'Wall time',
		'Process CPU / item',
	];
	const lines = rows.map((r) =>
		[
			r.scenario,
			`${r.run} of ${RUNS}`,
			`${r.latencyMs} ms`,
			grouped(r.items),
			fixed(r.sustained, 3),
			`${fixed(r.gaps.mean, 1)} / ${fixed(r.gaps.shortest, 1)} ms`,
			fixed(r.overall, 3),
			String(r.rateLimited),
			`${r.busiestWindow} (limit ${LIMIT})`,
			String(r.lost),
			`${(r.wallMs / 1000).toFixed(2)} s`,
			`${grouped(r.cpuPerItemUs)} µs`,
		].join(' | '),
	);
	return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...lines.map((line) => `| ${line} |`)].join('\n');
}

const isSingleFactori = (r: Row) => r.ours && r.scenario === 'Factori node';
const latencies = (rows: Row[]) => [...new Set(rows.map((r) => r.latencyMs))];

function verdicts(rows: Row[], own: OwnCpu): string[] {
	const ours = rows.filter((r) => r.ours);
	const check = (ok: boolean, text: string) => `- ${ok ? 'met' : 'MISSED'}: ${text}`;
	const single = rows.filter(isSingleFactori);
	return [
		...latencies(single).map((latencyMs) => {
			const runs = single.filter((r) => r.latencyMs === latencyMs);
			const met = runs.filter((r) => r.sustained >= 0.97).length;
			const shares = runs.map((r) => fixed(r.sustained, 3)).join(', ');
			return check(met === runs.length, `at least 0.97 x the limit at ${latencyMs} ms, in ${met} of ${runs.length} runs: ${shares}`);
		}),
		check(ours.every((r) => r.rateLimited === 0), `zero 429s, in every run: ${ours.map((r) => r.rateLimited).join(', ')}`),
		check(ours.every((r) => r.lost === 0), `zero items lost, in every run: ${ours.map((r) => r.lost).join(', ')}`),
		check(ours.every((r) => r.busiestWindow <= LIMIT), `never more than ${LIMIT} calls in one window: at most ${Math.max(...ours.map((r) => r.busiestWindow))}`),
		check(own.pureMicrosPerItem <= 20, `at most 20 µs of the node's own CPU per item: ${fixed(own.pureMicrosPerItem, 2)} µs (normalize, dedupe, map back)`),
	];
}

/** What the gaps say about the throughput of the Factori node's single runs, from the measurements. */
function throughputNotes(rows: Row[]): string[] {
	const margin = INITIAL_ARRIVAL_MARGIN_MS;
	const single = rows.filter(isSingleFactori);
	const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
	const shortest = Math.min(...rows.filter((r) => r.ours).map((r) => r.gaps.shortest));
	return [
		'## Where the period goes',
		'',
		`The pacer holds each slot until min(answer + period, start + period + margin + lateness), where the margin is ${margin} ms until a 429 widens it (none did here) and lateness is how much longer the answer took than the fastest answer of the last two periods (nodes/Factori/transport/pacer.ts). On top of those comes the engine's own time: a request leaves only once the engine has prepared it, and the next one of a run is granted only once the one before it has reached n8n's last step before sending and had a turn of the event loop (nodes/Factori/transport/client.ts), which on a busy loop comes a few milliseconds after a slot frees. Over the runs above, the mean gap between calls ${LIMIT} apart was one period plus:`,
		'',
		...latencies(single).map((latencyMs) => {
			const runs = single.filter((r) => r.latencyMs === latencyMs);
			const over = mean(runs.map((r) => r.gaps.mean)) - PERIOD_MS;
			const rule =
				latencyMs < margin
					? `answers within the margin: each slot frees a period after its answer, so the ${latencyMs} ms of latency`
					: `answers slower than the margin: each slot frees a period plus the margin and its lateness after its start, so the ${margin} ms margin`;
			return `- ${latencyMs} ms latency: ${fixed(over, 1)} ms; ${rule} and ${fixed(over - Math.min(latencyMs, margin), 1)} ms of the engine's own delays. Share: ${fixed(PERIOD_MS / (PERIOD_MS + over), 3)}.`;
		}),
		'',
		`The shortest gap in any run of the Factori node was ${fixed(shortest, 1)} ms, ${fixed(shortest - PERIOD_MS, 1)} ms over the period: of the ${margin} ms margin, these arrivals used ${fixed(Math.max(0, PERIOD_MS + margin - shortest), 1)} ms beyond what the answer times showed. The margin stands for what a real network adds; how it was chosen and how it grows: INITIAL_ARRIVAL_MARGIN_MS in nodes/Factori/transport/pacer.ts.`,
		'',
	];
}

async function main(): Promise<void> {
	const scenarios: Array<{ scenario: Scenario; name: string }> = [
		{ scenario: factoriRun, name: 'Factori node' },
		{ scenario: httpRequestRun, name: 'HTTP Request node' },
		{ scenario: twoExecutions, name: 'Two executions' },
	];
	console.log('Warming the engine up ...');
	await warmEngine(scenarios.map(({ scenario }) => scenario));
	const rows: Row[] = [];
	for (let run = 1; run <= RUNS; run++) {
		for (const { scenario, name } of scenarios) {
			for (const latencyMs of [30, 300]) {
				console.log(`${name}, ${latencyMs} ms, run ${run} of ${RUNS} ...`);
				rows.push(await measure(scenario, latencyMs, run));
			}
		}
	}
	// The table groups each scenario's runs; they ran in turns.
	const scenarioOrder = [...new Set(rows.map((r) => r.scenario))];
	const place = (r: Row) => scenarioOrder.indexOf(r.scenario);
	rows.sort((a, b) => place(a) - place(b) || a.latencyMs - b.latencyMs || a.run - b.run);
	console.log('Own CPU per item ...');
	const own = await ownCpu();

	const versions = ['n8n-core', 'n8n-workflow', 'n8n-nodes-base'].map((name) => `${name} ${versionOf(name)}`).join(', ');
	const report = [
		'# Throughput benchmark',
		'',
		`Measured ${new Date().toISOString().slice(0, 10)} with \`${COMMAND}\` (bench/throughput.ts).`,
		'',
		`- Machine: ${machine()}`,
		`- Versions: Node ${process.version}, ${versions}`,
		`- Simulator: ${LIMIT} calls per ${PERIOD_MS} ms sliding window per account, ${ON_ENGINE_THREAD ? "on the engine's own thread (its arrival times wait for the engine too)" : "on a thread of its own in the engine's process"} (bench/simulator-thread.ts)`,
		`- Each scenario ran ${RUNS} times, in turns, after one unmeasured run of each on ${2 * LIMIT} items to warm the engine up`,
		'',
		table(rows),
		'',
		"The node's own CPU per item, network taken out:",
		'',
		`- normalize + dedupe + map back, ${grouped(own.pureItems)} items (20,000 distinct): ${fixed(own.pureMicrosPerItem, 2)} µs per item`,
		`- the whole node (Factori.execute with parameters read from the item and an HTTP helper that answers at once), ${grouped(own.nodeItems)} distinct items: ${fixed(own.nodeMicrosPerItem, 1)} µs per item`,
		'',
		'Targets for the Factori node:',
		'',
		...verdicts(rows, own),
		'',
		...throughputNotes(rows),
		'## How to read it',
		'',
		`- Sustained / limit: under a sliding-window limit of ${LIMIT} per period, the (k + ${LIMIT})-th accepted call may arrive no sooner than one period after the k-th. A client that spends the budget fully makes that gap exactly one period, whether it sends in bursts or evenly; this column is the period divided by the mean gap over every pair of accepted calls ${LIMIT} apart (server arrival times). It does not count the free first period. The next column gives that gap: its mean, and its shortest, which must not fall below the period (${PERIOD_MS} ms) for the limit to hold; how far the shortest stays above it is margin the pacer did not need.`,
		"- Overall / limit: items per second of the node's execution time (from n8n's run data; for two executions, from the start of both to the end of the last) divided by the limit. It counts the first period's free budget, so a client that bursts can exceed 1.",
		'- Most in one window: the simulator\'s largest count of data calls (accepted or not) arriving in any sliding window of one period.',
		'- Items lost: items that came out without a result (an error item, or none).',
		"- Process CPU / item: user + system CPU of the whole process during the run (n8n-core, the node, the HTTP client and the simulator's thread) divided by the items.",
		'- The Factori runs start with the token stored by a one-item run a period earlier, as every run after the first does; the HTTP Request runs use a long token fetched the same way beforehand.',
		'',
	].join('\n');
	writeFileSync(join(__dirname, RESULTS_FILE), report);
	console.log(`\n${report}`);
}

main().catch((error: unknown) => {
	console.error(error);
	process.exitCode = 1;
});
