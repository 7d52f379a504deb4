// Lambda style: an HTTP route hands the handler an API Gateway v2 event; the returned
// { statusCode, headers, body } becomes the response.
interface HttpEvent {
  pathParameters?: Record<string, string>;
  queryStringParameters?: Record<string, string>;
}

export const handler = async (event: HttpEvent, context: { awsRequestId: string }) => {
  const name = event.pathParameters?.name ?? 'stranger';
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message: `Hi ${name}`, requestId: context.awsRequestId }),
  };
};
