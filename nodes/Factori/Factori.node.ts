import { NodeConnectionTypes, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription } from 'n8n-workflow';

import { properties } from './actions/node.description';
import { route } from './actions/router';

export class Factori implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Factori',
		name: 'factori',
		icon: { light: 'file:factori.svg', dark: 'file:factori.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"] + ": " + $parameter["resource"]}}',
		description:
			'Enrich contacts with Factori consumer data: look up a consumer by email, phone or mobile advertising ID, or check the account usage',
		defaults: { name: 'Factori' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'factoriApi', required: true }],
		properties,
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await route.call(this);
	}
}
