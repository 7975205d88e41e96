/**
 * Throughput benchmark: `npm run bench`. Writes bench/RESULTS.md and prints the same table.
 *
 * Everything runs in this one process, the way the tests run: n8n-core's WorkflowExecute with
 * the in-process harness, and the local Factori simulator over HTTP on 127.0.0.1 at its
 * default limit of 200 calls per second, so both sides share one engine and one CPU budget.
 *
 * 1. The Factori node: 2,000 distinct lookups at 30 ms and at 300 ms simulated latency.
 * 2. The same job built without this package: n8n's HTTP Request node with Batching (200 items
 *    per batch, 1,000 ms interval), a long token fetched beforehand and sent as a header.
 * 3. Two executions of the Factori node at once on one account, 1,000 lookups each.
 * 4. The node's own CPU per item, network taken out (see ownCpu below).
 *
 * The Factori runs start with a stored token, as every run after a credential's first does:
 * a one-item run logs in first, then the account rests a period before the measured run.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { IExecuteFunctions, INode, INodeExecutionData, IRun } from 'n8n-workflow';
import { HttpRequest } from 'n8n-nodes-base/dist/nodes/HttpRequest/HttpRequest.node';

import { startSimulator, type Simulator } from '../dev/simulator/server';
import { Factori } from '../nodes/Factori/Factori.node';
import { toWireIdentifier } from '../nodes/Factori/helpers/normalize';
import { PATHS, STATUS, longTokenBody, shortTokenBody, tokenIn } from '../nodes/Factori/transport/contract';
import { ARRIVAL_JITTER_MARGIN_MS } from '../nodes/Factori/transport/pacer';
import { CredentialStore, NodeTypes, factoriNode, outputOf, runWorkflow } from '../test/support/n8n-harness';

const LIMIT = 200;
const PERIOD_MS = 1_000;
const ITEMS = 2_000;
const DATA = PATHS.consumerData;
const ACCOUNT = { username: 'bench', password: 'bench-password-1' };
const COMMAND = 'npm run bench';

interface Row {
	scenario: string;
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
	/** Process CPU (node, n8n-core and the simulator together) per item, in µs. */
	cpuPerItemUs: number;
	ours: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const emails = (count: number, label: string): INodeExecutionData[] =>
	Array.from({ length: count }, (_, index) => ({ json: { email: `${label}.${index}@example.com` } }));

interface Bench {
	sim: Simulator;
	store: CredentialStore;
	/** Server time (ms) of each data call the simulator accepted (not 429), in arrival order. */
	accepted: number[];
}

async function setUp(latencyMs: number): Promise<Bench> {
	const sim = await startSimulator({ accounts: [ACCOUNT], rateLimit: LIMIT, periodMs: PERIOD_MS, latencyMs });
	const accepted: number[] = [];
	// The simulator answers (or refuses) a data call in the turn it arrives in.
	const record = sim.stats.recordCall.bind(sim.stats);
	sim.stats.recordCall = (path: string, status: number) => {
		if (path === DATA && status !== STATUS.rateLimited) accepted.push(performance.now());
		record(path, status);
	};
	const store = new CredentialStore(() => undefined);
	store.put('cred-1', { username: ACCOUNT.username, password: ACCOUNT.password, baseUrl: sim.url, rateLimit: LIMIT, rateLimitPeriod: 'second' });
	return { sim, store, accepted };
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
	bench.sim.resetStats();
	bench.accepted.length = 0;
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

function row(
	bench: Bench,
	scenario: string,
	latencyMs: number,
	items: number,
	wallMs: number,
	cpuMicros: number,
	lost: number,
	ours: boolean,
): Row {
	const gaps = limitGaps(bench.accepted);
	return {
		scenario,
		latencyMs,
		items,
		sustained: PERIOD_MS / gaps.mean,
		gaps,
		overall: items / (wallMs / 1000) / LIMIT,
		rateLimited: bench.sim.stats.calls(DATA, STATUS.rateLimited),
		busiestWindow: bench.sim.stats.maxArrivalsInWindow,
		lost,
		wallMs,
		cpuPerItemUs: cpuMicros / items,
		ours,
	};
}

const cpuMicros = (since: NodeJS.CpuUsage) => {
	const used = process.cpuUsage(since);
	return used.user + used.system;
};

async function factoriRun(latencyMs: number): Promise<Row> {
	const bench = await setUp(latencyMs);
	try {
		await warmUp(bench);
		const input = emails(ITEMS, 'lookup');
		const cpu = process.cpuUsage();
		const run = await runWorkflow({ nodes: [lookupNode()], input, store: bench.store });
		const used = cpuMicros(cpu);
		return row(bench, 'Factori node', latencyMs, ITEMS, executionTime(run, 'Factori'), used, lostIn(run, 'Factori', ITEMS), true);
	} finally {
		await bench.sim.stop();
	}
}

async function twoExecutions(latencyMs: number): Promise<Row> {
	const bench = await setUp(latencyMs);
	try {
		await warmUp(bench);
		const inputs = [emails(ITEMS / 2, 'first'), emails(ITEMS / 2, 'second')];
		const cpu = process.cpuUsage();
		const started = performance.now();
		const runs = await Promise.all(inputs.map((input) => runWorkflow({ nodes: [lookupNode()], input, store: bench.store })));
		const wallMs = performance.now() - started;
		const used = cpuMicros(cpu);
		const lost = runs.reduce((sum, run, index) => sum + lostIn(run, 'Factori', inputs[index].length), 0);
		return row(bench, 'Factori node, 2 executions x 1,000 at once', latencyMs, ITEMS, wallMs, used, lost, true);
	} finally {
		await bench.sim.stop();
	}
}

async function longToken(sim: Simulator): Promise<string> {
	const post = async (path: string, body: object) => {
		const response = await fetch(sim.url + path, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify(body),
		});
		return (await response.json()) as unknown;
	};
	const short = tokenIn(await post(PATHS.createShortToken, shortTokenBody(ACCOUNT.username, ACCOUNT.password)));
	if (!short) throw new Error('the simulator gave no short token');
	const long = tokenIn(await post(PATHS.createLongToken, longTokenBody(short, 'long')));
	if (!long) throw new Error('the simulator gave no long token');
	return long;
}

/** The same job as a user would build it without this package. */
async function httpRequestRun(latencyMs: number): Promise<Row> {
	const bench = await setUp(latencyMs);
	try {
		const token = await longToken(bench.sim);
		await sleep(PERIOD_MS + 100);
		bench.sim.resetStats();
		bench.accepted.length = 0;
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
		const input = emails(ITEMS, 'lookup');
		const cpu = process.cpuUsage();
		const run = await runWorkflow({
			nodes: [node],
			input,
			store: bench.store,
			nodeTypes: new NodeTypes({ 'n8n-nodes-base.httpRequest': httpRequest }),
		});
		const used = cpuMicros(cpu);
		const scenario = `HTTP Request ${httpRequest.currentVersion}, batching 200 / 1,000 ms`;
		return row(bench, scenario, latencyMs, ITEMS, executionTime(run, 'HTTP Request'), used, lostIn(run, 'HTTP Request', ITEMS), false);
	} finally {
		await bench.sim.stop();
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

function verdicts(rows: Row[], own: OwnCpu): string[] {
	const ours = rows.filter((r) => r.ours);
	const check = (ok: boolean, text: string) => `- ${ok ? 'met' : 'MISSED'}: ${text}`;
	return [
		...ours
			.filter((r) => !r.scenario.includes('2 executions'))
			.map((r) => check(r.sustained >= 0.97, `at least 0.97 x the limit at ${r.latencyMs} ms: ${fixed(r.sustained, 3)}`)),
		check(ours.every((r) => r.rateLimited === 0), `zero 429s: ${ours.map((r) => r.rateLimited).join(', ')}`),
		check(ours.every((r) => r.lost === 0), `zero items lost: ${ours.map((r) => r.lost).join(', ')}`),
		check(ours.every((r) => r.busiestWindow <= LIMIT), `never more than ${LIMIT} calls in one window: ${ours.map((r) => r.busiestWindow).join(', ')}`),
		check(own.pureMicrosPerItem <= 20, `at most 20 µs of the node's own CPU per item: ${fixed(own.pureMicrosPerItem, 2)} µs (normalize, dedupe, map back)`),
	];
}

/** What the gaps say about the throughput of the Factori node's single runs, from the measurements. */
function throughputNotes(rows: Row[]): string[] {
	const single = rows.filter((r) => r.ours && !r.scenario.includes('2 executions'));
	const ceiling = PERIOD_MS / (PERIOD_MS + ARRIVAL_JITTER_MARGIN_MS);
	const fast = single.find((r) => r.latencyMs < ARRIVAL_JITTER_MARGIN_MS);
	const work = fast ? fast.gaps.mean - PERIOD_MS - fast.latencyMs : undefined;
	return [
		'## Where the period goes',
		'',
		`The pacer holds each slot until min(answer + period, start + period + ${ARRIVAL_JITTER_MARGIN_MS} ms + lateness), where lateness is how much longer the answer took than the fastest answer of the last period (nodes/Factori/transport/pacer.ts). The mean gap between calls ${LIMIT} apart is therefore about one period plus:`,
		'',
		...single.map((r) =>
			r.latencyMs < ARRIVAL_JITTER_MARGIN_MS
				? `- ${r.latencyMs} ms latency (answers come back within the ${ARRIVAL_JITTER_MARGIN_MS} ms margin, so each slot frees a period after its answer): measured ${fixed(r.gaps.mean, 1)} ms, i.e. ${fixed(r.gaps.mean - PERIOD_MS, 1)} ms over the period: the ${r.latencyMs} ms of latency and ${fixed(r.gaps.mean - PERIOD_MS - r.latencyMs, 1)} ms of n8n and simulator work per answer. Share: ${fixed(r.sustained, 3)}.`
				: `- ${r.latencyMs} ms latency (slow answers: each slot frees a period plus the margin after its start): measured ${fixed(r.gaps.mean, 1)} ms, i.e. the ${ARRIVAL_JITTER_MARGIN_MS} ms margin and ${fixed(r.gaps.mean - PERIOD_MS - ARRIVAL_JITTER_MARGIN_MS, 1)} ms of measured lateness. Share: ${fixed(r.sustained, 3)}; with this margin the ceiling is ${PERIOD_MS} / ${PERIOD_MS + ARRIVAL_JITTER_MARGIN_MS} = ${fixed(ceiling, 3)}.`,
		),
		'',
		`The shortest gaps (${single.map((r) => `${fixed(r.gaps.shortest, 1)} ms at ${r.latencyMs} ms`).join(', ')}) never fell below the period: in these runs the arrivals did not need the margin beyond what the answer times already showed. 0.97 leaves ${fixed(PERIOD_MS / 0.97 - PERIOD_MS, 1)} ms over the period; less the work per answer measured above${work === undefined ? '' : ` (${fixed(work, 1)} ms)`}, reaching it at both latencies would take a margin of about ${work === undefined ? 'n/a' : fixed(PERIOD_MS / 0.97 - PERIOD_MS - work, 0)} ms. The margin stands for arrival jitter on a real network, which a loopback simulator cannot show, so this benchmark does not change it.`,
		'',
	];
}

async function main(): Promise<void> {
	const rows: Row[] = [];
	for (const latencyMs of [30, 300]) {
		console.log(`Factori node, ${latencyMs} ms ...`);
		rows.push(await factoriRun(latencyMs));
	}
	for (const latencyMs of [30, 300]) {
		console.log(`HTTP Request node, ${latencyMs} ms ...`);
		rows.push(await httpRequestRun(latencyMs));
	}
	for (const latencyMs of [30, 300]) {
		console.log(`Two executions, ${latencyMs} ms ...`);
		rows.push(await twoExecutions(latencyMs));
	}
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
		`- Simulator: ${LIMIT} calls per ${PERIOD_MS} ms sliding window per account, in the same process as n8n-core`,
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
		'- Process CPU / item: user + system CPU of the whole process during the run (n8n-core, the node, the HTTP client and the simulator) divided by the items.',
		'- The Factori runs start with the token stored by a one-item run a period earlier, as every run after the first does; the HTTP Request runs use a long token fetched the same way beforehand.',
		'',
	].join('\n');
	writeFileSync(join(__dirname, 'RESULTS.md'), report);
	console.log(`\n${report}`);
}

main().catch((error: unknown) => {
	console.error(error);
	process.exitCode = 1;
});
