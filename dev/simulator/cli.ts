/**
 * Starts the Factori API simulator from the command line:
 *   npm run simulator -- [--port 8787] [--rate-limit 200] [--period second|minute] [--latency 0]
 * The port also comes from FACTORI_SIM_PORT. Ctrl-C stops it.
 */
import {
	DEFAULT_RATE_LIMIT,
	DEFAULT_RATE_LIMIT_PERIOD,
	PERIOD_MS,
	type RateLimitPeriod,
} from '../../nodes/Factori/transport/contract';
import { DEMO_ACCOUNT, READY_ACCOUNT } from './accounts';
import { startSimulator, type SimulatorOptions } from './server';

const DEFAULT_PORT = 8787;
const USAGE = 'usage: simulator [--port N] [--rate-limit N] [--period second|minute] [--latency MS]';

function fail(message: string): never {
	console.error(`${message}\n${USAGE}`);
	process.exit(2);
}

/** `--name value` and `--name=value` flags. */
function parseFlags(args: string[]): Map<string, string> {
	const flags = new Map<string, string>();
	for (let index = 0; index < args.length; index++) {
		const arg = args[index];
		if (arg === '--help' || arg === '-h') {
			console.log(USAGE);
			process.exit(0);
		}
		const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
		if (!match) fail(`unexpected argument "${arg}"`);
		const value = match[2] ?? args[++index];
		if (value === undefined) fail(`--${match[1]} needs a value`);
		flags.set(match[1], value);
	}
	return flags;
}

function wholeNumber(text: string | undefined, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
	if (text === undefined) return undefined;
	const value = Number(text);
	if (!/^\d+$/.test(text.trim()) || value < min || value > max) fail(`${name} must be a whole number from ${min} to ${max}`);
	return value;
}

function options(): SimulatorOptions {
	const flags = parseFlags(process.argv.slice(2));
	for (const name of flags.keys()) {
		if (!['port', 'rate-limit', 'period', 'latency'].includes(name)) fail(`unknown option --${name}`);
	}
	const period = flags.get('period');
	if (period !== undefined && !(period in PERIOD_MS)) fail('--period must be second or minute');
	return {
		port: wholeNumber(flags.get('port') ?? process.env.FACTORI_SIM_PORT, 'the port', 0, 65_535) ?? DEFAULT_PORT,
		rateLimit: wholeNumber(flags.get('rate-limit'), '--rate-limit', 1),
		period: period as RateLimitPeriod | undefined,
		latencyMs: wholeNumber(flags.get('latency'), '--latency', 0),
	};
}

async function main(): Promise<void> {
	const settings = options();
	const simulator = await startSimulator(settings);
	const perPeriod = `${settings.rateLimit ?? DEFAULT_RATE_LIMIT} per ${settings.period ?? DEFAULT_RATE_LIMIT_PERIOD}`;
	console.log(`Factori API simulator listening at ${simulator.url}`);
	console.log(`  rate limit ${perPeriod}, latency ${settings.latencyMs ?? 0} ms`);
	console.log(
		`  demo account:  username "${DEMO_ACCOUNT.username}", temporary password "${DEMO_ACCOUNT.temporaryPassword}"` +
			' (reset it first: the new password is yours to pick, 8+ characters)',
	);
	console.log(`  ready account: username "${READY_ACCOUNT.username}", password "${READY_ACCOUNT.password}"`);
	console.log('Press Ctrl-C to stop.');

	let stopping = false;
	const stop = () => {
		if (stopping) return;
		stopping = true;
		void simulator.stop().then(() => {
			console.log('simulator stopped');
			process.exit(0);
		});
	};
	process.on('SIGINT', stop);
	process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
	console.error(`simulator failed to start: ${error instanceof Error ? error.message : String(error)}`);
	process.exit(1);
});
