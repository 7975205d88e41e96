import type { INodeProperties } from 'n8n-workflow';

import * as lookup from './consumer/lookup.operation';
import * as getUsage from './usage/get.operation';

export const properties: INodeProperties[] = [
	{
		displayName: 'Resource',
		name: 'resource',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Consumer', value: 'consumer' },
			{ name: 'Usage', value: 'usage' },
		],
		default: 'consumer',
	},
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['consumer'] } },
		options: [
			{
				name: 'Lookup',
				value: 'lookup',
				description: 'Find the consumer record for an email, phone or mobile advertising ID',
				action: 'Look up a consumer',
			},
		],
		default: 'lookup',
	},
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['usage'] } },
		options: [
			{
				name: 'Get',
				value: 'get',
				description: "Get the account's quota, hits and failed requests",
				action: 'Get usage',
			},
		],
		default: 'get',
	},
	...lookup.properties,
	...getUsage.properties,
];
