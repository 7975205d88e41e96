import type { IDataObject, NodeApiError, NodeOperationError } from 'n8n-workflow';

/** What an operation says of one input item: its result, or why it failed. */
export type ItemOutcome = { json: IDataObject } | { error: NodeApiError | NodeOperationError };

export interface OperationRun {
	/** True when the node's On Error setting lets the other items go on after a failure. */
	continueOnFail: boolean;
}
