import { NodeApiError, NodeOperationError, type INode, type JsonObject } from 'n8n-workflow';

export interface ErrorDetails {
	itemIndex?: number;
	httpCode?: string;
	description?: string;
}

/*
 * n8n's node errors swap any message that contains a network error code for a generic
 * sentence, matching case-insensitively, so a user name such as "keeperman" (EPERM) or an
 * identifier in the message could replace the whole of it. These keep the message as given.
 */

export function apiError(node: INode, message: string, details: ErrorDetails = {}): NodeApiError {
	const error = new NodeApiError(node, { message } as JsonObject, {
		message,
		description: details.description,
		httpCode: details.httpCode,
		itemIndex: details.itemIndex,
	});
	error.message = message;
	return error;
}

export function operationError(node: INode, message: string, details: ErrorDetails = {}): NodeOperationError {
	const error = new NodeOperationError(node, message, {
		description: details.description,
		itemIndex: details.itemIndex,
	});
	error.message = message;
	return error;
}
