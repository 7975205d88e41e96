import type { IExecuteFunctions, INodeExecutionData, INodeProperties, NodeApiError } from 'n8n-workflow';

import { openSession } from '../../transport';
import type { Usage } from '../../transport/contract';
import type { ItemOutcome } from '../outcome';

export const properties: INodeProperties[] = [];

/** Share of the contract's pings used so far, 0 to 100, to two decimals. */
export function percentUsed(usage: Usage): number {
	if (usage.max_limit <= 0) return 0;
	const used = usage.max_limit - usage.usage_quota;
	return Math.min(100, Math.max(0, Math.round((used / usage.max_limit) * 10_000) / 100));
}

/** One call, one output item (paired to the first input item). */
export async function execute(this: IExecuteFunctions, _items: INodeExecutionData[]): Promise<ItemOutcome[]> {
	const session = await openSession(this);
	let usage: Usage;
	try {
		usage = await session.client.usage();
	} catch (error) {
		return [{ error: error as NodeApiError }];
	}
	return [{ json: { ...usage, percent_used: percentUsed(usage) } }];
}
