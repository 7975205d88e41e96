import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import * as lookup from './consumer/lookup.operation';
import type { ItemOutcome, OperationRun } from './outcome';
import * as getUsage from './usage/get.operation';

type Operation = (this: IExecuteFunctions, items: INodeExecutionData[], run: OperationRun) => Promise<ItemOutcome[]>;

const operations: Record<string, Record<string, Operation>> = {
	consumer: { lookup: lookup.execute },
	usage: { get: getUsage.execute },
};

/**
 * Runs the chosen operation and owns the one error policy of the node: every outcome
 * becomes exactly one output item, paired to its input item, in input order. A failed item
 * follows the node's On Error setting; n8n routes items that carry `error` to the error
 * output when that setting asks for it.
 */
export async function route(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const resource = this.getNodeParameter('resource', 0) as string;
	const operation = this.getNodeParameter('operation', 0) as string;
	const run = operations[resource]?.[operation];
	if (!run) {
		throw new NodeOperationError(this.getNode(), `The operation '${operation}' of '${resource}' is not supported`);
	}

	const continueOnFail = this.continueOnFail();
	const outcomes = await run.call(this, items, { continueOnFail });
	return [
		outcomes.map((outcome, itemIndex): INodeExecutionData => {
			const pairedItem = { item: itemIndex };
			if ('json' in outcome) return { json: outcome.json, pairedItem };
			if (!continueOnFail) throw outcome.error;
			return { json: { error: outcome.error.message }, error: outcome.error, pairedItem };
		}),
	];
}
