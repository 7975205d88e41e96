/**
 * Executions as the editor reads them: GET /rest/executions/:id, whose `data` is n8n's
 * run data serialized with the `flatted` format (a JSON array; the first entry is the root,
 * and inside objects and arrays every string is the index of the entry that holds it).
 */
import type { N8nRest } from '../../../dev/n8n-instance';

export interface ItemData {
	json: Record<string, unknown>;
	pairedItem?: { item: number } | Array<{ item: number }>;
}

export interface NodeRun {
	data?: { main: Array<ItemData[] | null> };
	error?: { message: string };
}

export interface Execution {
	id: string;
	status: string;
	finished: boolean;
	mode: string;
	runData: Record<string, NodeRun[]>;
	error?: { message: string };
	/** The answer of GET /rest/executions/:id as sent. */
	raw: string;
}

export function parseFlatted(text: string): unknown {
	const entries = JSON.parse(text) as unknown[];
	const revived = new Map<number, unknown>();
	const revive = (index: number): unknown => {
		if (revived.has(index)) return revived.get(index);
		const entry = entries[index];
		if (typeof entry !== 'object' || entry === null) {
			revived.set(index, entry);
			return entry;
		}
		const copy: Record<string, unknown> | unknown[] = Array.isArray(entry) ? [] : {};
		revived.set(index, copy);
		for (const [key, value] of Object.entries(entry)) {
			(copy as Record<string, unknown>)[key] = typeof value === 'string' ? revive(Number(value)) : value;
		}
		return copy;
	};
	return revive(0);
}

export async function execution(rest: N8nRest, id: string): Promise<Execution> {
	const raw = await rest.text(`/executions/${id}`);
	const { data } = JSON.parse(raw) as { data: { id: string; status: string; finished: boolean; mode: string; data: string } };
	const runData = parseFlatted(data.data) as { resultData: { runData: Record<string, NodeRun[]>; error?: { message: string } } };
	return {
		id: data.id,
		status: data.status,
		finished: data.finished,
		mode: data.mode,
		runData: runData.resultData.runData,
		error: runData.resultData.error,
		raw,
	};
}

/** Ids of the workflow's executions, newest first. */
export async function executionIds(rest: N8nRest, workflowId: string): Promise<string[]> {
	const filter = encodeURIComponent(JSON.stringify({ workflowId }));
	const page = await rest.request<{ results: Array<{ id: string }> }>('GET', `/executions?filter=${filter}&limit=100`);
	return page.results.map((result) => result.id);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const DONE = new Set(['success', 'error', 'crashed', 'canceled']);

/** Waits until an execution has ended, then returns it. */
export async function finishedExecution(rest: N8nRest, id: string, timeoutMs = 120_000): Promise<Execution> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const current = await execution(rest, id).catch(() => undefined);
		if (current && DONE.has(current.status)) return current;
		if (Date.now() > deadline) throw new Error(`execution ${id} did not finish within ${timeoutMs / 1000} s`);
		await sleep(250);
	}
}

/** Runs a saved workflow from a trigger, as "Execute workflow" in the editor does. */
export async function runManually(rest: N8nRest, workflowId: string, triggerName: string): Promise<Execution> {
	const { executionId } = await rest.request<{ executionId: string }>('POST', `/workflows/${workflowId}/run`, {
		triggerToStartFrom: { name: triggerName },
	});
	return await finishedExecution(rest, executionId);
}

/** The items a node sent on one output in its (first) run. */
export function outputOf(run: Execution, nodeName: string, outputIndex = 0): ItemData[] {
	const nodeRuns = run.runData[nodeName];
	if (!nodeRuns) throw new Error(`node "${nodeName}" did not run; ran: ${Object.keys(run.runData).join(', ')}`);
	return nodeRuns[0].data?.main[outputIndex] ?? [];
}

export const pairedIndex = (item: ItemData): number | undefined =>
	Array.isArray(item.pairedItem) ? item.pairedItem[0]?.item : item.pairedItem?.item;
